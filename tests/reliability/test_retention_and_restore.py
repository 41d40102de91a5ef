"""Retention (delete + OPTIMIZE + VACUUM) keeps what readers may still need; RESTORE works."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from jobs.maintenance import (
    MIN_VACUUM_HOURS,
    LedgerRestoreRefusedError,
    apply_retention,
    restore_table,
)
from jobs.maintenance import main as maintenance_main
from tests.reliability.rawdata import settings_for

TODAY = dt.date(2025, 2, 1)
DAYS = [dt.date(2025, 1, d) for d in range(1, 6)]


def _values(spark: SparkSession, path: str, version: int | None = None) -> set[int]:
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return {r.value for r in reader.load(path).collect()}


@pytest.mark.slow
def test_vacuum_keeps_time_travel_within_168h_and_restore_brings_back_a_version(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path)
    path = settings.path("curated", "session_daily")  # retention walks the curated tables
    for value in range(3):  # versions 0, 1, 2: each rewrites every file
        rows = [(day, value) for day in DAYS]
        spark.createDataFrame(rows, "activity_date date, value long").repartition(2).write.format(
            "delta"
        ).mode("overwrite").save(path)
    # Orphans: a file left by a writer killed long ago, and one a live writer is writing now.
    week_ago = time.time() - (MIN_VACUUM_HOURS + 24) * 3600
    stale = Path(path) / "part-00000-killed-writer.snappy.parquet"
    live = Path(path) / "part-00000-live-writer.snappy.parquet"
    for orphan in (stale, live):
        orphan.write_bytes(b"PAR1 partial")
    os.utime(stale, (week_ago, week_ago))

    with pytest.raises(ValueError, match="168"):
        apply_retention(spark, settings, today=TODAY, vacuum_hours=24)
    results = apply_retention(spark, settings, today=TODAY, vacuum_hours=MIN_VACUUM_HOURS)

    assert [(r.table, r.rows_deleted) for r in results] == [("session_daily", 0)]
    # Readers and time travel inside the window still find every file they need.
    assert [_values(spark, path, v) for v in range(3)] == [{0}, {1}, {2}]
    assert _values(spark, path) == {2}
    assert not stale.exists()  # past the window: collected
    assert live.exists()  # inside the window: may belong to a running writer

    # Restore through the documented command: a new commit, history kept.
    code = maintenance_main(
        ["--data-root", settings.data_root, "restore", "--table", "session_daily", "--version", "1"]
    )
    assert code == 0 and "restored" in capsys.readouterr().out
    assert _values(spark, path) == {1}
    latest = DeltaTable.forPath(spark, path).history(1).first()
    assert latest is not None and latest["operation"] == "RESTORE"
    assert _values(spark, path, 2) == {2}  # the restored-over version is still there


@pytest.mark.slow
def test_retention_deletes_only_rows_past_the_window(spark: SparkSession, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, etl_retention_days=30)
    path = settings.path("curated", "session_daily")
    rows = [(dt.date(2024, 12, 1), 1), (dt.date(2025, 1, 2), 2), (dt.date(2025, 1, 31), 3)]
    spark.createDataFrame(rows, "activity_date date, value long").write.format("delta").save(path)

    results = apply_retention(spark, settings, today=TODAY, vacuum_hours=MIN_VACUUM_HOURS)

    assert [(r.table, r.rows_deleted) for r in results] == [("session_daily", 1)]
    assert _values(spark, path) == {2, 3}
    assert _values(spark, path, 0) == {1, 2, 3}  # the deleted rows stay readable by time travel


@pytest.mark.parametrize(
    "table",
    ["ops/privacy_budget", "ops/job_runs", "./ops/privacy_budget", "quarantine/../ops/job_runs"],
)
def test_restore_refuses_the_ledgers_corrections_are_compensating_rows(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str
) -> None:
    settings = settings_for(tmp_path)
    path = settings.path("ops", table.rsplit("/", 1)[-1])
    for value in range(2):  # versions 0 and 1 of a ledger: 1 appends a charge
        spark.createDataFrame([(value,)], "value long").write.format("delta").mode("append").save(
            path
        )

    code = maintenance_main(
        ["--data-root", settings.data_root, "restore", "--table", table, "--version", "0"]
    )

    assert code == 2
    error = capsys.readouterr().err
    assert "append-only" in error and "compensating rows" in error
    assert _values(spark, path) == {0, 1}  # nothing was rolled back
    with pytest.raises(LedgerRestoreRefusedError, match="compensating rows"):
        restore_table(spark, path, 0)
    assert DeltaTable.forPath(spark, path).history(1).first()["operation"] != "RESTORE"
