"""The ``events`` table, with a planned share of malformed rows.

Row ``id`` of ``spark.range(events)`` is laid out as follows. The first
``events - duplicates`` rows are *base* events, each a pure function of its
index (the *source*). A planned number of them, spaced evenly, are corrupted
with exactly one malformation each, cycling through the kinds. The remaining
rows are duplicates: their source is a hash-chosen valid base row, and as
every column is computed from the source alone they are byte-identical
copies, as at-least-once delivery produces.
"""

from __future__ import annotations

import datetime as dt
import math
from enum import StrEnum

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts.raw import MAX_SESSION_MINUTES, SCORE_RANGE, EventType
from jobs.generator.config import GeneratorConfig
from jobs.generator.courses import course_id, course_subject
from jobs.generator.learners import LearnerModel
from jobs.generator.profiles import LEARNER_CANDIDATES, weeks_in
from jobs.generator.randomness import (
    Salt,
    index_below,
    standard_normal,
    uniform,
    uuid_from,
    weighted_choice,
)

UNKNOWN_EVENT_TYPE = "video_watched"
FUTURE_OFFSET_SECONDS = (dt.date(2099, 1, 1) - dt.date(2025, 1, 1)).days * 86_400  # 2025 -> 2099
OUT_OF_RANGE_SCORES = (SCORE_RANGE[1] + 30.0, SCORE_RANGE[0] - 5.0)  # 130 and -5
MEDIAN_SESSION_MINUTES = 20.0
SESSION_LOG_SIGMA = 1.0  # ~4% of sessions exceed 2 h
LONGEST_VALID_SESSION_MINUTES = 12 * 60
DAY_STARTS_AT_SECOND = 7 * 3_600
ACTIVE_SECONDS_PER_DAY = 15 * 3_600  # events between 07:00 and 22:00 UTC
LESSONS_PER_COURSE = 40
LEARNER_PERMUTATION_PRIMES = (1_000_003, 998_244_353)
VALID_EVENT_MIX: tuple[tuple[EventType, float], ...] = (
    (EventType.SESSION, 0.46),
    (EventType.LESSON_COMPLETED, 0.25),
    (EventType.ASSESSMENT_COMPLETED, 0.15),
    (EventType.COURSE_ENROLLED, 0.04),
    (EventType.COURSE_COMPLETED, 0.03),
    (EventType.IEP_GOAL_MEASUREMENT, 0.07),  # becomes a session for learners without IEP
)


class MalformedKind(StrEnum):
    """The malformations planted in ``events``; each malformed row has exactly one."""

    NULL_LEARNER_ID = "null_learner_id"
    SESSION_ENDS_BEFORE_START = "session_ends_before_start"
    SESSION_TOO_LONG = "session_too_long"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    FUTURE_TIMESTAMP = "future_timestamp"
    SCORE_OUT_OF_RANGE = "score_out_of_range"
    DUPLICATE_EVENT_ID = "duplicate_event_id"


CORRUPTIONS: tuple[MalformedKind, ...] = tuple(
    k for k in MalformedKind if k is not MalformedKind.DUPLICATE_EVENT_ID
)


def planned_malformed_counts(config: GeneratorConfig) -> dict[MalformedKind, int]:
    """Exactly how many rows of each malformed kind ``events`` will contain.

    ``round(events * malformed_rate)`` rows, spread as evenly as possible over
    the kinds (earlier kinds get the remainder).
    """
    total = round(config.events * config.malformed_rate)
    share, remainder = divmod(total, len(MalformedKind))
    return {kind: share + (1 if i < remainder else 0) for i, kind in enumerate(MalformedKind)}


def events_table(spark: SparkSession, model: LearnerModel) -> DataFrame:
    """The raw ``events`` table (columns in contract order, types not yet cast)."""
    config = model.config
    counts = planned_malformed_counts(config)
    duplicates = counts[MalformedKind.DUPLICATE_EVENT_ID]
    corrupted = sum(counts.values()) - duplicates
    base_rows = config.events - duplicates
    return (
        spark.range(0, config.events, 1, config.partition_count)
        .withColumn("_source", _source_row(config.seed, F.col("id"), base_rows, corrupted))
        .withColumn("_kind", _corruption_of(F.col("_source"), base_rows, corrupted))
        .transform(
            lambda df: (
                _with_district_learner(df, model)
                if config.is_district
                else _with_learner(df, model)
            )
        )
        .transform(lambda df: _with_timing(df, config))
        .transform(lambda df: _with_payload(df, model))
        .transform(lambda df: _select_event_columns(df, model))
    )


