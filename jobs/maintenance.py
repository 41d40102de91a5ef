"""maintenance: retention (delete + VACUUM), compaction (OPTIMIZE) and restore of Delta tables.

    python -m jobs.maintenance retain [--retention-days N] [--vacuum-hours 168]
    python -m jobs.maintenance history --table session_daily
    python -m jobs.maintenance restore --table session_daily --version 3

``retain`` deletes curated and quarantine rows older than ETL_RETENTION_DAYS,
compacts small files and vacuums files no longer referenced. VACUUM never goes
below Delta's 7-day (168 h) safety window, so a reader or time-travel query
within that window never loses a file it needs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from conf.settings import AnalyticsSettings, ConfigurationError, load_settings
from jobs.contracts.curated import CURATED_TABLES
from jobs.delta_io import is_delta_table, with_retries
from jobs.session import build_spark_session

MIN_VACUUM_HOURS = 168  # Delta's default retention; below it concurrent readers can break


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


def restore_table(spark: SparkSession, path: str, version: int) -> None:
    """Restore a Delta table to an earlier version (a new commit; history is kept)."""
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
            help="curated table name, or ops/job_runs, ops/privacy_budget, quarantine/rows",
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
    except ConfigurationError as error:
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
