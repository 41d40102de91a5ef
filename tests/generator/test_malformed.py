from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from contracts.raw import MAX_SESSION_MINUTES, SCORE_RANGE, EventType
from jobs.generate import MalformedKind, planned_malformed_counts
from tests.generator.conftest import SCALE

FUTURE = dt.datetime(2090, 1, 1, tzinfo=dt.UTC)


def _session_seconds() -> Column:
    return F.unix_timestamp("session_ended_at") - F.unix_timestamp("session_started_at")


def _defects() -> dict[MalformedKind, Column]:
    """Each malformation as the validation would detect it, independent of the generator."""
    is_session = F.col("event_type") == EventType.SESSION.value
    return {
        MalformedKind.NULL_LEARNER_ID: F.col("learner_id").isNull(),
        MalformedKind.SESSION_ENDS_BEFORE_START: is_session & (_session_seconds() < 0),
        MalformedKind.SESSION_TOO_LONG: is_session
        & (_session_seconds() > MAX_SESSION_MINUTES * 60),
        MalformedKind.UNKNOWN_EVENT_TYPE: ~F.col("event_type").isin(*[t.value for t in EventType]),
        MalformedKind.FUTURE_TIMESTAMP: F.col("occurred_at") >= F.lit(FUTURE),
        MalformedKind.SCORE_OUT_OF_RANGE: ~F.col("score").between(*SCORE_RANGE),
    }


def test_each_kind_has_its_planned_count_and_rows_have_one_defect(
    raw: dict[str, DataFrame],
) -> None:
    planned = planned_malformed_counts(SCALE)
    assert abs(sum(planned.values()) - SCALE.events * SCALE.malformed_rate) <= 1
    assert min(planned.values()) >= 20
    defects = _defects()
    flags = [
        F.coalesce(cond, F.lit(False)).cast("int").alias(kind.value)
        for kind, cond in defects.items()
    ]
    flagged = raw["events"].select(*flags)
    totals = flagged.agg(
        *[F.sum(kind.value).alias(kind.value) for kind in defects],
        F.max(sum((F.col(kind.value) for kind in defects), F.lit(0))).alias("most_per_row"),
    ).first()
    assert totals is not None
    for kind in defects:
        assert totals[kind.value] == planned[kind], kind
    assert totals["most_per_row"] == 1


def test_duplicates_are_byte_identical_copies(raw: dict[str, DataFrame]) -> None:
    events = raw["events"]
    duplicates = planned_malformed_counts(SCALE)[MalformedKind.DUPLICATE_EVENT_ID]
    assert events.count() - events.distinct().count() == duplicates
    assert events.select("event_id").distinct().count() == SCALE.events - duplicates


def test_valid_rows_lie_in_the_window(raw: dict[str, DataFrame]) -> None:
    any_defect = F.lit(False)
    for condition in _defects().values():
        any_defect = any_defect | F.coalesce(condition, F.lit(False))
    valid = raw["events"].where(~any_defect)
    start = F.lit(dt.datetime.combine(SCALE.start, dt.time(), dt.UTC))
    end = F.lit(dt.datetime.combine(SCALE.start + dt.timedelta(days=SCALE.days), dt.time(), dt.UTC))
    outside = [
        F.col(c).isNotNull() & ((F.col(c) < start) | (F.col(c) >= end))
        for c in ("occurred_at", "session_started_at", "session_ended_at")
    ]
    assert valid.where(outside[0] | outside[1] | outside[2]).count() == 0
    sessions = valid.where(F.col("event_type") == EventType.SESSION.value)
    assert sessions.where(F.col("occurred_at") != F.col("session_ended_at")).count() == 0
    scored = valid.where(F.col("event_type") == EventType.ASSESSMENT_COMPLETED.value)
    assert scored.where(F.col("score").isNull() | ~F.col("attempt").between(1, 3)).count() == 0
