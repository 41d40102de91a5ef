"""Every malformed raw event gets a named reason; duplicates are counted once."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from contracts.raw import EVENTS
from contracts.spark_types import spark_schema
from jobs.validation import with_duplicates_flagged, with_rejection_reason

NOW = dt.datetime(2025, 3, 1)
T = "00000000-0000-4000-8000-00000000000a"
L = "10000000-0000-4000-8000-000000000001"
C = "20000000-0000-4000-8000-000000000001"
START = dt.datetime(2025, 1, 10, 9, 0)


def raw_event(
    event_id,
    *,
    learner=L,
    event_type="session",
    occurred=START,
    start=START,
    end=START + dt.timedelta(minutes=30),
    score=None,
    subject="math",
    tenant=T,
):
    return (
        event_id,
        tenant,
        learner,
        event_type,
        occurred,
        C,
        subject,
        start,
        end,
        None,
        score,
        None,
        None,
        None,
    )


def test_each_malformed_kind_gets_its_reason(spark: SparkSession) -> None:
    rows = [
        raw_event("ok"),
        raw_event("no-learner", learner=None),
        raw_event("backwards", end=START - dt.timedelta(minutes=5)),
        raw_event("marathon", end=START + dt.timedelta(hours=30)),
        raw_event("video", event_type="video_watched"),
        raw_event("future", occurred=dt.datetime(2099, 1, 1)),
        raw_event("high-score", event_type="assessment_completed", score=130.0),
        raw_event("low-score", event_type="assessment_completed", score=-5.0),
        raw_event("bad-tenant", tenant="not-a-uuid"),
        raw_event("odd-subject", subject="ßpell 😀"),
    ]
    actual_df = (
        spark.createDataFrame(rows, spark_schema(EVENTS))
        .transform(with_rejection_reason(NOW))
        .select("event_id", "rejection_reason")
    )
    expected_df = spark.createDataFrame(
        [
            ("ok", None),
            ("no-learner", "null learner_id"),
            ("backwards", "session ends before it starts"),
            ("marathon", "session longer than 24 h"),
            ("video", "unknown event_type"),
            ("future", "occurred_at in the future"),
            ("high-score", "score out of range"),
            ("low-score", "score out of range"),
            ("bad-tenant", "tenant_id is not a UUID"),
            ("odd-subject", "unknown subject"),
        ],
        "event_id string, rejection_reason string",
    )
    assert_df_equality(
        actual_df, expected_df, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
    )


def test_duplicates_keep_exactly_one_copy(spark: SparkSession) -> None:
    rows = [raw_event("dup"), raw_event("dup"), raw_event("dup"), raw_event("single")]
    flagged = (
        spark.createDataFrame(rows, spark_schema(EVENTS))
        .transform(with_rejection_reason(NOW))
        .transform(with_duplicates_flagged)
    )
    actual_df = flagged.groupBy("event_id", "rejection_reason").count()
    expected_df = spark.createDataFrame(
        [("dup", None, 1), ("dup", "duplicate event_id", 2), ("single", None, 1)],
        "event_id string, rejection_reason string, count long",
    )
    assert_df_equality(
        actual_df, expected_df, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
    )


def test_the_same_event_id_in_two_tenants_is_two_events(spark: SparkSession) -> None:
    other = "00000000-0000-4000-8000-00000000000b"
    rows = [raw_event("e1"), raw_event("e1", tenant=other)]
    flagged = (
        spark.createDataFrame(rows, spark_schema(EVENTS))
        .transform(with_rejection_reason(NOW))
        .transform(with_duplicates_flagged)
    )
    assert flagged.where("rejection_reason IS NULL").count() == 2


def test_a_rejected_copy_does_not_hide_the_valid_one(spark: SparkSession) -> None:
    rows = [raw_event("e1", learner=None), raw_event("e1")]
    flagged = (
        spark.createDataFrame(rows, spark_schema(EVENTS))
        .transform(with_rejection_reason(NOW))
        .transform(with_duplicates_flagged)
    )
    reasons = sorted(str(r.rejection_reason) for r in flagged.collect())
    assert reasons == ["None", "null learner_id"]


def test_tenant_registry_rows_are_checked_and_one_row_per_tenant_is_kept(
    spark: SparkSession,
) -> None:
    from contracts.raw import TENANTS
    from jobs.prepare import registry_rows, validate_tenants
    from tests.reliability.rawdata import feed_schema

    joined = dt.date(2021, 8, 1)
    good = ("00000000-0000-4000-8000-000000000001", "Salem Public Schools", "OR", joined)
    twice = ("00000000-0000-4000-8000-000000000002", "Dover Academy Network", None, joined)
    conflict = "00000000-0000-4000-8000-000000000003"
    rows = [
        good,
        twice,
        twice,  # an identical copy: one is kept
        (conflict, "Milton County Schools", "WA", joined),
        (conflict, "Milton County Schools", "WA", dt.date(2022, 1, 3)),  # which date is right?
        ("not-a-uuid", "Franklin Public Schools", "TX", joined),
        (None, "Clinton Public Schools", "TX", joined),
        ("00000000-0000-4000-8000-000000000004", "Ashland Academy Network", "CA", None),
    ]
    checked = validate_tenants(spark.createDataFrame(rows, feed_schema(TENANTS))).cache()
    reasons = sorted(
        (r.tenant_id or "", r.rejection_reason or "")
        for r in checked.select("tenant_id", "rejection_reason").collect()
    )
    listed_twice = "tenant_id listed more than once with different values"
    assert reasons == [
        ("", "tenant_id is not a UUID"),
        (good[0], ""),
        (twice[0], ""),
        (twice[0], "duplicate tenant_id"),
        (conflict, listed_twice),
        (conflict, listed_twice),
        ("00000000-0000-4000-8000-000000000004", "joined_on is missing"),
        ("not-a-uuid", "tenant_id is not a UUID"),
    ]
    registry = registry_rows(checked)
    assert registry.columns == [c.name for c in TENANTS]
    assert sorted(tuple(r) for r in registry.collect()) == sorted([good, twice])
