"""public_metrics: platform-wide totals for the public page (seed 003 analytics_public_metrics).

Grain: one row per metric key for the period ``[scope.start, scope.end]``; no
tenant, course or day breakdown exists, so there is nothing to drill into.

Mechanism. Events are folded into one row per (learner, tenant) for the whole
period, so each learner contributes one row (``L = 1``, ``C = 1``); its values
are clamped to per-learner caps that grow with the period's length (per
31-day month, see :data:`jobs.transforms.activity.CAPS_PER_MONTH`; minutes use ``upper`` from
``conf/bounds.toml``). One :func:`privacy_udfs.private_aggregate` call over a
single public group noises the totals, ε split evenly by the engine across its
components (:data:`MAIN_FRACTION` of the job's ε); ``active_tenants`` uses the
rest (:data:`TENANT_FRACTION`):

- ``total_learning_hours`` = noisy minutes / 60; ``average_mastery_score`` =
  noisy score sum / noisy assessment count (post-processing, clamped to [0, 100]);
- ``active_tenants`` = tenants whose distinct active learners in the period are at
  least 1: exact at ``anonymized``; under DP decided on noisy per-tenant counts
  over the public tenant list (sensitivity 1), post-processing of that release.

``noise_scales`` of each row holds the Laplace scale of its ``metric_value``
(for the mean score: the scales of its numerator and denominator). When the
platform has fewer than k (noisy, under DP) active learners, every value is
null and ``insufficient_data`` is true.
"""

from __future__ import annotations

import dataclasses

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from contracts.raw import SCORE_RANGE
from jobs.prepare import PreparedInputs
from jobs.release import ReleaseContext
from jobs.transforms.activity import (
    active_tenants,
    mean_score,
    period_cap,
    period_months,
    with_learner_activity,
)
from jobs.transforms.common import aggregate, platform_inputs, tenants_frame
from privacy_udfs import Measure

MAIN_FRACTION = 0.85
TENANT_FRACTION = 0.15


@dataclasses.dataclass(frozen=True)
class PublicMetric:
    """One row of the public page: key, label, order, and how its value is computed."""

    key: str
    label: str
    order: int


PUBLIC_METRICS: tuple[PublicMetric, ...] = (
    PublicMetric("total_learners_active", "Active learners", 1),
    PublicMetric("active_tenants", "Active schools and districts", 2),
    PublicMetric("total_learning_hours", "Hours of learning", 3),
    PublicMetric("total_sessions", "Learning sessions", 4),
    PublicMetric("lessons_completed", "Lessons completed", 5),
    PublicMetric("assessments_completed", "Assessments completed", 6),
    PublicMetric("average_mastery_score", "Average mastery score (0-100)", 7),
)


def public_measures(context: ReleaseContext) -> list[Measure]:
    """The platform totals over the per-learner-period rows, with their per-learner caps."""
    days = context.scope.period_days()
    assessments = period_cap("assessments", days)
    return [
        Measure(name="total_learners_active", kind="distinct_count"),
        Measure(
            name="total_sessions",
            kind="sum",
            value_col="sessions",
            lower=0.0,
            upper=period_cap("sessions", days),
            integer_valued=True,
        ),
        Measure(
            name="total_minutes",
            kind="sum",
            value_col="minutes",
            lower=0.0,
            upper=context.job_bounds.upper * period_months(days),
        ),
        Measure(
            name="lessons_completed",
            kind="sum",
            value_col="lessons",
            lower=0.0,
            upper=period_cap("lessons", days),
            integer_valued=True,
        ),
        Measure(
            name="assessments_completed",
            kind="sum",
            value_col="assessments",
            lower=0.0,
            upper=assessments,
            integer_valued=True,
        ),
        Measure(
            name="score_total",
            kind="sum",
            value_col="score_total",
            lower=0.0,
            upper=SCORE_RANGE[1] * assessments,
        ),
    ]


