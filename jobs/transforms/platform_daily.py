"""platform_daily: platform-wide daily rollup and time series.

Grain: one row per day of ``[scope.start, scope.end]``, every tenant together.
Days are public keys: every day is released, including days without activity.

Mechanism. Events are folded into one row per (learner, tenant, day) with that
learner's sessions, minutes, lessons, assessments and score sum, so a learner
contributes one row to a day (``C = 1``) and at most ``L = max_partitions`` days
(``conf/bounds.toml``, rows beyond dropped at random by the engine; the bound's
expected bias is documented there). Each per-learner-day value is clamped to
the daily caps below, then noised once per day by :func:`privacy_udfs.private_aggregate`.

ε of the job: :data:`MAIN_FRACTION` goes to the daily aggregate, split evenly by
the engine across its six measures (active_learners, sessions, total_minutes,
lessons_completed, assessments_completed, score_total); the rest,
:data:`TENANT_FRACTION`, to ``active_tenants``:

- ``total_hours`` is the noisy minute sum / 60 (its scale is rescaled alike);
- ``avg_score`` is noisy score_total / noisy assessments_completed, clamped to
  [0, 100] (post-processing; ``noise_scales`` keeps ``score_total``'s scale);
- ``active_tenants`` counts the tenants whose distinct active learners that day
  are at least 1: exact at ``anonymized``; under DP decided on a noisy
  per-(tenant, day) distinct count over the public tenant × day grid (its own
  ε share, sensitivity L), which is post-processing of that release. The
  threshold makes it biased upward on sparse days at low ε (empty tenants pass
  it with noise); it has no single Laplace scale, so none is published for it.

Suppression: a day with fewer than k (noisy, under DP) active learners has every
metric null and ``insufficient_data = true``.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from contracts.raw import SCORE_RANGE
from jobs.prepare import PreparedInputs
from jobs.release import ReleaseContext
from jobs.transforms.activity import active_tenants, mean_score, with_learner_activity
from jobs.transforms.common import (
    aggregate,
    days_between,
    platform_inputs,
    public_keys,
    read_by_several_releases,
    rename_noise_scale,
    tenant_ids,
)
from privacy_udfs import Measure

MAIN_FRACTION = 0.85
TENANT_FRACTION = 0.15
# Per learner and day (domain knowledge, not the data): sessions beyond 6 a day are
# reconnect noise; 8 hours of learning a day is a generous school day; 20 lessons and
# 10 assessments a day are far above what a learner completes in practice.
MAX_SESSIONS_PER_DAY = 6.0
MAX_MINUTES_PER_DAY = 480.0
MAX_LESSONS_PER_DAY = 20.0
MAX_ASSESSMENTS_PER_DAY = 10.0


def daily_measures() -> list[Measure]:
    """The day-level measures over the per-learner-day rows, with their daily caps."""
    return [
        Measure(name="active_learners", kind="distinct_count"),
        Measure(
            name="sessions",
            kind="sum",
            value_col="sessions",
            lower=0.0,
            upper=MAX_SESSIONS_PER_DAY,
            integer_valued=True,
        ),
        Measure(
            name="total_minutes",
            kind="sum",
            value_col="minutes",
            lower=0.0,
            upper=MAX_MINUTES_PER_DAY,
        ),
        Measure(
            name="lessons_completed",
            kind="sum",
            value_col="lessons",
            lower=0.0,
            upper=MAX_LESSONS_PER_DAY,
            integer_valued=True,
        ),
        Measure(
            name="assessments_completed",
            kind="sum",
            value_col="assessments",
            lower=0.0,
            upper=MAX_ASSESSMENTS_PER_DAY,
            integer_valued=True,
        ),
        Measure(
            name="score_total",
            kind="sum",
            value_col="score_total",
            lower=0.0,
            upper=SCORE_RANGE[1] * MAX_ASSESSMENTS_PER_DAY,
        ),
    ]


def with_daily_derivations(df: DataFrame) -> DataFrame:
    """total_hours from the noisy minutes, avg_score from the noisy sums (post-processing)."""
    return (
        df.withColumn("total_hours", F.col("total_minutes") / F.lit(60.0))
        .withColumn("noise_scales", rename_noise_scale("total_minutes", "total_hours", 1 / 60.0))
        .withColumn("avg_score", mean_score("score_total", "assessments_completed"))
        .drop("total_minutes", "score_total")
    )


def platform_daily(inputs: PreparedInputs, context: ReleaseContext) -> DataFrame:
    """Compute platform_daily for the run's period (pure).

    Args:
        inputs: Prepared, pseudonymous inputs of the run.
        context: The release (level, bounds, ε, k, scope).

    Returns:
        One row per day of the period: activity_date, metrics and privacy columns.
    """
    scope = context.scope
    inputs = platform_inputs(inputs, scope.start)
    # Shape: one row per (learner, tenant, day) with activity -> per-learner-day values.
    activity = read_by_several_releases(
        inputs.events.transform(with_learner_activity(["tenant_id", "activity_date"]))
    )
    days = days_between(scope.start, scope.end)
    # Shape: one row per day of the period -> noisy day measures + privacy columns.
    daily = aggregate(
        activity,
        context,
        group_cols=["activity_date"],
        measures=daily_measures(),
        epsilon_fraction=MAIN_FRACTION,
        public_groups=public_keys(inputs, {"activity_date": days}),
        max_rows_per_partition=1,
    )
    tenants = active_tenants(
        activity,
        context,
        key_col="activity_date",
        epsilon_fraction=TENANT_FRACTION,
        grid=public_keys(inputs, {"activity_date": days, "tenant_id": tenant_ids(inputs)}),
    )
    suppressed = F.col("insufficient_data")
    return (
        daily.transform(with_daily_derivations)
        .join(tenants, on="activity_date", how="left")
        .withColumn("active_tenants", F.when(~suppressed, F.col("active_tenants")))
        .withColumn("epsilon", F.lit(context.epsilon or 0.0))
    )