def _corrupt_ordinal(row: Column, base_rows: int, corrupted: int) -> Column:
    """``floor(row * corrupted / base_rows)``: steps up by one at each corrupted row."""
    return F.floor(row * F.lit(corrupted) / F.lit(base_rows)).cast("long")


def _is_corrupted(row: Column, base_rows: int, corrupted: int) -> Column:
    if corrupted == 0:
        return F.lit(False)
    return _corrupt_ordinal(row + 1, base_rows, corrupted) > _corrupt_ordinal(
        row, base_rows, corrupted
    )


def _corruption_of(source: Column, base_rows: int, corrupted: int) -> Column:
    """The malformed kind of a base row, or null if it is valid."""
    if corrupted == 0:
        return F.lit(None).cast("string")
    kinds = F.array(*[F.lit(k.value) for k in CORRUPTIONS])
    ordinal = _corrupt_ordinal(source, base_rows, corrupted)
    kind = F.element_at(kinds, (F.pmod(ordinal, F.lit(len(CORRUPTIONS))) + 1).cast("int"))
    return F.when(_is_corrupted(source, base_rows, corrupted), kind)


def _source_row(seed: int, row: Column, base_rows: int, corrupted: int) -> Column:
    """The base row a row copies: itself, or for duplicates a hash-chosen valid base row.

    Corrupted rows are never adjacent (at most half the rows are corrupted), so
    a neighbour of a corrupted pick is valid.
    """
    picked = index_below(uniform(seed, Salt.DUPLICATE_SOURCE, row), base_rows)
    neighbour = F.when(picked > 0, picked - 1).otherwise(picked + 1)
    valid_pick = F.when(_is_corrupted(picked, base_rows, corrupted), neighbour).otherwise(picked)
    return F.when(row < F.lit(base_rows), row).otherwise(valid_pick)


def _with_learner(df: DataFrame, model: LearnerModel) -> DataFrame:
    """Choose the event's learner (heavy-tailed activity) and the learner's attributes."""
    learners = model.layout.learner_count
    prime = next(p for p in LEARNER_PERMUTATION_PRIMES if learners % p != 0)
    source = F.col("_source")
    # u**2 makes low ranks busy; a multiplicative permutation scatters busy ranks over tenants.
    rank = index_below(F.pow(uniform(model.seed, Salt.PICK_LEARNER, source), 2), learners)
    learner = F.pmod(rank * F.lit(prime) + F.lit(model.seed % learners), F.lit(learners))
    return (
        df.withColumn("_learner", learner.cast("long"))
        .withColumn("_tenant", model.tenant_index(F.col("_learner")))
        .withColumns(
            {
                "_has_iep": model.has_iep(F.col("_learner")),
                "_first_day": model.first_day(F.col("_learner")),
                "_last_day": model.last_day(F.col("_learner")),
                "_stride": model.active_stride(F.col("_learner")),
                "_tenant_courses": model.layout.courses_of(F.col("_tenant")),
            }
        )
    )


def _with_district_learner(df: DataFrame, model: LearnerModel) -> DataFrame:
    """District profile: the event's learner, week and school day, and learner attributes.

    Events go to learners active in the window (every learner is equally likely among
    them: the first of a few random candidates with an active week), then to one of
    that learner's active weeks and one of its school days in that week. So weekly and
    monthly active learners follow each learner's activity, not the event volume.
    """
    seed, source = model.seed, F.col("_source")
    weeks = F.sequence(F.lit(0).cast("long"), F.lit(weeks_in(model.config.days) - 1).cast("long"))

    def active_weeks(learner: Column) -> Column:
        return F.filter(weeks, lambda week: model.is_active_week(learner, week))

    tries = F.sequence(F.lit(1).cast("long"), F.lit(LEARNER_CANDIDATES).cast("long"))
    candidates = F.transform(
        tries,
        lambda t: index_below(
            uniform(seed, Salt.PICK_LEARNER, source, t), model.layout.learner_count
        ),
    )
    active = F.filter(candidates, lambda c: F.size(active_weeks(c)) > 0)
    # All candidates inactive (about 1 event in 100,000): keep the first one anyway.
    df = df.withColumn("_learner", F.coalesce(F.get(active, 0), F.get(candidates, 0)))
    learner = F.col("_learner")
    df = df.withColumn("_weeks", active_weeks(learner))
    picked = index_below(
        uniform(seed, Salt.PICK_WEEK, source), F.greatest(F.size("_weeks"), F.lit(1))
    )
    week = F.coalesce(
        F.get(F.col("_weeks"), picked.cast("int")), F.floor(model.first_day(learner) / 7)
    ).cast("long")
    return (
        df.withColumn("_tenant", model.tenant_index(learner))
        .withColumns(
            {
                "_has_iep": model.has_iep(learner),
                "_first_day": model.first_day(learner),
                "_last_day": model.last_day(learner),
                "_tenant_courses": model.layout.courses_of(F.col("_tenant")),
                "_day": model.school_day(learner, week, uniform(seed, Salt.EVENT_DAY, source)),
            }
        )
        .drop("_weeks")
    )


