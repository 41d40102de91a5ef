"""weekly_active: active, new, returning and churned learners per tenant and ISO week.

Weeks are the ISO weeks whose Monday lies in the run's period; under DP a week that
runs past the period end counts only the period's days (the next run completes it).
At ``anonymized`` only complete weeks (Monday to Sunday inside the period) are
released, so an exact week's cells never change between runs and no two releases
differ by a few days of activity.

Small cells at ``anonymized``: the age and grade band distributions are parts of
``active_learners`` (each active learner is in exactly one band), so a band under k
could be recovered as ``active_learners`` minus the published bands. Bands get
complementary suppression (:func:`privacy_udfs.suppression.with_complementary_suppression`,
disjoint parts): the suppressed bands of a week always add up to 0 or at least k.
Every band of the public lists is a key of the map, empty ones included (null when
suppressed).

Under DP the week's total and its three partitions (age bands, grade bands, new +
returning) are measured with independent noise; :func:`with_consistent_week` makes them
agree by least squares (post-processing: the active learner count then draws on all four
measurements), and bands are suppressed after that, on their consistent counts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from contracts.bands import AGE_BANDS, GRADE_BANDS
from contracts.raw import EventType
from jobs.prepare import PreparedInputs
from jobs.release import ReleaseContext
from jobs.transforms.common import aggregate, public_keys, read_by_several_releases, tenant_ids
from privacy_udfs import Measure
from privacy_udfs.consistency import Partition, with_consistent_parts
from privacy_udfs.suppression import with_complementary_suppression

# Sessions per learner-week: median 3, 99th percentile 15 on the district profile.
# The noise of the mean is proportional to this clamp; 14 loses 2 % of the sessions.
MAX_SESSIONS_PER_WEEK = 14.0


def week_start(day: Column) -> Column:
    """Monday of the ISO week containing ``day``."""
    return F.to_date(F.date_trunc("week", day))


def iso_week_label(monday: Column) -> Column:
    """ISO week label like 2025-W03 (the ISO year is the year of the week's Thursday)."""
    return F.concat(
        F.year(F.date_add(monday, 3)).cast("string"),
        F.lit("-W"),
        F.lpad(F.weekofyear(monday).cast("string"), 2, "0"),
    )


def public_weeks(context: ReleaseContext) -> list[dt.date]:
    """The ISO weeks of the period (Mondays within [start, end]), a public key list.

    At ``anonymized``, only the weeks whose Sunday is also within the period (complete
    weeks): an exact partial week would later be replaced by the complete one, and the
    difference of the two would isolate a few days of activity.
    """
    start, end = context.scope.start, context.scope.end
    first_monday = start + dt.timedelta(days=(7 - start.weekday()) % 7)
    count = (end - first_monday).days // 7 + 1
    mondays = [first_monday + dt.timedelta(weeks=n) for n in range(max(count, 0))]
    if not context.level.is_dp:
        return [monday for monday in mondays if monday + dt.timedelta(days=6) <= end]
    return [monday for monday in mondays if monday <= end]


def learner_weeks(inputs: PreparedInputs, weeks: list[dt.date]) -> DataFrame:
    """Per learner and active week of the period: new/returning flags, sessions, minutes.

    Shape: one row per (learner_id_hash, tenant_id, week_start) with is_new, is_returning,
    sessions, minutes.
    """
    first_seen = inputs.history.groupBy("learner_id_hash").agg(
        week_start(F.min("activity_date")).alias("first_week")
    )
    is_session = F.col("event_type") == EventType.SESSION.value
    activity = (
        inputs.events.withColumn("week_start", week_start(F.col("activity_date")))
        .where(F.col("week_start").isin(weeks))
        .groupBy("learner_id_hash", "tenant_id", "week_start")
        .agg(
            F.sum(is_session.cast("double")).alias("sessions"),
            F.sum(F.when(is_session, F.col("duration_minutes")).otherwise(0.0)).alias("minutes"),
        )
    )
    return (
        activity.join(first_seen, "learner_id_hash", "left")
        .withColumn("is_new", (F.col("first_week") >= F.col("week_start")).cast("double"))
        .withColumn("is_returning", (F.col("first_week") < F.col("week_start")).cast("double"))
        .drop("first_week")
    )


def churned_learners(inputs: PreparedInputs, weeks: list[dt.date]) -> DataFrame:
    """Learners active the week before a period week and not in it.

    Shape: one row per (learner_id_hash, tenant_id, week_start) of a churned learner.
    """
    active = inputs.history.select(
        "learner_id_hash", "tenant_id", week_start(F.col("activity_date")).alias("week_start")
    ).distinct()
    before = active.withColumn("week_start", F.date_add("week_start", 7)).where(
        F.col("week_start").isin(weeks)
    )
    return before.join(active, ["learner_id_hash", "tenant_id", "week_start"], "left_anti")


def band_distribution(
    rows: DataFrame,
    context: ReleaseContext,
    inputs: PreparedInputs,
    weeks: list[dt.date],
    band: str,
    bands: tuple[str, ...],
    epsilon_fraction: float,
    output: str,
) -> DataFrame:
    """Active learners per band as a map.

    At ``anonymized`` bands under k are null, with complementary suppression against
    ``active_learners`` (bands are disjoint parts of it). Under DP every band holds its
    noisy count, with the count's scale and 95 % error bar beside the map
    (``{output}_scale``, ``{output}_margin``): suppression comes after the consistency
    pass (:func:`with_consistent_week`).
    """
    groups = public_keys(
        inputs, {"tenant_id": tenant_ids(inputs), "week_start": weeks, band: list(bands)}
    )
    exact = not context.level.is_dp and context.k_threshold > 0
    counts = aggregate(
        rows,
        dataclasses.replace(context, k_threshold=0) if exact or context.level.is_dp else context,
        group_cols=["tenant_id", "week_start", band],
        measures=[Measure(name="learners", kind="distinct_count")],
        epsilon_fraction=epsilon_fraction,
        public_groups=groups,
    )
    if exact:
        counts = with_complementary_suppression(
            counts,
            context.k_threshold,
            group_cols=["tenant_id", "week_start"],
            part_col=band,
            count_col="learners",
            metric_cols=["learners"],
        )
    small = F.col("learners").isNull() | (F.col("learners") < context.k_threshold)
    published = F.col("learners") if context.level.is_dp else F.when(~small, F.col("learners"))
    return counts.groupBy("tenant_id", "week_start").agg(
        F.map_from_entries(F.collect_list(F.struct(F.col(band), published.cast("long")))).alias(
            output
        ),
        F.first(F.col("noise_scales")["learners"]).alias(f"{output}_scale"),
        F.first(F.col("ci95")["learners"]).alias(f"{output}_margin"),
    )


def weekly_active(inputs: PreparedInputs, context: ReleaseContext) -> DataFrame:
    """Compute weekly_active for the run's weeks (pure).

    ε split: 45% activity metrics, 15% churned, 15% age bands, 15% grade bands,
    10% enrolled learners (the denominator of the engagement rate).
    """
    weeks = public_weeks(context)
    tenants = tenant_ids(inputs)
    groups = public_keys(inputs, {"tenant_id": tenants, "week_start": weeks})
    per_learner = read_by_several_releases(learner_weeks(inputs, weeks))
    activity = aggregate(
        per_learner,
        context,
        group_cols=["tenant_id", "week_start"],
        measures=[
            Measure(name="active_learners", kind="distinct_count"),
            Measure(name="new_learners", kind="sum", value_col="is_new", lower=0.0, upper=1.0),
            Measure(
                name="returning_learners",
                kind="sum",
                value_col="is_returning",
                lower=0.0,
                upper=1.0,
            ),
            Measure(
                name="avg_sessions_per_learner",
                kind="mean",
                value_col="sessions",
                lower=0.0,
                upper=MAX_SESSIONS_PER_WEEK,
            ),
            Measure(
                name="avg_minutes_per_learner",
                kind="mean",
                value_col="minutes",
                lower=0.0,
                upper=context.job_bounds.upper,
            ),
        ],
        epsilon_fraction=0.45,
        public_groups=groups,
    )
    churned = aggregate(
        churned_learners(inputs, weeks),
        context,
        group_cols=["tenant_id", "week_start"],
        measures=[Measure(name="churned_learners", kind="distinct_count")],
        epsilon_fraction=0.15,
        public_groups=groups,
    ).select(
        "tenant_id", "week_start", "churned_learners", F.col("noise_scales").alias("churn_scales")
    )
    banded = per_learner.join(
        inputs.learners.select("learner_id_hash", "age_band", "grade_band"),
        "learner_id_hash",
        "left",
    ).fillna({"age_band": "not_provided", "grade_band": "not_provided"})
    ages = band_distribution(
        banded, context, inputs, weeks, "age_band", AGE_BANDS, 0.15, "age_band_distribution"
    )
    grades = band_distribution(
        banded, context, inputs, weeks, "grade_band", GRADE_BANDS, 0.15, "grade_band_distribution"
    )
    enrolled = aggregate(
        inputs.learners.where(
            F.col("enrolled_at").isNull() | (F.to_date("enrolled_at") <= F.lit(context.scope.end))
        ),
        context,
        group_cols=["tenant_id"],
        measures=[Measure(name="enrolled", kind="distinct_count")],
        epsilon_fraction=0.10,
        public_groups=public_keys(inputs, {"tenant_id": tenants}),
        max_partitions=1,
    ).select("tenant_id", "enrolled")
    empty_map = F.create_map().cast("map<string,double>")
    # Shape: one row per (tenant, week) of the period.
    return (
        activity.join(churned, ["tenant_id", "week_start"], "left")
        .join(ages, ["tenant_id", "week_start"], "left")
        .join(grades, ["tenant_id", "week_start"], "left")
        .join(enrolled, "tenant_id", "left")
        .withColumn("iso_week", iso_week_label(F.col("week_start")))
        .withColumn("new_learners", F.round("new_learners").cast("long"))
        .withColumn("returning_learners", F.round("returning_learners").cast("long"))
        .transform(lambda df: with_consistent_week(df, context.k_threshold, context.level.is_dp))
        .withColumn(
            "engagement_rate",
            F.when(
                F.col("enrolled") > 0,
                F.least(F.lit(1.0), F.col("active_learners") / F.col("enrolled")),
            ),
        )
        .withColumn(
            "noise_scales",
            F.map_concat(
                "noise_scales",
                F.coalesce(
                    F.map_filter("churn_scales", lambda k, _v: k == "churned_learners"), empty_map
                ),
            ),
        )
        .transform(with_metrics_nulled_when_insufficient)
        .drop(
            "churn_scales",
            *(f"{bands}_{extra}" for bands in BAND_MAPS for extra in ("scale", "margin")),
            "enrolled",
        )
    )


BAND_MAPS: dict[str, tuple[str, ...]] = {
    "age_band_distribution": AGE_BANDS,
    "grade_band_distribution": GRADE_BANDS,
}


def with_consistent_week(df: DataFrame, k: int, is_dp: bool) -> DataFrame:
    """Under DP, a week's counts made consistent, then small bands nulled.

    Active learners, the bands and new + returning agree after it; a band under k plus
    its error bar is then null (small cells). Exact releases pass through. Only noisy
    values and their scales are read (post-processing). The published error bars stay
    those of the noisy measurements, an upper bound for the consistent values.
    """
    if not is_dp:
        return df
    scales = F.col("noise_scales")
    band_columns = {
        name: {band: f"__{name}_{band}" for band in bands} for name, bands in BAND_MAPS.items()
    }
    for name, columns in band_columns.items():
        df = df.withColumns({c: F.col(name)[band] for band, c in columns.items()})
    partitions = {
        "new_or_returning": Partition(
            ("new_learners", "returning_learners"),
            (scales["new_learners"], scales["returning_learners"]),
        ),
        **{
            name: Partition(tuple(columns.values()), tuple(F.col(f"{name}_scale") for _ in columns))
            for name, columns in band_columns.items()
        },
    }
    df = with_consistent_parts(df, "active_learners", scales["active_learners"], partitions)
    for name, columns in band_columns.items():
        # As the engine does: k = 0 suppresses nothing, else k plus the error bar.
        threshold = F.lit(k) + F.ceil(F.col(f"{name}_margin")) if k > 0 else F.lit(0)
        entries = [
            (F.lit(band), F.when(F.col(c) >= threshold, F.col(c)).cast("long"))
            for band, c in columns.items()
        ]
        df = df.withColumn(name, F.create_map(*[x for entry in entries for x in entry]))
    return df.drop(*(c for columns in band_columns.values() for c in columns.values()))


def with_metrics_nulled_when_insufficient(df: DataFrame) -> DataFrame:
    """Null the metrics joined from other releases where the activity release is suppressed."""
    joined = (
        "churned_learners",
        "age_band_distribution",
        "grade_band_distribution",
        "engagement_rate",
    )
    for name in joined:
        df = df.withColumn(name, F.when(~F.col("insufficient_data"), F.col(name)))
    return df
