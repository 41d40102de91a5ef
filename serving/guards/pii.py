"""PII response validator: the last check before bytes leave the API.

Even if a curated table grew a forbidden column, or a view copied the wrong
field, a response carrying a PII key at any depth, nested deeper than the
limit, or shaped as a list of per-learner records on a route that may not
return individual rows is replaced by a 403 ``privacy_violation``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FORBIDDEN_KEYS = frozenset(
    {
        "user_id", "learner_id", "email", "username", "name", "first_name", "last_name",
        "full_name", "phone", "phone_number", "address", "street", "city", "zip",
        "postal_code", "ip", "ip_address", "session_id", "session_token", "auth_token",
        "password", "ssn", "date_of_birth", "dob", "birthdate",
    }
)  # fmt: skip
# Keys that make an object an individual's record; a list of them is per-learner data.
INDIVIDUAL_KEYS = frozenset({"learner_id_hash", "learner_pseudonym", "user_hash"})


@dataclass
class PiiScan:
    """What the scan found; empty ``violations`` means the payload may be sent."""

    violations: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """No violation found."""
        return not self.violations


def scan_payload(payload: object, *, max_depth: int, allow_individual_rows: bool) -> PiiScan:
    """Scan a decoded JSON payload for forbidden keys, excess depth and per-learner arrays.

    Args:
        payload: The decoded response body.
        max_depth: Deepest allowed container nesting (the root object is depth 1).
        allow_individual_rows: The route may return lists of per-learner records.

    Returns:
        Every violation, each naming its path (never the value).
    """
    scan = PiiScan()
    _scan(payload, "$", 1, max_depth, allow_individual_rows, scan)
    return scan


def _scan(
    node: object, path: str, depth: int, max_depth: int, allow_individual: bool, scan: PiiScan
) -> None:
    if not isinstance(node, dict | list):
        return
    if depth > max_depth:
        scan.violations.append(f"nesting deeper than {max_depth} at {path}")
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if str(key).lower() in FORBIDDEN_KEYS:
                scan.violations.append(f"forbidden key '{key}' at {path}.{key}")
            _scan(value, f"{path}.{key}", depth + 1, max_depth, allow_individual, scan)
        return
    if not allow_individual and any(
        isinstance(item, dict) and INDIVIDUAL_KEYS & {str(k).lower() for k in item} for item in node
    ):
        scan.violations.append(f"per-learner records in array at {path}")
    for index, item in enumerate(node):
        _scan(item, f"{path}[{index}]", depth + 1, max_depth, allow_individual, scan)
