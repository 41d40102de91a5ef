"""public_metrics: platform-wide totals for the public page.

Grain: one row per metric key for the period ``[scope.start, scope.end]``; no
tenant, course or day breakdown exists, so there is nothing to drill into.

Mechanism. Events are folded into one row per (learner, tenant) for the whole
period, so each learner contributes one row (``L = 1``, ``C = 1``); its values
are clamped to per-learner caps that grow with the period's length (per
31-day month, see :data:`jobs.transforms.activity.CAPS_PER_MONTH`; minutes use ``upper`` from
``conf/bounds.toml``). One :func:`privacy_udfs.private_aggregate` call over a
single public group noises the totals, ε split evenly by the engine across its
components (:data:`MAIN_FRACTION` of the job's ε); the average mastery score
(:data:`MASTERY_FRACTION`) and ``active_tenants`` (:data:`TENANT_FRACTION`) use
the rest:

- ``total_learning_hours`` = noisy minutes / 60;
- ``average_mastery_score`` = the mean over learners with a scored assessment of
  each learner's own mean score (one value in [0, 100] per learner: sensitivity
  100, where a sum of every score would have 100 × the assessment cap), as a noisy
  centred sum over the noisy count of those learners, clamped to [0, 100]. It is
  null (``insufficient_data``) when fewer than k (noisy, under DP) learners have a
  scored assessment, even when the other totals are published;
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
from jobs.transforms.common import (
    aggregate,
    platform_inputs,
    public_keys,
    read_by_several_releases,
    tenant_ids,
)
from privacy_udfs import Measure

MAIN_FRACTION = 0.7
MASTERY_FRACTION = 0.15
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
    ]


def mastery_measures() -> list[Measure]:
    """The average mastery score: one mean score per assessed learner, over their count."""
    return [
        Measure(name="assessed_learners", kind="distinct_count"),
        Measure(
            name="average_mastery_score",
            kind="mean",
            value_col="mean_score",
            lower=float(SCORE_RANGE[0]),
            upper=float(SCORE_RANGE[1]),
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
            F.col("average_mastery_score"),
            scale_map({"metric_value": F.col("mastery_scales")["average_mastery_score"]}),
        ),
    }
    # The mastery row comes from its own release: its suppression and mechanism.
    own_release = {"average_mastery_score": ("mastery_insufficient", "mastery_mechanism")}

    def row(m: PublicMetric) -> Column:
        suppressed, mechanism = own_release.get(m.key, ("insufficient_data", "noise_mechanism"))
        return F.struct(
            F.lit(m.key).alias("metric_key"),
            values[m.key][0].cast("double").alias("metric_value"),
            F.lit(m.label).alias("display_label"),
            F.lit(m.order).alias("display_order"),
            values[m.key][1].alias("noise_scales"),
            F.col(suppressed).alias("insufficient_data"),
            F.col(mechanism).alias("noise_mechanism"),
        )

    rows = F.array(*[row(m) for m in PUBLIC_METRICS])
    return df.select("period_start", "delta", F.inline(rows))


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
    activity = read_by_several_releases(
        inputs.events.transform(with_learner_activity(["tenant_id"])).withColumn(
            "period_start", F.lit(scope.start)
        )
    )
    period = public_keys(inputs, {"period_start": [scope.start]})
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
    # Shape: one row per learner with a scored assessment -> their own mean score.
    assessed = activity.where(F.col("assessments") > 0).withColumn(
        "mean_score", mean_score("score_total", "assessments")
    )
    mastery = aggregate(
        assessed,
        context,
        group_cols=["period_start"],
        measures=mastery_measures(),
        epsilon_fraction=MASTERY_FRACTION,
        public_groups=period,
        max_partitions=1,
        max_rows_per_partition=1,
    ).select(
        "period_start",
        "average_mastery_score",
        F.col("noise_scales").alias("mastery_scales"),
        F.col("insufficient_data").alias("mastery_insufficient"),
        F.col("noise_mechanism").alias("mastery_mechanism"),
    )  # shape: one row (the period)
    tenants = active_tenants(
        activity,
        context,
        key_col="period_start",
        epsilon_fraction=TENANT_FRACTION,
        grid=public_keys(inputs, {"period_start": [scope.start], "tenant_id": tenant_ids(inputs)}),
    )
    return (
        totals.join(mastery, on="period_start", how="left")
        .join(tenants, on="period_start", how="left")
        .withColumn("active_tenants", F.when(~F.col("insufficient_data"), F.col("active_tenants")))
        # A platform too small to publish publishes no mastery either.
        .withColumn(
            "mastery_insufficient",
            F.col("insufficient_data") | F.coalesce(F.col("mastery_insufficient"), F.lit(True)),
        )
        .withColumn(
            "average_mastery_score",
            F.when(~F.col("mastery_insufficient"), F.col("average_mastery_score")),
        )
        .transform(metric_rows)
        .withColumn("period_end", F.lit(scope.end))
        .withColumn("epsilon", F.lit(context.epsilon or 0.0))
    )
