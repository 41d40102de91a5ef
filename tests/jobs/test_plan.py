"""The utility planner: error bars from the plan alone, published share from exact counts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from conf.bounds import load_job_bounds
from jobs.arguments import JobArguments
from jobs.plan import _publication_probability, format_plan, plan_release, plan_table
from jobs.registry import job_named
from jobs.run_all import ALL_JOBS
from jobs.transforms.public_metrics import PUBLIC_METRICS
from privacy_udfs import PrivacyLevel, seeded_random_source_for_tests
from privacy_udfs.randomness import SEEDED_RANDOMNESS_ENV
from privacy_udfs.zcdp import rho_for_epsilon
from tests.jobs.inputs import TENANT_A, event, learner, make_context, make_inputs
from tests.reliability.rawdata import RawData, settings_for, write_raw

SESSION_DAILY_JOB = job_named("session_daily")
MASTERY_JOB = job_named("mastery_progress")
BOUNDS = load_job_bounds()

DAY = dt.date(2025, 1, 6)
AT = dt.datetime(2025, 1, 6, 10, 0)


def test_publication_probability_follows_the_noise() -> None:
    for accounting in ("pure", "zcdp"):
        assert _publication_probability(10, 10, accounting, 3.0) == pytest.approx(0.5)
        assert _publication_probability(1000, 10, accounting, 3.0) > 0.999
        assert _publication_probability(0, 20, accounting, 3.0) < 0.01


def test_the_plan_of_a_table_matches_what_its_release_publishes(spark: SparkSession) -> None:
    # 300 learners with one math session each on one day, in one tenant.
    events = [
        event(i, i, "session", AT, subject="math", duration_minutes=20.0, tenant=TENANT_A)
        for i in range(1, 301)
    ]
    learners = [(learner(i), TENANT_A, "13_17", "9-12", False, None) for i in range(1, 301)]
    inputs = make_inputs(spark, events=events, learners=learners)
    context = make_context("session_daily", DAY, DAY, level=PrivacyLevel.DP_MEDIUM)
    exact = dataclasses.replace(context, level=PrivacyLevel.ANONYMIZED, k_threshold=0)

    plan = plan_table(SESSION_DAILY_JOB, inputs, context, exact)

    released = SESSION_DAILY_JOB.transform(inputs, context)
    row = released.where("subject = 'all'").first()
    assert row is not None
    metrics = {m.metric: m for m in plan.metrics}
    # The plan carries exactly the scales a release carries.
    assert metrics["active_learners"].scale == pytest.approx(row.noise_scales["active_learners"])
    assert metrics["sessions"].ci95 == pytest.approx(row.ci95["sessions"])
    assert plan.accounting == "zcdp" and plan.epsilon == pytest.approx(context.epsilon)
    assert plan.threshold == context.k_threshold + int(-(-row.ci95["active_learners"] // 1))
    # Two of the cells hold 300 learners (math and 'all'), but subject rows are not
    # measured at DP (dp_withheld): of the two tenants' nine cells each, only tenant A's
    # 'all' can publish (tenant B has no session).
    assert plan.cells == 2 * 9
    scale = metrics["active_learners"].scale or 0.0
    tenant_a, tenant_b = (
        _publication_probability(learners, plan.threshold, "zcdp", scale) for learners in (300, 0)
    )
    assert 0.5 < tenant_a < 1.0 and tenant_b < 0.03  # an empty cell passes k + ci95 rarely
    assert plan.expected_published_share == pytest.approx((tenant_a + tenant_b) / 18, rel=1e-6)
    assert metrics["active_learners"].median_relative_error == pytest.approx(
        row.ci95["active_learners"] / 300
    )
    text = format_plan([plan], "dp_medium")
    assert "session_daily" in text and "active_learners" in text and "nothing charged" in text


def test_a_means_error_bar_is_planned_per_cell_over_its_learners(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 400 learners with one math assessment each: mean_mastery divides its noisy sum by the
    # noisy learner count, so its error bar is the sum's over ~400, not the sum's.
    monkeypatch.setenv(SEEDED_RANDOMNESS_ENV, "1")  # the plan's draw and the release's alike
    events = [
        event(i, i, "assessment_completed", AT, subject="math", score=70.0, attempt=1)
        for i in range(1, 401)
    ]
    learners = [(learner(i), TENANT_A, "13_17", "9-12", False, None) for i in range(1, 401)]
    inputs = make_inputs(spark, events=events, learners=learners)
    context = make_context(
        "mastery_progress",
        DAY,
        DAY,
        level=PrivacyLevel.DP_MEDIUM,
        random_source=seeded_random_source_for_tests(5),
    )
    exact = dataclasses.replace(context, level=PrivacyLevel.ANONYMIZED, k_threshold=0)

    plan = {m.metric: m for m in plan_table(MASTERY_JOB, inputs, context, exact).metrics}

    # The one cell holding the 400 learners, drawn as the plan drew it (same seed).
    (math,) = [
        r
        for r in MASTERY_JOB.transform(inputs, context).collect()
        if r.tenant_id == TENANT_A and r.subject == "math"
    ]
    scale = math.noise_scales["mean_mastery"]
    assert scale < 20.0  # the sum's scale over ~400 learners
    assert plan["mean_mastery"].scale == pytest.approx(scale)
    assert plan["mean_mastery"].ci95 == pytest.approx(1.96 * scale, rel=1e-3)
    assert plan["mean_mastery"].median_relative_error == pytest.approx(
        1.96 * scale / 70.0, rel=1e-3
    )


def test_the_planner_plans_every_table_of_a_quarter_end_run(
    spark: SparkSession, tmp_path: Path
) -> None:
    """``python -m jobs.plan`` over every job: each table gets a plan line (none crashes),
    the quarterly tables are planned for the whole quarter, and nothing is written."""
    settings = settings_for(tmp_path)
    write_raw(spark, settings, RawData.for_tenants([1, 2]))
    arguments = JobArguments(
        dt.date(2025, 3, 1), dt.date(2025, 3, 31), None, "dp_medium", str(uuid.uuid4())
    )

    plans = {p.table: p for p in plan_release(spark, settings, arguments, ALL_JOBS)}

    assert set(plans) == {job.name for job in ALL_JOBS}
    assert "never released at DP" in plans["learner_snapshots"].note
    for name in ("iep_progress", "course_metrics"):  # three months' shares, once a quarter
        expected = rho_for_epsilon(1.0, 1e-6) * BOUNDS[name].epsilon_share * 3
        assert plans[name].rho == pytest.approx(expected), name
        assert plans[name].metrics and not plans[name].note, plans[name]
    # The public page has one row per figure: one plan line each, with its own scale.
    public = {m.metric: m for m in plans["public_metrics"].metrics}
    assert set(public) == {m.key for m in PUBLIC_METRICS}
    assert public["total_learners_active"].ci95 is not None
    assert public["total_sessions"].ci95 > public["total_learners_active"].ci95  # × its cap
    assert not (tmp_path / "curated").exists() and not (tmp_path / "ops").exists()
    text = format_plan(list(plans.values()), "dp_medium")
    assert all(name in text for name in plans)