def scale_map(entries: dict[str, Column]) -> Column:
    """A ``map<string,double>`` of Laplace scales, without the entries whose scale is null."""
    pairs = [
        part for name, scale in entries.items() for part in (F.lit(name), scale.cast("double"))
    ]
    return F.map_filter(F.create_map(*pairs), lambda _k, v: v.isNotNull())


def metric_rows(df: DataFrame) -> DataFrame:
    """Unpivot the one-row totals into one row per public metric.

    Shape: one row (totals + privacy columns) -> one row per PublicMetric: (metric_key,
    metric_value, display_label, display_order, noise_scales, privacy columns).
    """
    scales = F.col("noise_scales")
    values: dict[str, tuple[Column, Column]] = {
        "total_learners_active": (
            F.col("total_learners_active"),
            scale_map({"metric_value": scales["total_learners_active"]}),
        ),
        "active_tenants": (F.col("active_tenants"), scale_map({})),
        "total_learning_hours": (
            F.col("total_minutes") / F.lit(60.0),
            scale_map({"metric_value": scales["total_minutes"] / F.lit(60.0)}),
        ),
        "total_sessions": (
            F.col("total_sessions"),
            scale_map({"metric_value": scales["total_sessions"]}),
        ),
        "lessons_completed": (
            F.col("lessons_completed"),
            scale_map({"metric_value": scales["lessons_completed"]}),
        ),
        "assessments_completed": (
            F.col("assessments_completed"),
            scale_map({"metric_value": scales["assessments_completed"]}),
        ),
        "average_mastery_score": (
            mean_score("score_total", "assessments_completed"),
            scale_map(
                {
                    "score_total": scales["score_total"],
                    "assessments_completed": scales["assessments_completed"],
                }
            ),
        ),
    }
    rows = F.array(
        *[
            F.struct(
                F.lit(m.key).alias("metric_key"),
                values[m.key][0].cast("double").alias("metric_value"),
                F.lit(m.label).alias("display_label"),
                F.lit(m.order).alias("display_order"),
                values[m.key][1].alias("noise_scales"),
            )
            for m in PUBLIC_METRICS
        ]
    )
    return df.select(
        "period_start", "delta", "noise_mechanism", "insufficient_data", F.inline(rows)
    )


def public_metrics(inputs: PreparedInputs, context: ReleaseContext) -> DataFrame:
    """Compute public_metrics for the run's period (pure).

    Args:
        inputs: Prepared, pseudonymous inputs of the run.
        context: The release (level, bounds, ε, k, scope).

    Returns:
        One row per public metric key: keys, value, label, order and privacy columns.
    """
    scope = context.scope
    inputs = platform_inputs(inputs, scope.start)
    # Shape: one row per (learner, tenant) active in the period -> per-learner totals.
    activity = inputs.events.transform(with_learner_activity(["tenant_id"])).withColumn(
        "period_start", F.lit(scope.start)
    )
    period = inputs.learners.sparkSession.range(1).select(F.lit(scope.start).alias("period_start"))
    # Shape: one row (the period) -> noisy totals + privacy columns.
    totals = aggregate(
        activity,
        context,
        group_cols=["period_start"],
        measures=public_measures(context),
        epsilon_fraction=MAIN_FRACTION,
        public_groups=period,
        max_partitions=1,
        max_rows_per_partition=1,
    )
    tenants = active_tenants(
        activity,
        context,
        key_col="period_start",
        epsilon_fraction=TENANT_FRACTION,
        grid=tenants_frame(inputs).withColumn("period_start", F.lit(scope.start)),
    )
    return (
        totals.join(tenants, on="period_start", how="left")
        .withColumn("active_tenants", F.when(~F.col("insufficient_data"), F.col("active_tenants")))
        .transform(metric_rows)
        .withColumn("period_end", F.lit(scope.end))
        .withColumn("epsilon", F.lit(context.epsilon or 0.0))
    )
