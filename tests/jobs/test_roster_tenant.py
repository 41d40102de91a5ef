"""A learner belongs to one tenant: events filed under another tenant are quarantined.

Otherwise one learner's activity would be counted, and charged, under two tenant ledgers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contracts.raw import COURSES, EVENTS, IEP_GOALS, LEARNERS, TENANTS
from contracts.spark_types import spark_schema
from jobs.prepare import RawTables, Scope, prepare_inputs
from jobs.validation import REASON_LEARNER_IN_TWO_TENANTS, REASON_TENANT_MISMATCH

A = "00000000-0000-4000-8000-00000000000a"
B = "00000000-0000-4000-8000-00000000000b"
ALICE = "10000000-0000-4000-8000-000000000001"  # rostered in A
BOB = "10000000-0000-4000-8000-000000000002"  # rostered in A and in B (a roster error)
CAROL = "10000000-0000-4000-8000-000000000003"  # not rostered at all
AT = dt.datetime(2025, 1, 10, 9, 0)
SCOPE_DAY = dt.date(2025, 1, 10)


def learner_row(learner_id: str, tenant: str) -> tuple[Any, ...]:
    return (learner_id, tenant, None, None, None, None, None, None, 5, None, False, None)


def session(event_id: str, learner_id: str, tenant: str) -> tuple[Any, ...]:
    start = AT - dt.timedelta(minutes=30)
    return (event_id, tenant, learner_id, "session", AT, None, "math", start, AT, None) + (
        None,
    ) * 4


def raw_tables(spark: SparkSession) -> RawTables:
    learners = [learner_row(ALICE, A), learner_row(BOB, A), learner_row(BOB, B)]
    events = [
        session("alice-home", ALICE, A),
        session("alice-elsewhere", ALICE, B),
        session("bob-a", BOB, A),
        session("bob-b", BOB, B),
        session("carol", CAROL, B),
    ]
    registry = [(t, f"District {t[-1]}", None, dt.date(2020, 1, 1)) for t in (A, B)]
    return RawTables(
        tenants=spark.createDataFrame(registry, spark_schema(TENANTS)),
        learners=spark.createDataFrame(learners, spark_schema(LEARNERS)),
        events=spark.createDataFrame(events, spark_schema(EVENTS)),
        iep_goals=spark.createDataFrame([], spark_schema(IEP_GOALS)),
        courses=spark.createDataFrame([], spark_schema(COURSES)),
    )


def prepared(spark: SparkSession, tenant: str | None):
    scope = Scope(SCOPE_DAY, SCOPE_DAY, tenant, dt.datetime(2025, 3, 1))
    return prepare_inputs(raw_tables(spark), scope, lambda c: F.upper(c))


def test_event_under_another_tenant_than_the_roster_is_quarantined(spark: SparkSession) -> None:
    inputs = prepared(spark, None)
    reasons = {
        r.event_id: r.rejection_reason
        for r in inputs.checked_events.select("event_id", "rejection_reason").collect()
    }
    assert reasons == {
        "alice-home": None,
        "alice-elsewhere": REASON_TENANT_MISMATCH,
        # listed under two tenants: no single roster tenant, so neither tenant counts it
        "bob-a": REASON_TENANT_MISMATCH,
        "bob-b": REASON_TENANT_MISMATCH,
        # not on any roster: left to its event's tenant
        "carol": None,
    }
    used = {(r.learner_id_hash, r.tenant_id) for r in inputs.events.collect()}
    assert used == {(ALICE.upper(), A), (CAROL.upper(), B)}
    # History (first activity, churn) follows the same rule.
    assert {(r.learner_id_hash, r.tenant_id) for r in inputs.history.collect()} == used
    quarantined = {
        (r.source_table, r.reason)
        for r in inputs.rejected.select("source_table", "reason").collect()
    }
    assert ("events", REASON_TENANT_MISMATCH) in quarantined
    assert ("learners", REASON_LEARNER_IN_TWO_TENANTS) in quarantined
    assert inputs.learners.where(F.col("learner_id_hash") == BOB.upper()).count() == 0


def test_single_tenant_run_checks_against_every_tenants_roster(spark: SparkSession) -> None:
    # A run of tenant B alone still knows Alice is rostered in A.
    inputs = prepared(spark, B)
    assert [r.event_id for r in inputs.events.select("event_id").collect()] == ["carol"]
    rejected = inputs.checked_events.where(F.col("rejection_reason") == REASON_TENANT_MISMATCH)
    assert sorted(r.event_id for r in rejected.collect()) == ["alice-elsewhere", "bob-b"]
