"""A tenant's privacy budget per fixed accounting window, from the ledger ``ops/privacy_budget``.

The ledger holds one row per (release, window) charge; a correction is a
compensating row with negative ε. A charge is *reserved* while the run that
made it is still ``running`` in ``ops/job_runs`` and *spent* otherwise;
what is left of a window is the budget minus both. Window labels come from
``privacy_udfs.windows`` (the one definition of the windows).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from privacy_udfs.windows import AccountingWindow, window_of
from serving.data.store import RequestTables
from serving.data.tables import TableUnavailableError
from serving.models.responses import BudgetRelease, BudgetWindow, PrivacyBudget

LEDGER_COLUMNS = (
    "window_start", "window_end", "release_id", "job_name", "privacy_level", "period_start",
    "period_end", "epsilon", "delta", "rho", "job_run_id", "forced", "charged_at",
)  # fmt: skip
_DIGITS = 6


def running_run_ids(tables: RequestTables) -> set[str]:
    """Ids of runs whose ledger status is ``running`` (none if there is no ledger yet)."""
    try:
        runs = tables.rows("job_runs", {"status": "running"}, ("run_id",))
    except TableUnavailableError:
        return set()
    return {str(run_id) for run_id in runs["run_id"].to_pylist()}


def _release(rows: list[dict[str, Any]], reserved: bool) -> BudgetRelease:
    first = min(rows, key=lambda r: r["charged_at"])
    deltas = [r["delta"] for r in rows if r["delta"] is not None]
    rhos = [r["rho"] for r in rows if r["rho"] is not None]
    return BudgetRelease(
        release_id=first["release_id"],
        job_name=first["job_name"],
        privacy_level=first["privacy_level"],
        period_start=first["period_start"],
        period_end=first["period_end"],
        epsilon=round(sum(r["epsilon"] for r in rows), _DIGITS),
        delta=round(sum(deltas), 12) if deltas else None,
        rho=round(sum(rhos), _DIGITS) if rhos else None,
        job_run_id=first["job_run_id"],
        forced=any(r["forced"] for r in rows),
        charged_at=first["charged_at"],
        state="reserved" if reserved else "spent",
    )


def _window(
    window: AccountingWindow, rows: list[dict[str, Any]], running: set[str], budget: float
) -> BudgetWindow:
    by_release: dict[tuple[str, bool], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_release[(row["release_id"], row["job_run_id"] in running)].append(row)
    releases = sorted(
        (_release(group, reserved) for (_, reserved), group in by_release.items()),
        key=lambda r: (r.charged_at, r.release_id),
    )
    spent = sum(r.epsilon for r in releases if r.state == "spent")
    reserved = sum(r.epsilon for r in releases if r.state == "reserved")
    left = budget - spent - reserved
    return BudgetWindow(
        window=window.label,
        window_start=window.start,
        window_end=window.end,
        epsilon_spent=round(spent, _DIGITS),
        epsilon_reserved=round(reserved, _DIGITS),
        epsilon_left=round(left, _DIGITS),
        exhausted=left <= 1e-9,
        releases=releases,
    )


def budget_by_window(
    tables: RequestTables, tenant_id: str, budget: float, window_kind: str, today: date
) -> PrivacyBudget:
    """Every window the tenant was charged in, plus the current one, newest first.

    Raises:
        serving.data.tables.TableUnavailableError: The ledger does not exist.
    """
    ledger = tables.rows("privacy_budget", {"tenant_id": tenant_id}, LEDGER_COLUMNS).to_pylist()
    running = running_run_ids(tables) if ledger else set()
    grouped: dict[AccountingWindow, list[dict[str, Any]]] = defaultdict(list)
    for row in ledger:
        grouped[AccountingWindow(row["window_start"], row["window_end"])].append(row)
    grouped.setdefault(window_of(today, window_kind), [])
    windows = [
        _window(window, rows, running, budget)
        for window, rows in sorted(grouped.items(), reverse=True)
    ]
    return PrivacyBudget(
        tenant_id=tenant_id, epsilon_budget=budget, window_kind=window_kind, windows=windows
    )