def _with_timing(df: DataFrame, config: GeneratorConfig) -> DataFrame:
    """Event day (on the learner's active days), time of day and session length, in seconds."""
    seed, source = config.seed, F.col("_source")
    if "_day" in df.columns:  # the district profile picks the day with the learner
        day = F.col("_day")
    else:
        first, last, stride = F.col("_first_day"), F.col("_last_day"), F.col("_stride")
        active_days = F.floor((last - first) / stride).cast("long") + 1
        day = first + stride * index_below(uniform(seed, Salt.EVENT_DAY, source), active_days)
    hour_mix = (uniform(seed, Salt.HOUR_A, source) + uniform(seed, Salt.HOUR_B, source)) / 2
    second_of_day = F.lit(DAY_STARTS_AT_SECOND) + index_below(hour_mix, ACTIVE_SECONDS_PER_DAY)
    z = standard_normal(seed, Salt.DURATION_A, Salt.DURATION_B, source)
    minutes = F.exp(F.lit(math.log(MEDIAN_SESSION_MINUTES)) + F.lit(SESSION_LOG_SIGMA) * z)
    duration = F.least(
        F.greatest(F.round(minutes * 60).cast("long"), F.lit(60)),
        F.lit(LONGEST_VALID_SESSION_MINUTES * 60),
    )
    bad_duration = F.lit(int(MAX_SESSION_MINUTES * 60) + 60) + index_below(
        uniform(seed, Salt.BAD_DURATION, source), 2 * 86_400
    )
    return df.withColumns(
        {
            "_at": F.lit(config.window_start_seconds) + day * 86_400 + second_of_day,
            "_duration": duration,
            "_bad_duration": bad_duration,
            "_day": day,
        }
    )


def _event_type(df_has_iep: Column, kind: Column, seed: int, source: Column) -> Column:
    mix = weighted_choice(
        uniform(seed, Salt.EVENT_TYPE, source),
        [t.value for t, _ in VALID_EVENT_MIX],
        [w for _, w in VALID_EVENT_MIX],
    )
    valid = F.when(
        (mix == F.lit(EventType.IEP_GOAL_MEASUREMENT.value)) & ~df_has_iep,
        F.lit(EventType.SESSION.value),
    ).otherwise(mix)
    forced_session = kind.isin(
        MalformedKind.SESSION_ENDS_BEFORE_START.value, MalformedKind.SESSION_TOO_LONG.value
    )
    return (
        F.when(forced_session, F.lit(EventType.SESSION.value))
        .when(
            kind == F.lit(MalformedKind.SCORE_OUT_OF_RANGE.value),
            F.lit(EventType.ASSESSMENT_COMPLETED.value),
        )
        .when(kind == F.lit(MalformedKind.UNKNOWN_EVENT_TYPE.value), F.lit(UNKNOWN_EVENT_TYPE))
        .otherwise(valid)
    )


def _with_payload(df: DataFrame, model: LearnerModel) -> DataFrame:
    """Event type, course, timestamps and type-specific fields, applying the corruption."""
    config, seed, source = model.config, model.seed, F.col("_source")
    kind, learner = F.col("_kind"), F.col("_learner")
    slot = index_below(
        uniform(seed, Salt.COURSE_SLOT, source),
        model.course_count(learner, F.col("_tenant_courses")),
    )
    course = model.course_index(learner, F.col("_tenant"), F.col("_tenant_courses"), slot)
    goal_number = index_below(uniform(seed, Salt.GOAL_SLOT, source), model.goal_count(learner)) + 1
    df = df.withColumns(
        {
            "_type": _event_type(F.col("_has_iep"), kind, seed, source),
            "_course": course,
            "_goal_number": goal_number,
            "_session_end": F.least(
                F.col("_at") + F.col("_duration"), F.lit(config.window_end_seconds - 1)
            ),
        }
    )
    end = F.col("_session_end")
    start = end - F.when(
        kind == F.lit(MalformedKind.SESSION_TOO_LONG.value), F.col("_bad_duration")
    ).otherwise(F.col("_duration"))
    swapped = kind == F.lit(MalformedKind.SESSION_ENDS_BEFORE_START.value)
    shift = F.when(
        kind == F.lit(MalformedKind.FUTURE_TIMESTAMP.value), F.lit(FUTURE_OFFSET_SECONDS)
    ).otherwise(F.lit(0))
    return df.withColumns(
        {
            "_session_start": F.when(swapped, end).otherwise(start) + shift,
            "_session_end": F.when(swapped, start).otherwise(end) + shift,
            "_at": F.col("_at") + shift,
        }
    )


