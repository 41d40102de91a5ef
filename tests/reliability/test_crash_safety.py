"""A driver SIGKILLed while writing a curated table leaves no trace but a 'running' row."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from conf.settings import AnalyticsSettings
from tests.budget_figures import job_epsilon
from tests.pipeline import comparable
from tests.reliability.rawdata import (
    END,
    LEARNERS_PER_TENANT,
    START,
    TEST_KEY,
    RawData,
    event_row,
    job_run,
    release,
    settings_for,
    tenant_id,
    write_raw,
)

REPO = Path(__file__).resolve().parents[2]
MARKER_TIMEOUT = 300.0


def _second_batch() -> RawData:
    """Tenants 1 and 2, plus a second session per learner of tenant 1 (changes the release)."""
    data = RawData.for_tenants([1, 2])
    assert data.events is not None
    data.events.extend(event_row(1, n, "second") for n in range(LEARNERS_PER_TENANT))
    return data


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=60)


def _version(spark: SparkSession, path: str) -> int:
    latest = DeltaTable.forPath(spark, path).history(1).first()
    assert latest is not None
    return int(latest["version"])


@pytest.mark.slow
def test_sigkill_mid_write_leaves_previous_version_and_rerun_matches_clean_run(
    spark: SparkSession, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path / "crashed")
    write_raw(spark, settings, RawData.for_tenants([1, 2]))
    release(spark, settings)
    table_path = settings.path("curated", "session_daily")
    version_before = _version(spark, table_path)
    rows_before = sorted(map(str, spark.read.format("delta").load(table_path).collect()))

    write_raw(spark, settings, _second_batch())  # new raw data: the next release differs
    marker = tmp_path / "stalled"
    run_id = str(uuid.uuid4())
    env = {
        **os.environ,
        "PSEUDONYM_KEY": TEST_KEY,
        "STALL_MARKER": str(marker),
        "PYTHONPATH": str(REPO),
    }
    args = ["--start", START.isoformat(), "--end", END.isoformat(), "--run-id", run_id]
    args += [
        "--data-root",
        settings.data_root,
        "--privacy-level",
        "anonymized",
        "--master",
        "local[2]",
    ]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.stalled_job", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the JVM dies with it
    )
    try:
        deadline = time.monotonic() + MARKER_TIMEOUT
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"child exited early: {child.stderr.read().decode()[-3000:]}")  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the child never reached the curated write"
            time.sleep(0.5)
        _kill_group(child)
    finally:
        if child.poll() is None:
            _kill_group(child)
        if child.stderr:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    # The previous version is intact, readable, and nothing partial is visible.
    assert _version(spark, table_path) == version_before
    assert sorted(map(str, spark.read.format("delta").load(table_path).collect())) == rows_before
    crashed = job_run(spark, settings, run_id)
    assert (crashed.status, crashed.finished_at) == ("running", None)
    assert crashed.pid != os.getpid()

    rerun = release(spark, settings)  # its start marks the dead run

    assert job_run(spark, settings, run_id).status == "abandoned"
    assert "ended without finishing" in job_run(spark, settings, run_id).error_message
    assert rerun.status == "succeeded"
    clean = settings_for(tmp_path / "clean")
    write_raw(spark, clean, _second_batch())
    release(spark, clean)
    assert_df_equality(
        comparable(spark.read.format("delta").load(table_path).drop("job_run_id")),
        comparable(
            spark.read.format("delta")
            .load(clean.path("curated", "session_daily"))
            .drop("job_run_id")
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    totals = {
        r.tenant_id: r.sessions
        for r in spark.read.format("delta")
        .load(table_path)
        .where("subject = 'all' AND activity_date = '2025-01-10'")
        .collect()
    }
    assert totals == {tenant_id(1): 2 * LEARNERS_PER_TENANT, tenant_id(2): LEARNERS_PER_TENANT}


def _run_stalled_child(
    settings: AnalyticsSettings, tmp_path: Path, run_id: str, level: str
) -> None:
    """Start the stalled job in its own process group, wait for the write, SIGKILL the group."""
    marker = tmp_path / f"stalled-{run_id}"
    env = {
        **os.environ,
        "PSEUDONYM_KEY": TEST_KEY,
        "STALL_MARKER": str(marker),
        "PYTHONPATH": str(REPO),
    }
    args = ["--start", START.isoformat(), "--end", END.isoformat(), "--run-id", run_id]
    args += ["--data-root", settings.data_root, "--privacy-level", level, "--master", "local[2]"]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.stalled_job", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + MARKER_TIMEOUT
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"child exited early: {child.stderr.read().decode()[-3000:]}")  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the child never reached the curated write"
            time.sleep(0.5)
    finally:
        _kill_group(child)
        if child.stderr:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_dp_run_killed_mid_write_is_released_by_the_rerun(
    spark: SparkSession, tmp_path: Path
) -> None:
    """ε was reserved before the write; the rerun releases under that charge, once."""
    settings = settings_for(tmp_path)
    write_raw(spark, settings, RawData.for_tenants([1]))
    release(spark, settings)  # the curated table exists (anonymized slice)
    run_id = str(uuid.uuid4())
    _run_stalled_child(settings, tmp_path, run_id, "dp_medium")
    table_path = settings.path("curated", "session_daily")
    dp_rows = spark.read.format("delta").load(table_path).where("privacy_level = 'dp_medium'")
    assert dp_rows.count() == 0  # nothing partial is visible

    rerun = release(spark, settings, level="dp_medium")

    assert job_run(spark, settings, run_id).status == "abandoned"
    assert rerun.status == "succeeded"
    days = (END - START).days + 1
    assert dp_rows.count() == days * 9  # every (day, subject) of the tenant is released
    charges = spark.read.format("delta").load(settings.path("ops", "privacy_budget")).collect()
    charged = [(c.tenant_id, c.epsilon) for c in charges]
    assert charged == [(tenant_id(1), pytest.approx(job_epsilon("session_daily")))]  # once
