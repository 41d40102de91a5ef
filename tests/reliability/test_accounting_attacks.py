"""Attacks on the accounting across releases: cut periods, table pairs, platform reruns.

Each test runs the real runner over real Delta tables and reads the ledger it wrote.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from conf.bounds import load_job_bounds
from conf.settings import AnalyticsSettings
from jobs.arguments import JobArguments
from jobs.registry import job_named
from jobs.release import CuratedJob
from jobs.run_report import RunSummary
from jobs.runner import run_release
from privacy_udfs.zcdp import epsilon_of_rho, rho_for_epsilon
from tests.reliability.rawdata import (
    END,
    NOW,
    START,
    RawData,
    job_run,
    settings_for,
    tenant_id,
    write_raw,
)

COURSE_METRICS_JOB = job_named("course_metrics")
PLATFORM_DAILY_JOB = job_named("platform_daily")
SESSION_DAILY_JOB = job_named("session_daily")
WEEKLY_ACTIVE_JOB = job_named("weekly_active")

BOUNDS = load_job_bounds()
RUN_RHO = rho_for_epsilon(1.0, 1e-6)  # a dp_medium run of zCDP tables (conf/bounds.toml)
SESSION_DAILY_RHO = RUN_RHO * BOUNDS["session_daily"].epsilon_share
WEEKLY_ACTIVE_RHO = RUN_RHO * BOUNDS["weekly_active"].epsilon_share
# A quarterly table spends the shares of the three monthly runs that skip it.
COURSE_METRICS_RHO = RUN_RHO * BOUNDS["course_metrics"].epsilon_share * 3


def _epsilon(rho: float) -> float:
    return epsilon_of_rho(rho, 1e-6)


def _run(
    spark: SparkSession,
    settings: AnalyticsSettings,
    jobs: tuple[CuratedJob, ...],
    start: dt.date = START,
    end: dt.date = END,
    *,
    force: bool = False,
) -> RunSummary:
    arguments = JobArguments(start, end, None, "dp_medium", str(uuid.uuid4()), force)
    name = jobs[0].name if len(jobs) == 1 else "run_all"
    return run_release(spark, settings, arguments, jobs, run_name=name, now=NOW)


def _ledger(spark: SparkSession, settings: AnalyticsSettings):  # type: ignore[no-untyped-def]
    return spark.read.format("delta").load(settings.path("ops", "privacy_budget"))


@pytest.mark.slow
def test_cutting_a_period_into_one_day_dp_runs_is_refused_once_the_window_is_spent(
    spark: SparkSession, tmp_path
) -> None:
    # Budget for exactly two one-day releases of session_daily at dp_medium (their ρ add up).
    settings = settings_for(tmp_path, dp_epsilon_budget=_epsilon(2 * SESSION_DAILY_RHO))
    write_raw(spark, settings, RawData.for_tenants([1]))
    days = [START + dt.timedelta(days=i) for i in range(3)]

    summaries = [_run(spark, settings, (SESSION_DAILY_JOB,), day, day) for day in days]

    assert [s.status for s in summaries] == ["succeeded", "succeeded", "refused"]
    assert job_run(spark, settings, summaries[2].run_id).error_message == (
        f"over budget, not released: {tenant_id(1)}"
    )
    window = _ledger(spark, settings).groupBy("tenant_id", "window_start").agg(F.sum("rho"))
    assert [tuple(r) for r in window.collect()] == [
        (tenant_id(1), dt.date(2025, 1, 1), pytest.approx(2 * SESSION_DAILY_RHO))
    ]
    published = (
        spark.read.format("delta")
        .load(settings.path("curated", "session_daily"))
        .where(F.col("privacy_level") == "dp_medium")
        .select("activity_date")
        .distinct()
        .collect()
    )
    assert sorted(r.activity_date for r in published) == days[:2]  # nothing of the third day


@pytest.mark.slow
def test_two_tables_over_the_same_data_add_up_in_the_ledger(spark: SparkSession, tmp_path) -> None:
    settings = settings_for(tmp_path)
    write_raw(spark, settings, RawData.for_tenants([1, 2]))

    summary = _run(spark, settings, (SESSION_DAILY_JOB, WEEKLY_ACTIVE_JOB))

    expected = SESSION_DAILY_RHO + WEEKLY_ACTIVE_RHO
    sums = {
        r.tenant_id: r.spent
        for r in _ledger(spark, settings)
        .groupBy("tenant_id", "window_start")
        .agg(F.sum("rho").alias("spent"))
        .collect()
    }
    assert sums == {tenant_id(1): pytest.approx(expected), tenant_id(2): pytest.approx(expected)}
    # The run's ε per tenant is the two tables composed, not either one alone.
    charged = job_run(spark, settings, summary.run_id).epsilon_charged
    assert charged == pytest.approx(_epsilon(expected))
    assert charged > _epsilon(SESSION_DAILY_RHO)
    assert job_run(spark, settings, summary.run_id).tenant_ids == [tenant_id(1), tenant_id(2)]


def _platform_rows(spark: SparkSession, settings: AnalyticsSettings) -> list[tuple[object, ...]]:
    return sorted(
        (r.activity_date, r.sessions, r.job_run_id)
        for r in spark.read.format("delta")
        .load(settings.path("curated", "platform_daily"))
        .where(F.col("privacy_level") == "dp_medium")
        .collect()
    )


@pytest.mark.slow
def test_a_published_platform_slice_is_never_redrawn_when_a_tenant_joins(
    spark: SparkSession, tmp_path
) -> None:
    settings = settings_for(tmp_path)
    write_raw(spark, settings, RawData.for_tenants([1, 2]))
    first = _run(spark, settings, (PLATFORM_DAILY_JOB,))
    published = _platform_rows(spark, settings)
    assert {row[2] for row in published} == {first.run_id}

    # A third tenant joins; rerunning the same (level, period) must not redraw the noise.
    write_raw(spark, settings, RawData.for_tenants([1, 2, 3]))
    again = _run(spark, settings, (PLATFORM_DAILY_JOB,))

    assert _platform_rows(spark, settings) == published
    assert again.tables[0].skipped_reason == "already published (platform-wide: once per period)"
    charged = {(r.tenant_id, r.job_run_id) for r in _ledger(spark, settings).collect()}
    assert charged == {(tenant_id(1), first.run_id), (tenant_id(2), first.run_id)}

    # --force redraws, and charges every tenant the platform rows now cover.
    forced = _run(spark, settings, (PLATFORM_DAILY_JOB,), force=True)
    assert {row[2] for row in _platform_rows(spark, settings)} == {forced.run_id}
    charged_by_force = {
        r.tenant_id
        for r in _ledger(spark, settings).where(F.col("job_run_id") == forced.run_id).collect()
    }
    assert charged_by_force == {tenant_id(1), tenant_id(2), tenant_id(3)}


@pytest.mark.slow
def test_a_quarterly_table_is_released_and_charged_once_per_quarter_however_runs_are_cut(
    spark: SparkSession, tmp_path
) -> None:
    assert BOUNDS["course_metrics"].dp_cadence == "quarter"  # the shipped release plan
    settings = settings_for(tmp_path)
    write_raw(spark, settings, RawData.for_tenants([1]))
    runs = [
        (dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
        (dt.date(2025, 2, 1), dt.date(2025, 3, 15)),
        (dt.date(2025, 3, 16), dt.date(2025, 3, 31)),  # ends the quarter: releases Q1
        (dt.date(2025, 3, 1), dt.date(2025, 3, 31)),  # ends it again: the same release
    ]

    summaries = [_run(spark, settings, (COURSE_METRICS_JOB,), a, b) for a, b in runs]

    reasons = [s.tables[0].skipped_reason for s in summaries]
    assert all(r is not None and "released once per quarter" in r for r in reasons[:2])
    assert reasons[2:] == [None, "already published"]
    ledger = _ledger(spark, settings).where(F.col("job_name") == "course_metrics")
    charges = [(r.period_start, r.period_end, r.window_start, r.rho) for r in ledger.collect()]
    q1 = (dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    assert charges == [(*q1, dt.date(2025, 1, 1), pytest.approx(COURSE_METRICS_RHO))]
    released = (
        spark.read.format("delta")
        .load(settings.path("curated", "course_metrics"))
        .where(F.col("privacy_level") == "dp_medium")
        .select("period_start", "period_end", "epsilon")
        .distinct()
        .collect()
    )
    assert [(r.period_start, r.period_end) for r in released] == [q1]
    assert released[0].epsilon == pytest.approx(_epsilon(COURSE_METRICS_RHO))