def _is(event_type: EventType) -> Column:
    return F.col("event_type") == F.lit(event_type.value)


def _select_event_columns(df: DataFrame, model: LearnerModel) -> DataFrame:
    """Project to the contract's columns; type-specific fields are null for other types."""
    seed, source, learner = model.seed, F.col("_source"), F.col("_learner")
    kind = F.col("_kind")
    goal_number = F.col("_goal_number")
    score = F.round(
        F.least(
            F.greatest(
                F.lit(72.0) + 16.0 * standard_normal(seed, Salt.SCORE_A, Salt.SCORE_B, source),
                F.lit(SCORE_RANGE[0]),
            ),
            F.lit(SCORE_RANGE[1]),
        ),
        1,
    )
    bad_score = F.when(
        uniform(seed, Salt.BAD_SCORE, source) < F.lit(0.5), F.lit(OUT_OF_RANGE_SCORES[0])
    ).otherwise(F.lit(OUT_OF_RANGE_SCORES[1]))
    baseline = model.goal_baseline(learner, goal_number)
    progress = F.col("_day") / F.lit(float(model.config.days))
    noise = (uniform(seed, Salt.MEASUREMENT_NOISE, source) - 0.5) * 12.0
    measurement = baseline + (model.goal_target(learner, goal_number) - baseline) * progress
    with_course = ~_is(EventType.IEP_GOAL_MEASUREMENT)
    course = course_id(seed, F.col("_course"))
    typed = df.withColumn("event_type", F.col("_type")).withColumn("course_id", course)
    return typed.select(
        uuid_from(seed, Salt.EVENT_ID, source).alias("event_id"),
        model.tenant_id(F.col("_tenant")).alias("tenant_id"),
        F.when(
            kind.isNull() | (kind != F.lit(MalformedKind.NULL_LEARNER_ID.value)),
            model.learner_id(learner),
        ).alias("learner_id"),
        F.col("event_type"),
        F.timestamp_seconds(
            F.when(_is(EventType.SESSION), F.col("_session_end")).otherwise(F.col("_at"))
        ).alias("occurred_at"),
        F.when(with_course, F.col("course_id")).alias("course_id"),
        F.when(with_course, course_subject(seed, model.layout, F.col("_course"))).alias("subject"),
        F.when(_is(EventType.SESSION), F.timestamp_seconds(F.col("_session_start"))).alias(
            "session_started_at"
        ),
        F.when(_is(EventType.SESSION), F.timestamp_seconds(F.col("_session_end"))).alias(
            "session_ended_at"
        ),
        F.when(
            _is(EventType.LESSON_COMPLETED),
            F.concat(
                F.substring(F.col("course_id"), 1, 8),
                F.lit("-L"),
                F.lpad(
                    (index_below(uniform(seed, Salt.LESSON, source), LESSONS_PER_COURSE) + 1).cast(
                        "string"
                    ),
                    2,
                    "0",
                ),
            ),
        ).alias("lesson_id"),
        F.when(
            _is(EventType.ASSESSMENT_COMPLETED),
            F.when(kind == F.lit(MalformedKind.SCORE_OUT_OF_RANGE.value), bad_score).otherwise(
                score
            ),
        ).alias("score"),
        F.when(
            _is(EventType.ASSESSMENT_COMPLETED),
            weighted_choice(uniform(seed, Salt.ATTEMPT, source), (1, 2, 3), (0.7, 0.22, 0.08)),
        )
        .cast("int")
        .alias("attempt"),
        F.when(_is(EventType.IEP_GOAL_MEASUREMENT), model.goal_id(learner, goal_number)).alias(
            "goal_id"
        ),
        F.when(
            _is(EventType.IEP_GOAL_MEASUREMENT),
            F.round(F.least(F.greatest(measurement + noise, F.lit(0.0)), F.lit(100.0)), 1),
        ).alias("measurement"),
    )
