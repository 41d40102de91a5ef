"""Reading the audit log back (seed 003 Phase 6): aggregates for admins, entries for root."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
           "90d": timedelta(days=90)}  # fmt: skip
PHASES = {
    "phase_1_data_access": "curated tables only; no raw/ path configured in the API",
    "phase_2_pii_validation": "active on every route",
    "phase_3_cohort_guard": "active on every route",
    "phase_4_rate_limits_audit_exports": "active on every route",
    "phase_5_ci_checks": "tests/serving walks every route through every guard",
    "phase_6_audit_access": "admin: aggregates; root: entries and exports",
}


@dataclass(frozen=True)
class EntryFilter:
    """Which audit entries to keep."""

    since: float | None = None
    until: float | None = None
    endpoint: str | None = None
    action: str | None = None
    success: bool | None = None
    caller_tenant: str | None = None


def day_bounds(start: date | None, end: date | None) -> tuple[float | None, float | None]:
    """Unix bounds of whole UTC days ``[start, end]``."""
    since = datetime.combine(start, time.min, UTC).timestamp() if start else None
    until = datetime.combine(end, time.max, UTC).timestamp() if end else None
    return since, until


def iter_entries(path: Path, selection: EntryFilter) -> Iterator[dict[str, Any]]:
    """Entries of ``path`` matching ``selection``, oldest first (unparseable lines skipped)."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if _matches(entry, selection):
                yield entry


def _matches(entry: dict[str, Any], selection: EntryFilter) -> bool:
    stamp = entry.get("timestamp", 0)
    checks = (
        selection.since is None or stamp >= selection.since,
        selection.until is None or stamp <= selection.until,
        selection.endpoint is None or entry.get("endpoint") == selection.endpoint,
        selection.action is None or entry.get("action") == selection.action,
        selection.success is None or entry.get("success") == selection.success,
        selection.caller_tenant is None or entry.get("caller_tenant") == selection.caller_tenant,
    )
    return all(checks)


def summarize(entries: Iterator[dict[str, Any]]) -> dict[str, Any]:
    """Counts only: totals, failures, guard events, statuses and the busiest endpoints."""
    statuses: Counter[str] = Counter()
    endpoints: Counter[str] = Counter()
    totals = Counter[str]()
    for entry in entries:
        status = int(entry.get("status", 0))
        statuses[str(status)] += 1
        endpoints[str(entry.get("endpoint"))] += 1
        events = entry.get("events") or []
        totals["pii_blocks"] += "pii_blocked" in events
        totals["cohort_suppressions"] += sum(
            int(e.split(":", 1)[1]) for e in events if e.startswith("cohort_suppressed:")
        )
        totals["rate_limited"] += status == 429
        totals["auth_failures"] += status in (401, 403)
        totals["exports"] += "export" in events
    total = sum(statuses.values())
    failed = sum(n for code, n in statuses.items() if int(code) >= 400)
    return {
        "total_requests": total,
        "successful_requests": total - failed,
        "failed_requests": failed,
        "pii_blocks": totals["pii_blocks"],
        "cohort_suppressions": totals["cohort_suppressions"],
        "rate_limited": totals["rate_limited"],
        "auth_failures": totals["auth_failures"],
        "exports": totals["exports"],
        "status_counts": dict(statuses),
        "top_endpoints": [
            {"endpoint": endpoint, "requests": count}
            for endpoint, count in endpoints.most_common(10)
        ],
        "phases": PHASES,
    }
