"""Cadence rules: exact releases never differ by a small change; learner rows never at DP.

``jobs.release.release_refusal`` is the one place of the rules; the runner skips a
refused table with its reason (checked end to end in tests/jobs/test_end_to_end.py).
"""

from __future__ import annotations

import datetime as dt

import pytest

from jobs.prepare import Scope
from jobs.registry import job_named
from jobs.release import DP_REFUSAL, is_calendar_month, release_refusal
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


def scope(start: dt.date, end: dt.date) -> Scope:
    return Scope(start, end, None, NOW)


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
    assert release_refusal(job, ANON, scope(dt.date(2025, 2, 1), dt.date(2025, 2, 28))) is None
    # Month to date, refreshed nightly: two releases would differ by one day. Refused.
    month_to_date = release_refusal(job, ANON, scope(dt.date(2025, 3, 1), dt.date(2025, 3, 9)))
    assert month_to_date is not None and "one closed calendar month" in month_to_date
    # The whole month before it is over: refused (ends today or later).
    open_month = release_refusal(job, ANON, scope(dt.date(2025, 3, 1), dt.date(2025, 3, 31)))
    assert open_month is not None and "closed days only" in open_month
    # A quarter would difference with its months into a month without k: refused.
    assert release_refusal(job, ANON, scope(dt.date(2024, 10, 1), dt.date(2024, 12, 31)))
    # DP releases are charged to the budget: any period is allowed (except learner rows).
    dp = release_refusal(
        job, PrivacyLevel.DP_MEDIUM, scope(dt.date(2025, 3, 1), dt.date(2025, 3, 9))
    )
    assert dp == (DP_REFUSAL if job is LEARNER_SNAPSHOTS else None)


@pytest.mark.parametrize(
    "job", [SESSION_DAILY, PLATFORM_DAILY, WEEKLY_ACTIVE], ids=lambda j: j.name
)
def test_anonymized_day_and_week_tables_keep_every_closed_day(job) -> None:
    # Any closed days: a day's cells never change between runs.
    assert release_refusal(job, ANON, scope(dt.date(2025, 3, 3), dt.date(2025, 3, 9))) is None
    assert release_refusal(job, ANON, scope(dt.date(2025, 3, 9), dt.date(2025, 3, 9))) is None
    # Today is not closed yet: its cells would change by the next run.
    today = release_refusal(job, ANON, scope(dt.date(2025, 3, 9), dt.date(2025, 3, 10)))
    assert today is not None and "closed days only" in today


def test_learner_rows_are_never_released_at_dp_levels() -> None:
    february = scope(dt.date(2025, 2, 1), dt.date(2025, 2, 28))
    for level in PrivacyLevel:
        refusal = release_refusal(LEARNER_SNAPSHOTS, level, february)
        assert refusal == (DP_REFUSAL if level.is_dp else None)
    assert [j.name for j in ALL_JOBS if not j.dp_release] == ["learner_snapshots"]
