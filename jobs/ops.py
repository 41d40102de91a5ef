"""Operations CLI over the ledgers: runs, a tenant's budget per window, the tenant list.

    python -m jobs.ops runs [--status S] [--tenant T] [--limit N] [--ids]
    python -m jobs.ops runs show RUN_ID        # error and per-table outcome
    python -m jobs.ops runs abandon RUN_ID     # mark a stale `running` run abandoned
    python -m jobs.ops budget TENANT           # ε spent / left per accounting window
    python -m jobs.ops tenants [--ids]         # ids, names, learner counts (ops/tenants)

It reads the Delta ledgers under ``DATA_ROOT/ops`` with delta-rs, so it answers in
about a second: no Spark, no JVM. Exit codes: 0 done, 1 not found or not allowed,
2 bad flags or configuration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from deltalake import DeltaTable

from conf.settings import AnalyticsSettings, ConfigurationError, load_settings
from jobs.errors import JobError
from privacy_udfs.accountant import Accountant, WindowAccount, spend_by_window
from privacy_udfs.delta_reads import open_table, read_whole
from privacy_udfs.windows import window_of

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE = 0, 1, 2
ABANDONED_BY_OPERATOR = "marked abandoned by an operator (python -m jobs.ops runs abandon)"


class OpsError(JobError):
    """A requested run or table does not exist, or the action is not allowed."""


def _rows(settings: AnalyticsSettings, *parts: str) -> list[dict[str, Any]]:
    """Every row of a small ops table, or an error naming the table when it is missing."""
    path = settings.path(*parts)
    table = open_table(path)
    if table is None:
        raise OpsError(f"no table at {path}: no run has written it yet")
    rows: list[dict[str, Any]] = read_whole(table).to_pylist()
    return rows


def list_tenants(settings: AnalyticsSettings) -> list[dict[str, Any]]:
    """The tenant list written by the last run (``ops/tenants``: ids, names, learners)."""
    return _rows(settings, "ops", "tenants")


def list_runs(
    settings: AnalyticsSettings, status: str | None = None, tenant: str | None = None
) -> list[dict[str, Any]]:
    """Runs, newest first, filtered by status and by a tenant they covered."""
    runs = _rows(settings, "ops", "job_runs")
    if status is not None:
        runs = [r for r in runs if r["status"] == status]
    if tenant is not None:
        runs = [
            r
            for r in runs
            if r["tenant_id"] == tenant
            or tenant in (r.get("tenant_ids") or [])
            or (r["tenant_id"] is None and not r.get("tenant_ids"))  # covered all, not recorded
        ]
    return sorted(runs, key=lambda r: r["started_at"], reverse=True)


def find_run(settings: AnalyticsSettings, run_id: str) -> dict[str, Any]:
    """One run by id (a unique prefix is enough)."""
    matches = [r for r in _rows(settings, "ops", "job_runs") if r["run_id"].startswith(run_id)]
    if len(matches) != 1:
        raise OpsError(
            f"no run {run_id!r} in ops/job_runs"
            if not matches
            else f"run id prefix {run_id!r} matches {len(matches)} runs; give more of it"
        )
    return matches[0]


def abandon_run(settings: AnalyticsSettings, run_id: str) -> dict[str, Any]:
    """Mark a ``running`` run ``abandoned`` (its driver is gone); return the updated row.

    The run's ε reservations then count as spent but unwritten: the next run of the same
    release computes it under the same charge (see ``jobs.release_planning.release_states``).
    """
    run = find_run(settings, run_id)
    if run["status"] != "running":
        raise OpsError(f"run {run['run_id']} is {run['status']}, not running: nothing to abandon")
    table = DeltaTable(settings.path("ops", "job_runs"))
    table.update(
        new_values={
            "status": "abandoned",
            "finished_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            "error_message": ABANDONED_BY_OPERATOR,
        },
        predicate=f"run_id = '{run['run_id']}' AND status = 'running'",
    )
    return find_run(settings, run["run_id"])


def budget_accounts(settings: AnalyticsSettings, tenant: str) -> list[WindowAccount]:
    """ε spent and left per accounting window the tenant was ever charged in.

    The same composition as :meth:`privacy_udfs.PrivacyBudget.accounts` (the
    :class:`~privacy_udfs.accountant.Accountant` and :class:`WindowSpend`), read with delta-rs.
    """
    charges = [r for r in _rows(settings, "ops", "privacy_budget") if r["tenant_id"] == tenant]
    spent = spend_by_window(charges)
    accountant = Accountant(
        settings.dp_epsilon_budget, settings.dp_budget_window, settings.dp_delta
    )
    windows = sorted(
        {window_of(start, settings.dp_budget_window) for _, start in spent},
        key=lambda w: w.start,
    )
    return accountant.accounts(tenant, spent, windows)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table, columns as wide as their widest cell."""
    cells = [[str(h) for h in header], *[["–" if v is None else str(v) for v in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def _when(value: dt.datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def format_runs(runs: Sequence[dict[str, Any]]) -> str:
    """The run list as a table."""
    return _table(
        ("run_id", "job", "level", "period", "status", "started (UTC)", "tenants", "ε/tenant"),
        [
            (
                r["run_id"],
                r["job_name"],
                r["privacy_level"],
                f"{r['period_start']}..{r['period_end']}",
                r["status"],
                _when(r["started_at"]),
                r["tenant_id"] or len(r.get("tenant_ids") or []) or "all",
                f"{r['epsilon_charged']:.4g}" if r["epsilon_charged"] is not None else None,
            )
            for r in runs
        ],
    )


def format_run(run: dict[str, Any]) -> str:
    """One run in full: ledger fields, error and per-table outcome."""
    fields = (
        "run_id", "job_name", "status", "privacy_level", "period_start", "period_end",
        "tenant_id", "started_at", "finished_at", "rows_read", "rows_quarantined",
        "rows_written", "groups_suppressed", "epsilon_charged", "host", "pid",
    )  # fmt: skip
    lines = [f"{name:<18} {'–' if run.get(name) is None else run[name]}" for name in fields]
    tenants = run.get("tenant_ids") or []
    lines.append(f"{'tenants':<18} {len(tenants)}: {', '.join(tenants) if tenants else '–'}")
    lines.append(f"{'error':<18} {run.get('error_message') or '–'}")
    outcomes = json.loads(run["table_outcomes"]) if run.get("table_outcomes") else []
    if outcomes:
        lines.append("")
        lines.append(
            _table(
                ("table", "rows", "suppressed", "released", "reused", "refused", "note"),
                [
                    (
                        o["table"],
                        o["rows_written"],
                        o["groups_suppressed"],
                        len(o["released_tenants"]),
                        len(o["reused_tenants"]),
                        len(o["refused_tenants"]),
                        o["skipped_reason"] or "",
                    )
                    for o in outcomes
                ],
            )
        )
    else:
        lines.append(f"{'tables':<18} no per-table outcome recorded")
    return "\n".join(lines)


def format_budget(accounts: Sequence[WindowAccount], limit: float) -> str:
    """A tenant's windows: spent, left and the limit."""
    if not accounts:
        return f"no ε charged yet (limit {limit:.4g} per window)"
    return _table(
        ("window", "from", "to", "ε spent", "ε left", "limit"),
        [
            (
                a.window.label,
                a.window.start,
                a.window.end,
                f"{a.spent:.4g}",
                f"{a.remaining:.4g}",
                f"{a.limit:.4g}",
            )
            for a in accounts
        ],
    )


def format_tenants(tenants: Sequence[dict[str, Any]]) -> str:
    """The tenant list (from ``ops/tenants``)."""
    return _table(
        ("tenant_id", "name", "state", "joined_on", "learners"),
        [
            (t["tenant_id"], t["name"], t["state_province"], t["joined_on"], t["learners"])
            for t in sorted(tenants, key=lambda t: (t["name"] or "", t["tenant_id"]))
        ],
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jobs.ops",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data-root", help="default $DATA_ROOT or ./data")
    sub = parser.add_subparsers(dest="command", required=True)
    runs = sub.add_parser("runs", help="list runs, or `show ID` / `abandon ID`")
    runs.add_argument("action", nargs="?", choices=("show", "abandon"))
    runs.add_argument("run_id", nargs="?", help="run id (or a unique prefix)")
    runs.add_argument(
        "--status", choices=("running", "succeeded", "failed", "refused", "abandoned")
    )
    runs.add_argument("--tenant", help="runs that covered this tenant (UUID)")
    runs.add_argument("--limit", type=int, default=20, help="newest N runs (default 20)")
    runs.add_argument("--ids", action="store_true", help="only the run ids, newest first")
    budget = sub.add_parser("budget", help="a tenant's ε spent and left per accounting window")
    budget.add_argument("tenant", help="tenant id (UUID)")
    tenants = sub.add_parser("tenants", help="tenant ids, names and learner counts")
    tenants.add_argument("--ids", action="store_true", help="only the ids, one per line")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        settings = load_settings(**({"data_root": args.data_root} if args.data_root else {}))
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "runs":
            if args.action is not None and not args.run_id:
                parser.error(f"runs {args.action} needs a run id")
            if args.action == "show":
                print(format_run(find_run(settings, args.run_id)))
            elif args.action == "abandon":
                run = abandon_run(settings, args.run_id)
                print(f"run {run['run_id']}: {run['status']}")
            else:
                runs = list_runs(settings, args.status, args.tenant)
                shown = runs[: args.limit]
                if args.ids:
                    print("\n".join(r["run_id"] for r in shown))
                else:
                    print(format_runs(shown) if shown else "no runs")
        elif args.command == "budget":
            print(format_budget(budget_accounts(settings, args.tenant), settings.dp_epsilon_budget))
        else:
            listed = list_tenants(settings)
            if args.ids:
                print("\n".join(sorted(t["tenant_id"] for t in listed)))
            else:
                print(format_tenants(listed))
    except OpsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_NOT_FOUND
    return EXIT_OK


if __name__ == "__main__":
    try:
        exit_code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader had enough (`| head -n 1`): not an error of this command.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        exit_code = EXIT_OK
    sys.stderr.flush()
    # delta-rs's runtime threads can abort the interpreter's shutdown ("terminate called
    # without an active exception", exit 134) after the work is done; leave directly.
    os._exit(exit_code)
