"""session_summary: a tenant's sessions over the period, exact at anonymized (k = 5, clamps),
one row per registered tenant, and at DP levels noise scales that follow the caps plus an
error bar on every published value."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from chispa import assert_approx_df_equality
from pyspark.sql import SparkSession

from contracts.curated import SESSION_SUMMARY
from jobs.release import with_release_metadata
from jobs.transforms.activity import CAPS_PER_MONTH
from jobs.transforms.session_summary import session_summary, with_totals
from privacy_udfs import PrivacyLevel
from tests.jobs.inputs import TENANT_A, TENANT_B, event, learner, make_context, make_inputs

START, END = dt.date(2025, 1, 1), dt.date(2025, 1, 31)


def at(day: int) -> dt.datetime:
    return dt.datetime(2025, 1, day, 10, 0)


def five_learners_and_four(spark: SparkSession):
    # Tenant A: learners 1-5 with one 30-minute session each; learner 1 has a second
    # session of 1,500 minutes on another day and 35 more short ones (sessions and minutes
    # clamp per learner: 30 sessions, 1,000 minutes in 31 days); learner 6 only completes a
    # lesson (active, but not a session learner). Tenant B: four session learners (< k).
    events = [
        event(i, i, "session", at(2), subject="math", duration_minutes=30.0) for i in range(1, 6)
    ]
    events.append(event(50, 1, "session", at(3), subject="math", duration_minutes=1500.0))
    events += [
        event(100 + n, 1, "session", at(4 + n % 20), subject="math", duration_minutes=1.0)
        for n in range(35)
    ]
    events.append(event(200, 6, "lesson_completed", at(5), lesson_id="L1"))
    events += [
        event(300 + i, 10 + i, "session", at(6), duration_minutes=20.0, tenant=TENANT_B)
        for i in range(1, 5)
    ]
    learners = [(learner(i), TENANT_A, "13_17", "9-12", False, None) for i in range(1, 7)] + [
        (learner(10 + i), TENANT_B, "under_13", "3-5", False, None) for i in range(1, 5)
    ]
    return make_inputs(spark, events=events, learners=learners)


def test_anonymized_exact_values_with_per_learner_caps_and_k5(spark: SparkSession) -> None:
    released = session_summary(
        five_learners_and_four(spark), make_context("session_summary", START, END)
    )
    actual_df = released.select(
        "tenant_id",
        "period_start",
        "active_learners",
        "sessions",
        "total_hours",
        "avg_sessions_per_learner",
        "avg_minutes_per_learner",
        "avg_session_minutes",
        "insufficient_data",
    )
    # Learner 1: 37 sessions -> 30; 30 + 1,500 + 35 minutes -> 1,000. Others: 1 and 30.
    sessions, minutes = 30 + 4, 1000.0 + 4 * 30.0
    rows = [
        (TENANT_A, START, 5, sessions, minutes / 60, sessions / 5, minutes / 5,
         minutes / sessions, False),
        (TENANT_B, START, None, None, None, None, None, None, True),
    ]  # fmt: skip
    expected_df = spark.createDataFrame(
        rows,
        "tenant_id string, period_start date, active_learners long, sessions long, "
        "total_hours double, avg_sessions_per_learner double, avg_minutes_per_learner double, "
        "avg_session_minutes double, insufficient_data boolean",
    )
    assert_approx_df_equality(
        actual_df, expected_df, 1e-9, ignore_row_order=True, ignore_nullable=True
    )
    assert CAPS_PER_MONTH["sessions"] == 30  # the cap the expected values assume


def test_every_registered_tenant_is_released_once(spark: SparkSession) -> None:
    inputs = make_inputs(spark, events=[event(1, 1, "session", at(2), duration_minutes=5.0)])
    rows = session_summary(inputs, make_context("session_summary", START, END)).collect()
    assert sorted(r.tenant_id for r in rows) == sorted([TENANT_A, TENANT_B])
    assert all(r.insufficient_data and r.sessions is None for r in rows)


def test_dp_scales_follow_the_caps_and_every_value_has_an_error_bar(spark: SparkSession) -> None:
    # 200 learners in tenant A with 3 sessions of 50 minutes each: the count's σ at dp_low is
    # about 13, so the row is published on every draw but one in 10^30 and every metric has
    # a scale; tenant B is empty.
    events = [
        event(10 * i + s, i, "session", at(2 + s), duration_minutes=50.0)
        for i in range(1, 201)
        for s in range(3)
    ]
    learners = [(learner(i), TENANT_A, "13_17", "9-12", False, None) for i in range(1, 201)]
    context = make_context("session_summary", START, END, level=PrivacyLevel.DP_LOW, k_threshold=0)
    inputs = make_inputs(spark, events=events, learners=learners)
    published = session_summary(inputs, context).transform(
        with_release_metadata(SESSION_SUMMARY, context)  # as the runner writes it
    )
    rows = {r.tenant_id: r for r in published.localCheckpoint().collect()}
    a, b = rows[TENANT_A], rows[TENANT_B]
    assert not a.insufficient_data
    assert a.noise_mechanism != "none" and a.epsilon > 0
    scales, bars = a.noise_scales, a.ci95
    # One learner moves the count by 1 and the centred sums of sessions and minutes by at most
    # half their caps (30 and 1,000, upper in conf/bounds.toml): an even split gives Gaussian
    # σ in those ratios (to the discrete samplers' grid, which rounds a scale in its fifth
    # digit). A mean's scale is its centred sum's over the noisy count.
    assert context.job_bounds.upper == 1000.0
    learners_scale = scales["active_learners"]
    sessions_sum = scales["avg_sessions_per_learner"] * a.active_learners
    minutes_sum = scales["avg_minutes_per_learner"] * a.active_learners
    assert sessions_sum == pytest.approx(15 * learners_scale, rel=1e-4)
    assert minutes_sum == pytest.approx(500 * learners_scale, rel=1e-4)
    # A total is centred sum + centre × count: two independent draws.
    assert scales["sessions"] == pytest.approx(math.hypot(sessions_sum, 15 * learners_scale))
    assert scales["total_hours"] == pytest.approx(
        math.hypot(minutes_sum, 500 * learners_scale) / 60
    )
    # The session length is the ratio of the two means: first-order scale of a ratio.
    expected = a.avg_session_minutes * math.hypot(
        scales["avg_minutes_per_learner"] / a.avg_minutes_per_learner,
        scales["avg_sessions_per_learner"] / a.avg_sessions_per_learner,
    )
    assert scales["avg_session_minutes"] == pytest.approx(expected, rel=1e-9)
    assert set(bars) == set(scales) == {
        "active_learners", "sessions", "total_hours", "avg_sessions_per_learner",
        "avg_minutes_per_learner", "avg_session_minutes",
    }  # fmt: skip
    assert all(bars[name] == pytest.approx(1.959964 * scales[name], rel=1e-3) for name in bars)
    # No negative or fractional count, even for the empty tenant's noisy values.
    for row in (a, b):
        for name in ("active_learners", "sessions"):
            value = getattr(row, name)
            assert value is None or (value >= 0 and value == int(value))
        assert row.total_hours is None or row.total_hours >= 0


def test_the_totals_scales_match_the_spread_of_simulated_draws(spark: SparkSession) -> None:
    # 20,000 simulated draws of one tenant-month (1,000 learners, 9 sessions and 300 minutes
    # each on average): the count and the two centred sums get independent Gaussian noise as
    # the engine draws it, and with_totals derives the totals and their scales. Each scale
    # must be the spread of its value across the draws; the scale of the centred sum alone
    # (the count's part left out) must not be: the negative control.
    rng = np.random.default_rng(20261208)
    draws, learners, unit = 20_000, 1000, 30.0  # σ per unit of sensitivity
    count = learners + rng.normal(0, unit, draws)
    rows = []
    for n, z_sessions, z_minutes in zip(
        count, rng.normal(0, 15 * unit, draws), rng.normal(0, 500 * unit, draws), strict=True
    ):
        sessions_csum = learners * (9 - 15) + z_sessions  # centred at half the cap of 30
        minutes_csum = learners * (300 - 500) + z_minutes  # centred at half of 1,000
        rows.append((round(n), float(sessions_csum / n + 15), float(minutes_csum / n + 500),
                     {"active_learners": unit, "avg_sessions_per_learner": float(15 * unit / n),
                      "avg_minutes_per_learner": float(500 * unit / n)}))  # fmt: skip
    simulated = spark.createDataFrame(
        rows,
        "active_learners long, avg_sessions_per_learner double, avg_minutes_per_learner double, "
        "noise_scales map<string,double>",
    )
    context = make_context("session_summary", START, END, level=PrivacyLevel.DP_MEDIUM)
    derived = simulated.transform(with_totals(context)).select(
        "sessions", "total_hours", "noise_scales"
    )
    values = derived.toPandas()
    for name, expected in (("sessions", 9 * learners), ("total_hours", 300 * learners / 60)):
        spread = float(values[name].std())
        scale = float(np.median([s[name] for s in values["noise_scales"]]))
        assert abs(values[name].mean() - expected) < 0.05 * expected, name
        assert scale == pytest.approx(spread, rel=0.03), name
        centred_only = (15 if name == "sessions" else 500 / 60) * unit
        assert abs(centred_only / spread - 1) > 0.2, name  # the negative control
