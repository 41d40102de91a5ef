"""maintenance: retention (delete + VACUUM), compaction (OPTIMIZE) and restore of Delta tables.

    python -m jobs.maintenance retain [--retention-days N] [--vacuum-hours 168]
    python -m jobs.maintenance history --table session_daily
    python -m jobs.maintenance restore --table session_daily --version 3

``restore`` refuses the ledgers under ``ops/`` (job_runs, privacy_budget): rolling
the budget ledger back would forget ε already spent on published releases. A
wrong ledger row is corrected by appending a compensating row, never by restore.

``retain`` deletes curated and quarantine rows older than ETL_RETENTION_DAYS,
compacts small files and vacuums files no longer referenced. VACUUM never goes
below Delta's 7-day (168 h) safety window, so a reader or time-travel query
within that window never loses a file it needs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import posixpath
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from conf.settings import AnalyticsSettings, ConfigurationError, load_settings
from contracts.curated import CURATED_TABLES
from jobs.delta_io import is_delta_table, with_retries
from jobs.errors import JobError
from jobs.session import build_spark_session

MIN_VACUUM_HOURS = 168  # Delta's default retention; below it concurrent readers can break
LEDGER_DIR = "ops"


class LedgerRestoreRefusedError(JobError, ValueError):
    """A restore of an append-only ledger under ``ops/`` was asked for."""


@dataclass(frozen=True)
class RetentionResult:
    """What retention did to one table."""

    table: str
    rows_deleted: int
    files_compacted: int


def _ops_and_curated_paths(settings: AnalyticsSettings) -> dict[str, tuple[str, str]]:
    """Tables under retention: name -> (path, SQL expression of the row's data date)."""
    tables = {
        name: (settings.path("curated", name), table.period_column)
        for name, table in CURATED_TABLES.items()
    }
    # Like curated rows, a quarantined row ages with the period it belongs to (a rerun
    # rewrites quarantined_at); rows from before the period columns existed use quarantined_at.
    tables["quarantine"] = (
        settings.path("quarantine", "rows"),
        "coalesce(period_end, to_date(quarantined_at))",
    )
    return tables


def apply_retention(
    spark: SparkSession, settings: AnalyticsSettings, *, today: dt.date, vacuum_hours: int
) -> list[RetentionResult]:
    """Delete rows older than the retention window, compact, then vacuum every table.

    Raises:
        ValueError: ``vacuum_hours`` is below the 168-hour safety window.
    """
    if vacuum_hours < MIN_VACUUM_HOURS:
        raise ValueError(
            f"vacuum_hours must be >= {MIN_VACUUM_HOURS}: shorter windows can delete files that "
            "running readers or time travel still need"
        )
    cutoff = today - dt.timedelta(days=settings.etl_retention_days)
    results = []
    for name, (path, date_column) in _ops_and_curated_paths(settings).items():
        if not is_delta_table(spark, path):
            continue
        table = DeltaTable.forPath(spark, path)
        before = table.toDF().count()
        expired = F.expr(date_column) < F.lit(cutoff)

        def delete_expired(t: DeltaTable = table, condition: Column = expired) -> None:
            t.delete(condition)

        def compact(t: DeltaTable = table) -> DataFrame:
            return t.optimize().executeCompaction()

        with_retries(delete_expired)
        after = DeltaTable.forPath(spark, path).toDF().count()
        metrics = with_retries(compact).first()
        compacted = int(metrics["metrics"]["numFilesRemoved"]) if metrics else 0
        table.vacuum(vacuum_hours / 1.0)
        results.append(RetentionResult(name, before - after, compacted))
    return results


def is_ledger(table: str) -> bool:
    """True when ``table`` (a name as given to ``--table``) names a ledger under ``ops/``.

    The name is normalised first, so ``./ops/privacy_budget`` or ``quarantine/../ops/job_runs``
    are ledgers too.
    """
    parts = [p for p in posixpath.normpath(table.strip()).split("/") if p not in ("", ".")]
    return bool(parts) and parts[0] == LEDGER_DIR


def refuse_ledger_restore(table: str) -> None:
    """Raise :class:`LedgerRestoreRefusedError` when ``table`` is a ledger under ``ops/``.

    The ledgers are append-only records of what was released and spent: restoring an
    earlier version would erase ε already spent on published releases (which readers
    may hold) and let it be spent again.
    """
    if is_ledger(table):
        raise LedgerRestoreRefusedError(
            f"refusing to restore {table!r}: the ledgers under {LEDGER_DIR}/ are append-only "
            "(a restore would forget ε already spent). Corrections are compensating rows: "
            "append a row that reverses the wrong one (e.g. a negative epsilon in "
            "ops/privacy_budget) and say why in the run's record."
        )


def restore_table(spark: SparkSession, path: str, version: int) -> None:
    """Restore a Delta table to an earlier version (a new commit; history is kept).

    Raises:
        LedgerRestoreRefusedError: ``path`` is a ledger under ``<data root>/ops/``.
    """
    if posixpath.basename(posixpath.dirname(posixpath.normpath(path))) == LEDGER_DIR:
        refuse_ledger_restore(f"{LEDGER_DIR}/{posixpath.basename(path)}")
    DeltaTable.forPath(spark, path).restoreToVersion(version)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m jobs.maintenance",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    retain = sub.add_parser("retain", help="delete rows past retention, OPTIMIZE and VACUUM")
    retain.add_argument(
        "--retention-days", type=int, default=None, help="default $ETL_RETENTION_DAYS (365)"
    )
    retain.add_argument(
        "--vacuum-hours",
        type=int,
        default=MIN_VACUUM_HOURS,
        help=f"keep unreferenced files this long (>= {MIN_VACUUM_HOURS})",
    )
    for name in ("history", "restore"):
        command = sub.add_parser(name, help=f"{name} of one curated or ops table")
        command.add_argument(
            "--table",
            required=True,
            help="curated table name, or quarantine/rows"
            + (", ops/job_runs, ops/privacy_budget" if name == "history" else "")
            + (" (never a ledger under ops/)" if name == "restore" else ""),
        )
        if name == "restore":
            command.add_argument("--version", type=int, required=True, help="version to restore")
    parser.add_argument("--data-root", default=None, help="default $DATA_ROOT or ./data")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        overrides: dict[str, object] = {"data_root": args.data_root} if args.data_root else {}
        if getattr(args, "retention_days", None):
            overrides["etl_retention_days"] = args.retention_days
        settings = load_settings(**overrides)
        if args.command == "restore":
            refuse_ledger_restore(args.table)
    except (ConfigurationError, LedgerRestoreRefusedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    spark = build_spark_session("maintenance", master=settings.spark_master)
    if args.command == "retain":
        try:
            results = apply_retention(
                spark, settings, today=dt.date.today(), vacuum_hours=args.vacuum_hours
            )
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        for r in results:
            print(
                f"{r.table:<20} deleted {r.rows_deleted:>8,} rows, compacted {r.files_compacted} files"
            )
        return 0
    path = (
        settings.path("curated", args.table)
        if args.table in CURATED_TABLES
        else settings.path(args.table)
    )
    if not is_delta_table(spark, path):
        print(f"error: no Delta table at {path}", file=sys.stderr)
        return 2
    if args.command == "restore":
        restore_table(spark, path, args.version)
        print(f"restored {path} to version {args.version}")
    else:
        DeltaTable.forPath(spark, path).history().select(
            "version", "timestamp", "operation", "operationParameters"
        ).show(50, truncate=80)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
