"""Cadence rules: exact releases never differ by a small change; learner rows never at DP.

``jobs.release.release_refusal`` is the one place of the rules; the runner skips a
refused table with its reason (checked end to end in tests/jobs/test_end_to_end.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from conf.bounds import load_job_bounds
from jobs.prepare import Scope
from jobs.registry import job_named
from jobs.release import (
    DP_REFUSAL,
    CuratedJob,
    ReleaseContext,
    is_calendar_month,
    quarter_of,
    release_refusal,
    release_scope,
)
from jobs.run_all import ALL_JOBS
from privacy_udfs import PrivacyLevel

COURSE_METRICS = job_named("course_metrics")
IEP_PROGRESS = job_named("iep_progress")
LEARNER_SNAPSHOTS = job_named("learner_snapshots")
MASTERY_PROGRESS = job_named("mastery_progress")
PLATFORM_DAILY = job_named("platform_daily")
SESSION_DAILY = job_named("session_daily")
WEEKLY_ACTIVE = job_named("weekly_active")

ANON = PrivacyLevel.ANONYMIZED
NOW = dt.datetime(2025, 3, 10, 2, 0)  # a nightly run early on 10 March 2025
PERIOD_JOBS = (MASTERY_PROGRESS, IEP_PROGRESS, COURSE_METRICS, LEARNER_SNAPSHOTS)


QUARTERLY_JOBS = (IEP_PROGRESS, COURSE_METRICS)
BOUNDS = load_job_bounds()


def scope(start: dt.date, end: dt.date) -> Scope:
    return Scope(start, end, None, NOW, history_start=start.replace(day=1))


def context_for(
    job: CuratedJob, level: PrivacyLevel, start: dt.date, end: dt.date
) -> ReleaseContext:
    """The release context a run over [start, end] gives ``job`` (as the runner builds it)."""
    bounds = BOUNDS[job.name]
    return ReleaseContext(
        level, bounds, 5, release_scope(bounds, level, scope(start, end)), "r", "v"
    )


def refusal(job: CuratedJob, level: PrivacyLevel, start: dt.date, end: dt.date) -> str | None:
    return release_refusal(job, context_for(job, level, start, end))


def test_grain_comes_from_the_contract() -> None:
    grains = {job.name: job.grain for job in ALL_JOBS}
    assert grains["session_daily"] == grains["platform_daily"] == "day"
    assert grains["weekly_active"] == "week"
    assert {grains[j.name] for j in PERIOD_JOBS} == {"period"}


@pytest.mark.parametrize(
    "start, end, expected",
    [
        (dt.date(2025, 2, 1), dt.date(2025, 2, 28), True),
        (dt.date(2024, 2, 1), dt.date(2024, 2, 29), True),  # leap year
        (dt.date(2024, 2, 1), dt.date(2024, 2, 28), False),
        (dt.date(2025, 1, 1), dt.date(2025, 3, 31), False),  # a quarter: months nest in it
        (dt.date(2025, 1, 2), dt.date(2025, 1, 31), False),
        (dt.date(2025, 1, 1), dt.date(2025, 1, 30), False),
    ],
)
def test_is_calendar_month(start: dt.date, end: dt.date, expected: bool) -> None:
    assert is_calendar_month(start, end) is expected


@pytest.mark.parametrize("job", PERIOD_JOBS, ids=lambda j: j.name)
def test_anonymized_period_tables_only_for_one_closed_calendar_month(job) -> None:
    # February is closed on 10 March: released.
    assert refusal(job, ANON, dt.date(2025, 2, 1), dt.date(2025, 2, 28)) is None
    # Month to date, refreshed nightly: two releases would differ by one day. Refused.
    month_to_date = refusal(job, ANON, dt.date(2025, 3, 1), dt.date(2025, 3, 9))
    assert month_to_date is not None and "one closed calendar month" in month_to_date
    # The whole month before it is over: refused (ends today or later).
    open_month = refusal(job, ANON, dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    assert open_month is not None and "closed days only" in open_month
    # A quarter would difference with its months into a month without k: refused.
    assert refusal(job, ANON, dt.date(2024, 10, 1), dt.date(2024, 12, 31))
    # DP releases are charged to the budget: any period is allowed (except learner rows).
    dp = refusal(job, PrivacyLevel.DP_MEDIUM, dt.date(2025, 3, 1), dt.date(2025, 3, 9))
    if job is LEARNER_SNAPSHOTS:
        assert dp == DP_REFUSAL
    elif job in QUARTERLY_JOBS:
        assert dp is not None and "once per quarter" in dp and "2025-03-31" in dp
    else:
        assert dp is None


@pytest.mark.parametrize(
    "job", [SESSION_DAILY, PLATFORM_DAILY, WEEKLY_ACTIVE], ids=lambda j: j.name
)
def test_anonymized_day_and_week_tables_keep_every_closed_day(job) -> None:
    # Any closed days: a day's cells never change between runs.
    assert refusal(job, ANON, dt.date(2025, 3, 3), dt.date(2025, 3, 9)) is None
    assert refusal(job, ANON, dt.date(2025, 3, 9), dt.date(2025, 3, 9)) is None
    # Today is not closed yet: its cells would change by the next run.
    today = refusal(job, ANON, dt.date(2025, 3, 9), dt.date(2025, 3, 10))
    assert today is not None and "closed days only" in today


def test_learner_rows_are_never_released_at_dp_levels() -> None:
    february = scope(dt.date(2025, 2, 1), dt.date(2025, 2, 28))
    for level in PrivacyLevel:
        reason = refusal(LEARNER_SNAPSHOTS, level, february.start, february.end)
        assert reason == (DP_REFUSAL if level.is_dp else None)
    assert [j.name for j in ALL_JOBS if not j.dp_release] == ["learner_snapshots"]


@pytest.mark.parametrize("level", [PrivacyLevel.DP_LOW, PrivacyLevel.DP_HIGH], ids=str)
@pytest.mark.parametrize("job", QUARTERLY_JOBS, ids=lambda j: j.name)
def test_quarterly_tables_are_released_at_dp_by_the_quarter_end_run_for_the_quarter(
    job: CuratedJob, level: PrivacyLevel
) -> None:
    # January and February runs do not release them (they would be noise monthly).
    for start, end in [
        (dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
        (dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
    ]:
        reason = refusal(job, level, start, end)
        assert reason is not None and "for 2025-01-01..2025-03-31" in reason
    # The March run releases the quarter, from its first day, whatever the run's start.
    for start in (dt.date(2025, 3, 1), dt.date(2025, 3, 20), dt.date(2024, 12, 1)):
        context = context_for(job, level, start, dt.date(2025, 3, 31))
        assert release_refusal(job, context) is None
        assert (context.scope.start, context.scope.end) == (
            dt.date(2025, 1, 1),
            dt.date(2025, 3, 31),
        )
        # Its charge names the quarter's first day (or the run's earlier history start).
        assert context.scope.history_start == min(start.replace(day=1), dt.date(2025, 1, 1))
    # It spends the shares of the three monthly runs that did not release it.
    monthly = context_for(MASTERY_PROGRESS, level, dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    quarterly = context_for(job, level, dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    share = BOUNDS[job.name].epsilon_share / BOUNDS[MASTERY_PROGRESS.name].epsilon_share
    assert quarterly.rho == pytest.approx(3 * share * monthly.rho)
    # At anonymized the quarterly cadence does not apply: one closed month, as before.
    assert context_for(job, ANON, dt.date(2025, 2, 1), dt.date(2025, 2, 28)).scope.start == dt.date(
        2025, 2, 1
    )
    assert refusal(job, ANON, dt.date(2025, 2, 1), dt.date(2025, 2, 28)) is None


@pytest.mark.parametrize(
    "day, first, last",
    [
        (dt.date(2025, 1, 1), dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
        (dt.date(2025, 5, 31), dt.date(2025, 4, 1), dt.date(2025, 6, 30)),
        (dt.date(2024, 9, 30), dt.date(2024, 7, 1), dt.date(2024, 9, 30)),
        (dt.date(2024, 12, 31), dt.date(2024, 10, 1), dt.date(2024, 12, 31)),
    ],
)
def test_quarter_of(day: dt.date, first: dt.date, last: dt.date) -> None:
    assert quarter_of(day) == (first, last)


def test_a_pure_epsilon_quarterly_table_spends_three_monthly_shares() -> None:
    bounds = dataclasses.replace(BOUNDS["course_metrics"], accounting="pure")
    march = scope(dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    context = ReleaseContext(
        PrivacyLevel.DP_MEDIUM,
        bounds,
        5,
        release_scope(bounds, PrivacyLevel.DP_MEDIUM, march),
        "r",
        "v",
    )
    assert context.rho is None
    assert context.epsilon == pytest.approx(3 * bounds.epsilon_share * 1.0)
