"""session_summary: a tenant's sessions over the reporting period, one row per tenant.

Grain: (tenant, period). Every tenant of the registry is released, empty ones included.

Why a table of its own: at DP levels a tenant's day holds a few hundred learners at most,
so daily session counts and hours are mostly noise (``session_daily`` publishes only
its day totals, the busier days). Over a month every active learner counts once, and
a tenth of the budget gives a district's sessions and hours to a few percent.

Mechanism. Events are folded into one row per (learner, tenant) for the period
(``L = 1``, ``C = 1``); each learner's sessions are clamped to
:data:`jobs.transforms.activity.CAPS_PER_MONTH` and their minutes to ``upper`` of
``conf/bounds.toml``, per started 31 days. One :func:`privacy_udfs.private_aggregate`
call over the public tenant list measures three things, the job's share split evenly:
the distinct learners, and the sessions and minutes per learner as means, each a noisy
*centred* sum over that learner count (a learner moves a centred sum by at most half
the clamp range, so its noise is half a plain sum's). Everything else is
post-processing (free): the totals are mean × learners, whose noise is that of the
centred sum plus the centre times the count's; the mean session length is the ratio of
the two means. ``noise_scales`` holds each value's standard deviation to first order, so
every published value carries an error bar.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.prepare import PreparedInputs
from jobs.release import ReleaseContext
from jobs.transforms.activity import bounded_ratio, period_cap, period_months, with_learner_activity
from jobs.transforms.common import (
    aggregate,
    public_keys,
    read_by_several_releases,
    tenant_ids,
    with_period_columns,
)
from privacy_udfs import Measure

MAX_SESSION_MINUTES = 240.0  # the per-session clamp of session_daily (conf/bounds.toml)


def per_learner_caps(context: ReleaseContext) -> dict[str, float]:
    """Each learner's clamp of sessions and minutes over the release's period."""
    days = context.scope.period_days()
    return {
        "sessions": period_cap("sessions", days),
        "minutes": context.job_bounds.upper * period_months(days),
    }


def summary_measures(context: ReleaseContext) -> list[Measure]:
    """The learner count and the per-learner means of sessions and minutes, with their caps."""
    caps = per_learner_caps(context)
    return [
        Measure(name="active_learners", kind="distinct_count"),
        Measure(
            name="avg_sessions_per_learner",
            kind="mean",
            value_col="sessions",
            lower=0.0,
            upper=caps["sessions"],
        ),
        Measure(
            name="avg_minutes_per_learner",
            kind="mean",
            value_col="minutes",
            lower=0.0,
            upper=caps["minutes"],
        ),
    ]


def ratio_scale(numerator: str, denominator: str, ratio: str) -> Column:
    """First-order noise scale of ``numerator / denominator``, both noisy and independent.

    ``ratio × √((σn/n)² + (σd/d)²)``; a missing scale counts as exact (null when both are),
    and so does a zero value (its ratio is 0 or null: a zero denominator gives no ratio).
    Post-processing of the published values and scales: it costs nothing.
    """
    scales = F.col("noise_scales")

    def relative(name: str) -> Column:
        return F.coalesce(F.try_divide(scales[name], F.abs(F.col(name))), F.lit(0.0))

    spread = F.sqrt(relative(numerator) ** 2 + relative(denominator) ** 2)
    has_scale = scales[numerator].isNotNull() | scales[denominator].isNotNull()
    return F.when(has_scale & F.col(ratio).isNotNull(), F.abs(F.col(ratio)) * spread)


def total_scale(mean: str, centre: float) -> Column:
    """Noise scale of ``mean × active_learners``: the centred sum's plus the centre × the count's.

    The total is ``noisy centred sum + centre × noisy count``, two independent draws; the
    mean's scale is the centred sum's divided by the count (``privacy_udfs`` means).
    """
    scales = F.col("noise_scales")
    centred_sum = scales[mean] * F.col("active_learners")
    count = F.lit(centre) * scales["active_learners"]
    return F.when(scales[mean].isNotNull(), F.sqrt(centred_sum**2 + count**2))


def with_totals(context: ReleaseContext) -> Callable[[DataFrame], DataFrame]:
    """Add sessions, hours and the mean session length with their scales (post-processing).

    Shape: one row per tenant with active_learners, the two per-learner means and
    noise_scales -> the same rows with sessions, total_hours and avg_session_minutes.
    """
    caps = per_learner_caps(context)

    def transform(df: DataFrame) -> DataFrame:
        learners = F.col("active_learners")
        with_values = (
            df.withColumn(
                "sessions",
                F.round(F.col("avg_sessions_per_learner") * learners).cast("long"),
            )
            .withColumn("total_hours", F.col("avg_minutes_per_learner") * learners / F.lit(60.0))
            .withColumn(
                "avg_session_minutes",
                bounded_ratio(
                    "avg_minutes_per_learner", "avg_sessions_per_learner", MAX_SESSION_MINUTES
                ),
            )
        )
        scales = F.col("noise_scales")
        entries: dict[str, Column] = {
            "active_learners": scales["active_learners"],
            "avg_sessions_per_learner": scales["avg_sessions_per_learner"],
            "avg_minutes_per_learner": scales["avg_minutes_per_learner"],
            "sessions": total_scale("avg_sessions_per_learner", caps["sessions"] / 2),
            "total_hours": total_scale("avg_minutes_per_learner", caps["minutes"] / 2) / 60.0,
            "avg_session_minutes": ratio_scale(
                "avg_minutes_per_learner", "avg_sessions_per_learner", "avg_session_minutes"
            ),
        }
        pairs = [part for name, scale in entries.items() for part in (F.lit(name), scale)]
        return with_values.withColumn(
            "noise_scales", F.map_filter(F.create_map(*pairs), lambda _k, v: v.isNotNull())
        )

    return transform


def session_summary(inputs: PreparedInputs, context: ReleaseContext) -> DataFrame:
    """Compute session_summary for the run's period (pure).

    Args:
        inputs: Prepared, pseudonymous inputs of the run.
        context: The release (level, bounds, ε, k, scope).

    Returns:
        One row per tenant of the registry: keys, metrics and privacy columns.
    """
    # Shape: events -> one row per (learner, tenant) with a session in the period.
    activity = read_by_several_releases(
        inputs.events.transform(with_learner_activity(["tenant_id"])).where(F.col("sessions") > 0)
    )
    means = aggregate(
        activity,
        context,
        group_cols=["tenant_id"],
        measures=summary_measures(context),
        public_groups=public_keys(inputs, {"tenant_id": tenant_ids(inputs)}),
        max_partitions=1,
        max_rows_per_partition=1,
    )
    # Shape: one row per tenant -> the same rows with totals, the session length, the period.
    return means.transform(with_totals(context)).transform(with_period_columns(context.scope))
