"""Column helpers and per-learner activity folds shared by the course, platform and learner jobs.

Folding events into one row per learner and partition first (a learner-day, a
learner-course, a learner-period) makes each learner contribute exactly one row
(``C = 1``) whose values are then clamped to domain caps: the contribution
bound the DP sensitivities rest on, computed with built-in aggregates only.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from contracts.raw import SCORE_RANGE, EventType
from jobs.release import ReleaseContext
from jobs.transforms.common import aggregate
from privacy_udfs import Measure


def is_event(event_type: EventType) -> Column:
    """True for events of ``event_type``."""
    return F.col("event_type") == F.lit(event_type.value)


def is_scored_assessment() -> Column:
    """True for completed assessments that carry a score."""
    return is_event(EventType.ASSESSMENT_COMPLETED) & F.col("score").isNotNull()


def count_of(condition: Column) -> Column:
    """Number of rows where ``condition`` holds, as a double (a value to clamp and sum)."""
    return F.count(F.when(condition, F.lit(1))).cast("double")


def sum_of(value: str, condition: Column) -> Column:
    """Sum of ``value`` over the rows where ``condition`` holds; 0.0 when there are none."""
    return F.coalesce(F.sum(F.when(condition, F.col(value))), F.lit(0.0)).cast("double")


def bounded_ratio(numerator: str, denominator: str, upper: float) -> Column:
    """``numerator / denominator`` clamped to [0, upper]; null unless the denominator is positive.

    Ratios of two noisy sums can fall outside the domain or divide by a noisy
    zero: clamping and nulling them is post-processing and costs no ε.
    """
    value = F.col(numerator) / F.col(denominator)
    return F.when(F.col(denominator) > 0, F.least(F.greatest(value, F.lit(0.0)), F.lit(upper)))


def mean_score(score_total: str, assessments: str) -> Column:
    """Mean assessment score from a score sum and an assessment count, within the score range."""
    return bounded_ratio(score_total, assessments, SCORE_RANGE[1])


def with_learner_activity(group_cols: Sequence[str]) -> Callable[[DataFrame], DataFrame]:
    """Fold events into one row per (learner, ``group_cols``) with the activity counts.

    Shape: valid events -> (learner_id_hash, *group_cols, sessions, minutes, lessons,
    assessments, retries, score_total), one row per learner and group.
    """

    def transform(events: DataFrame) -> DataFrame:
        is_session = is_event(EventType.SESSION)
        return events.groupBy("learner_id_hash", *group_cols).agg(
            count_of(is_session).alias("sessions"),
            sum_of("duration_minutes", is_session).alias("minutes"),
            count_of(is_event(EventType.LESSON_COMPLETED)).alias("lessons"),
            count_of(is_scored_assessment()).alias("assessments"),
            count_of(is_scored_assessment() & (F.col("attempt") > 1)).alias("retries"),
            sum_of("score", is_scored_assessment()).alias("score_total"),
            F.max(is_event(EventType.COURSE_COMPLETED).cast("double")).alias("completed"),
        )

    return transform


DAYS_PER_MONTH = 31
# Per learner and 31 days: a session a day, a lesson and half an assessment per school
# day. A sum's noise is proportional to its cap, so the caps sit just above what heavy
# learners do, not at what is physically possible: on the district profile
# (`jobs.generate --profile district`) learner-months have a mean of 8.7 sessions (99th
# percentile 26), 4.1 lessons (max 19) and 2.5 scored assessments (max 15); these caps
# lose 0.1 %, 0 % and 0 % of them, where the earlier 60 / 90 / 60 lost nothing either
# and cost 2×, 4.5× and 4× the noise. Minutes come from each job's ``upper`` in
# conf/bounds.toml.
CAPS_PER_MONTH: dict[str, float] = {"sessions": 30.0, "lessons": 20.0, "assessments": 15.0}


def period_months(period_days: int) -> int:
    """Number of (started) 31-day months in a period of ``period_days``: the caps' multiplier."""
    return max(1, math.ceil(period_days / DAYS_PER_MONTH))


def period_cap(name: str, period_days: int) -> float:
    """Per-learner cap of ``name`` (sessions, lessons, assessments) over a period."""
    return CAPS_PER_MONTH[name] * period_months(period_days)


def active_tenants(
    activity: DataFrame,
    context: ReleaseContext,
    *,
    key_col: str,
    grid: DataFrame,
    epsilon_fraction: float,
) -> DataFrame:
    """Per ``key_col`` value, the tenants with at least one active learner.

    The per-(key, tenant) distinct-learner counts are aggregated over the public
    ``grid`` (tenants × keys) with ``k_threshold = 1`` and never published: only how
    many pass the threshold of 1. Exact at ``anonymized``; under DP the decision is
    on the noisy count (discrete Laplace, sensitivity L), so it is post-processing of
    that release, biased upward where many tenants are idle and ε is small.

    Shape: one row per learner and partition -> (key_col, active_tenants), one row per grid key.
    """
    per_tenant = aggregate(
        activity,
        dataclasses.replace(context, k_threshold=1),
        group_cols=[key_col, "tenant_id"],
        measures=[Measure(name="active_learners", kind="distinct_count")],
        epsilon_fraction=epsilon_fraction,
        public_groups=grid,
        max_rows_per_partition=1,
    )
    # Shape: one row per (key, tenant) of the grid -> noisy learners, insufficient when < 1.
    return per_tenant.groupBy(key_col).agg(
        F.count(F.when(~F.col("insufficient_data"), F.lit(1))).alias("active_tenants")
    )
