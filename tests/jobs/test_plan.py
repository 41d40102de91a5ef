"""The utility planner: error bars from the plan alone, published share from exact counts."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from pyspark.sql import SparkSession

from jobs.plan import _publication_probability, format_plan, plan_table
from jobs.registry import job_named
from privacy_udfs import PrivacyLevel
from tests.jobs.inputs import TENANT_A, event, learner, make_context, make_inputs

SESSION_DAILY_JOB = job_named("session_daily")

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
    # The dry run without events carries exactly the scales a real release carries.
    assert metrics["active_learners"].scale == pytest.approx(row.noise_scales["active_learners"])
    assert metrics["sessions"].ci95 == pytest.approx(row.ci95["sessions"])
    assert plan.accounting == "zcdp" and plan.epsilon == pytest.approx(context.epsilon)
    assert plan.threshold == context.k_threshold + int(-(-row.ci95["active_learners"] // 1))
    # Two of the cells hold 300 learners (math and 'all'); the empty subjects cannot publish.
    assert plan.cells > 2 and 0.0 < (plan.expected_published_share or 0.0) < 1.0
    assert metrics["active_learners"].median_relative_error == pytest.approx(
        row.ci95["active_learners"] / 300
    )
    text = format_plan([plan], "dp_medium")
    assert "session_daily" in text and "active_learners" in text and "nothing charged" in text
