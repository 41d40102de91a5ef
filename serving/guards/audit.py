"""Append-only audit logs, JSON lines, one file per UTC day.

``access-YYYY-MM-DD.jsonl`` records every request, success or failure;
``exports-YYYY-MM-DD.jsonl`` additionally records every data or audit export
and every grant issued or revoked. A record holds who (a keyed hash of the
token subject, the role), what (route template, action, the query
parameters), from where (client IP), how it ended (status, time, guard
events) — never a learner identifier, never a response payload. The route
*template* is logged, not the path, because a learner route's path is the
learner's pseudonym.

Parameter values are kept only under names that are plain identifiers and
not PII or credential names; any other parameter is listed by name (or as
``(other)``) in ``redacted_parameters``. So no record carries a key the PII
validator rejects, and the root viewer can always read its own log.

Daily files rotate the log by themselves; files older than
``AUDIT_RETENTION_DAYS`` are deleted at start-up and on the first write of
each day.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app

from serving.guards.pii import FORBIDDEN_KEYS, INDIVIDUAL_KEYS
from serving.tokens import Principal, Role

AUDIT_EXTENSION = "analytics_audit"
ACCESS_PREFIX = "access"
EXPORT_PREFIX = "exports"
LEGACY_ACCESS_LOG = "access.jsonl"  # before daily files; still read, never written
DAY_FILE = re.compile(r"^(access|exports)-(\d{4}-\d{2}-\d{2})\.jsonl$")
_MAX_PARAMETERS = 20
_MAX_VALUE_CHARS = 200
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Parameters whose values identify a learner or carry credentials: logged as names only.
_REDACTED_PARAMETERS = FORBIDDEN_KEYS | INDIVIDUAL_KEYS | {"token", "access_token", "jwt"}


def hash_caller(subject: str, key: bytes) -> str:
    """Keyed hash of a token subject: stable per caller, not reversible without the key."""
    return hmac.new(key, subject.encode(), hashlib.sha256).hexdigest()[:24]


def _is_loggable(name: str) -> bool:
    lowered = name.lower()
    return (
        _SAFE_NAME.match(name) is not None
        and lowered not in _REDACTED_PARAMETERS
        and not lowered.endswith("_hash")
        and "token" not in lowered
        and "secret" not in lowered
        and "password" not in lowered
    )


def sanitize_parameters(parameters: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Bounded copy of request parameters, and the names of those whose value was dropped.

    Returns:
        ``(kept, redacted)``: values under plain, non-PII names (truncated), and the
        other parameters' names (``(other)`` when the name itself is not a plain identifier).
    """
    kept: dict[str, str] = {}
    redacted: list[str] = []
    for name, value in list(parameters.items())[:_MAX_PARAMETERS]:
        name = str(name)
        if _is_loggable(name):
            kept[name] = str(value)[:_MAX_VALUE_CHARS]
        else:
            shown = name.lower() if _SAFE_NAME.match(name.lower()) else "(other)"
            if shown not in redacted:
                redacted.append(shown)
    return kept, redacted


def clean_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as the viewer serves it: parameters re-sanitized (entries of older versions)."""
    raw = entry.get("parameters")
    if not isinstance(raw, dict):
        return entry
    kept, redacted = sanitize_parameters(raw)
    earlier = entry.get("redacted_parameters")
    merged = list(earlier) if isinstance(earlier, list) else []
    merged += [name for name in redacted if name not in merged]
    return {**entry, "parameters": kept, "redacted_parameters": merged}


def timestamps(now: datetime | None = None) -> dict[str, Any]:
    """Unix and ISO 8601 timestamps of ``now`` (UTC)."""
    moment = now or datetime.now(tz=UTC)
    return {"timestamp": round(moment.timestamp(), 3), "iso_timestamp": moment.isoformat()}


def day_file(directory: Path, prefix: str, day: date) -> Path:
    """The file of ``prefix`` (access or exports) for UTC day ``day``."""
    return directory / f"{prefix}-{day.isoformat()}.jsonl"


class AuditLog:
    """Appends JSON lines to the day's access and export files; never rewrites one."""

    def __init__(self, directory: Path, retention_days: int = 400) -> None:
        """Create the directory if needed and delete files past retention.

        Args:
            directory: ``AUDIT_LOG_DIR``.
            retention_days: ``AUDIT_RETENTION_DAYS``.

        Raises:
            OSError: The directory cannot be created (fail at start-up, not per request).
        """
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._purged_on: date | None = None
        self._purge(datetime.now(tz=UTC).date())

    @property
    def access_path(self) -> Path:
        """Today's access log file."""
        return day_file(self.directory, ACCESS_PREFIX, datetime.now(tz=UTC).date())

    @property
    def export_path(self) -> Path:
        """Today's export log file."""
        return day_file(self.directory, EXPORT_PREFIX, datetime.now(tz=UTC).date())

    def _purge(self, today: date) -> None:
        """Delete daily files older than the retention window."""
        self._purged_on = today
        oldest = today - timedelta(days=self.retention_days)
        for path in self.directory.iterdir():
            match = DAY_FILE.match(path.name)
            if match and date.fromisoformat(match.group(2)) < oldest:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def _append(self, prefix: str, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
        today = datetime.now(tz=UTC).date()
        # O_APPEND: each write lands at the end, whole, even with several worker processes.
        with self._lock:
            if self._purged_on != today:
                self._purge(today)
            fd = os.open(day_file(self.directory, prefix, today),
                         os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)  # fmt: skip
            try:
                os.write(fd, line)
            finally:
                os.close(fd)

    def record_access(self, record: dict[str, Any]) -> None:
        """Append one request record."""
        self._append(ACCESS_PREFIX, record)

    def record_export(self, record: dict[str, Any]) -> None:
        """Append one export or grant record to the export log."""
        self._append(EXPORT_PREFIX, record)


def caller_hash_of(principal: Principal | None) -> str:
    """The audit identity of a caller: keyed hash of the token subject, or ``anonymous``."""
    if principal is None or principal.role is Role.PUBLIC:
        return "anonymous"
    return hash_caller(principal.subject, current_app.config["AUDIT_CALLER_KEY"])


def get_audit_log() -> AuditLog:
    """The app's audit log (set up by :func:`serving.guards.response.init_guards`)."""
    log: AuditLog = current_app.extensions[AUDIT_EXTENSION]
    return log
