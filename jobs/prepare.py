"""Extract and prepare: raw tables in, validated pseudonymous inputs out.

This is the only module that sees raw learner ids and PII. It validates
events, marks duplicates, hashes learner ids with the keyed pseudonym and
drops every PII column before anything else in the pipeline runs. All
transforms downstream receive :class:`PreparedInputs`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from contracts.raw import EventType
from jobs.validation import (
    MAX_ID_LENGTH,
    REASON_LEARNER_IN_TWO_TENANTS,
    is_uuid,
    roster_tenants,
    session_minutes,
    with_duplicates_flagged,
    with_rejection_reason,
    with_roster_tenant_checked,
)
from privacy_udfs import PseudonymKey, generalize_age, generalize_grade, hash_id
from privacy_udfs.local_frames import local_frame

Pseudonymizer = Callable[[Column], Column]


@dataclass(frozen=True)
class RawTables:
    """The raw tables as read (contract-checked, PII included)."""

    tenants: DataFrame
    learners: DataFrame
    events: DataFrame
    iep_goals: DataFrame
    courses: DataFrame


@dataclass(frozen=True)
class Scope:
    """What a run covers: a period (inclusive, UTC days) and optionally one tenant."""

    start: dt.date
    end: dt.date
    tenant_id: str | None
    now: dt.datetime
    # First day of the history read for first-activity dates (new / returning / churned);
    # None reads all history. DP runs bound it to the start of the accounting window of
    # ``start``, so the history they read is charged to no window beyond their period's.
    history_start: dt.date | None = None

    def in_tenant(self, df: DataFrame) -> DataFrame:
        """Keep the rows of the scope's tenant (all rows when it covers every tenant)."""
        return (
            df if self.tenant_id is None else df.where(F.col("tenant_id") == F.lit(self.tenant_id))
        )

    def period_days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class PreparedInputs:
    """Pseudonymous, validated inputs of every job. No raw id, no PII.

    Attributes:
        checked_events: Raw in-scope events with ``rejection_reason`` (PII; cache it
            so validation, counting and quarantine share one pass over raw events).
        events: Valid, de-duplicated events of the period (one row per event).
        history: Valid events up to the period end (for first-activity dates).
        learners: One row per learner: learner_id_hash, tenant_id, age_band,
            grade_band, has_iep, enrolled_at.
        iep_goals: Goals keyed by learner_id_hash.
        courses: Course catalogue (not PII).
        tenants: The valid rows of the tenant registry (tenant_id, name, state_province,
            joined_on), one per tenant: the public list of tenants (not PII).
        rejected: Raw rows rejected, with ``source_table``, ``tenant_id``,
            ``reason`` and ``raw_row`` (JSON, PII) for the quarantine table.
    """

    checked_events: DataFrame
    events: DataFrame
    history: DataFrame
    learners: DataFrame
    iep_goals: DataFrame
    courses: DataFrame
    tenants: DataFrame
    rejected: DataFrame


def _rejected_rows(df: DataFrame, source_table: str) -> DataFrame:
    # Shape: one row per rejected raw row -> (source_table, tenant_id, reason, raw_row JSON)
    payload = [c for c in df.columns if c != "rejection_reason"]
    return df.where(F.col("rejection_reason").isNotNull()).select(
        F.lit(source_table).alias("source_table"),
        F.when(is_uuid(F.col("tenant_id")), F.col("tenant_id")).alias("tenant_id"),
        F.col("rejection_reason").alias("reason"),
        F.to_json(F.struct(*payload)).alias("raw_row"),
    )


def events_in_scope(events: DataFrame, scope: Scope) -> DataFrame:
    """Raw events a run is answerable for: its tenant(s), its period, and rows with no usable time.

    Rows without a timestamp or dated in the future belong to no period; every run
    over their tenant quarantines them so they are never silently lost.
    """
    start = dt.datetime.combine(scope.start, dt.time.min)
    end = dt.datetime.combine(scope.end + dt.timedelta(days=1), dt.time.min)
    in_period_rows = (F.col("occurred_at") >= F.lit(start)) & (F.col("occurred_at") < F.lit(end))
    no_usable_time = F.col("occurred_at").isNull() | (F.col("occurred_at") > F.lit(scope.now))
    return scope.in_tenant(events).where(in_period_rows | no_usable_time)


def validate_events(events: DataFrame, scope: Scope, roster: DataFrame) -> DataFrame:
    """Add ``rejection_reason`` to every in-scope event (null = valid).

    ``roster`` is :func:`jobs.validation.roster_tenants` of the raw learners: an event
    filed under a tenant other than its learner's roster tenant is rejected.
    """
    return (
        events_in_scope(events, scope)
        .transform(with_rejection_reason(scope.now))
        .transform(with_roster_tenant_checked(roster))
        .transform(with_duplicates_flagged)
    )


def validate_learners(learners: DataFrame, roster: DataFrame) -> DataFrame:
    """Add ``rejection_reason`` to raw learners: ids must be UUIDs, one tenant per learner.

    ``roster`` (every tenant's learners, see :func:`jobs.validation.roster_tenants`) finds
    learners listed under two tenants: all their rows are rejected.
    """
    in_two_tenants = F.coalesce(F.size("roster_tenants"), F.lit(0)) > 1
    reason = (
        F.when(~is_uuid(F.col("learner_id")), "learner_id is not a UUID")
        .when(~is_uuid(F.col("tenant_id")), "tenant_id is not a UUID")
        .when(F.length("learner_id") > MAX_ID_LENGTH, "learner_id too long")
        .when(in_two_tenants, REASON_LEARNER_IN_TWO_TENANTS)
    )
    return (
        learners.join(roster, on="learner_id", how="left")
        .withColumn("rejection_reason", reason)
        .select(*learners.columns, "rejection_reason")
    )


REASON_DUPLICATE_TENANT = "duplicate tenant_id"
REASON_CONFLICTING_TENANT = "tenant_id listed more than once with different values"


def validate_tenants(tenants: DataFrame) -> DataFrame:
    """Add ``rejection_reason`` to registry rows: UUID ids, a join date, one row per tenant.

    Identical copies of a row keep one copy (the others are quarantined as duplicates).
    Copies that disagree are all quarantined: which one is right is for the registry's
    owner to say, and guessing could release a tenant under the wrong join date.
    """
    payload = [F.col(c) for c in tenants.columns]
    same_tenant = Window.partitionBy("tenant_id")
    versions = F.size(F.collect_set(F.to_json(F.struct(*payload))).over(same_tenant))
    copy_number = F.row_number().over(same_tenant.orderBy(F.xxhash64(*payload)))
    reason = (
        F.when(~is_uuid(F.col("tenant_id")), "tenant_id is not a UUID")
        .when(F.col("joined_on").isNull(), "joined_on is missing")
        .when(versions > 1, REASON_CONFLICTING_TENANT)
        .when(copy_number > 1, REASON_DUPLICATE_TENANT)
    )
    return tenants.withColumn("rejection_reason", reason)


def registry_rows(checked_tenants: DataFrame) -> DataFrame:
    """The valid registry rows, without the validation column (one row per tenant)."""
    return checked_tenants.where(F.col("rejection_reason").isNull()).select(
        "tenant_id", "name", "state_province", "joined_on"
    )


def pseudonymize_learners(
    learners: DataFrame, pseudonym: Pseudonymizer, as_of: dt.date
) -> DataFrame:
    """Hash learner ids and keep only banded, non-identifying attributes.

    Shape: one row per valid raw learner -> (learner_id_hash, tenant_id, age_band,
    grade_band, has_iep, enrolled_at). Name, email, address and birth date are dropped here.
    """
    return (
        learners.where(F.col("rejection_reason").isNull())
        .select(
            pseudonym(F.col("learner_id")).alias("learner_id_hash"),
            F.col("tenant_id"),
            generalize_age(F.col("date_of_birth"), as_of).alias("age_band"),
            generalize_grade(F.col("grade_level")).alias("grade_band"),
            F.coalesce(F.col("has_iep"), F.lit(False)).alias("has_iep"),
            F.col("enrolled_at"),
        )
        .dropDuplicates(["learner_id_hash"])
    )


def pseudonymize_events(events: DataFrame, pseudonym: Pseudonymizer) -> DataFrame:
    """Valid events with the learner id replaced by its pseudonym and derived fields added.

    Shape: one row per valid, de-duplicated event -> (event_id, tenant_id, learner_id_hash,
    event_type, occurred_at, activity_date, course_id, subject, duration_minutes, lesson_id,
    score, attempt, goal_id, measurement).
    """
    is_session = F.col("event_type") == EventType.SESSION.value
    return events.where(F.col("rejection_reason").isNull()).select(
        "event_id",
        "tenant_id",
        pseudonym(F.col("learner_id")).alias("learner_id_hash"),
        "event_type",
        "occurred_at",
        F.to_date("occurred_at").alias("activity_date"),
        "course_id",
        "subject",
        F.when(
            is_session, session_minutes(F.col("session_started_at"), F.col("session_ended_at"))
        ).alias("duration_minutes"),
        "lesson_id",
        "score",
        "attempt",
        "goal_id",
        "measurement",
    )


def pseudonymize_iep_goals(iep_goals: DataFrame, pseudonym: Pseudonymizer) -> DataFrame:
    """IEP goals keyed by pseudonym; goals with unusable ids are left out of the dimension."""
    return iep_goals.where(is_uuid(F.col("learner_id"))).select(
        "goal_id",
        "tenant_id",
        pseudonym(F.col("learner_id")).alias("learner_id_hash"),
        "category",
        "baseline",
        "target",
        "set_at",
        "support_level",
    )


def keyed_pseudonym(key: PseudonymKey) -> Pseudonymizer:
    """The production pseudonymizer: HMAC-SHA256 of the learner id under ``key``."""
    return lambda learner_id: hash_id(learner_id, key)


def prepare_inputs(raw: RawTables, scope: Scope, pseudonym: Pseudonymizer) -> PreparedInputs:
    """Validate and pseudonymize the raw tables for one run (pure: no I/O).

    Args:
        raw: The raw tables, contract-checked.
        scope: Period, tenant and clock of the run.
        pseudonym: Maps a learner-id column to its pseudonym; the runner always passes
            :func:`keyed_pseudonym` (the non-private baseline of ``bench/`` passes identity).
    """
    # Every tenant's roster, not only the run's: a learner of tenant B filed under A is caught
    # by a run of A alone.
    roster = roster_tenants(raw.learners)
    checked_events = validate_events(raw.events, scope, roster)
    checked_learners = validate_learners(scope.in_tenant(raw.learners), roster)
    history_end = dt.datetime.combine(scope.end + dt.timedelta(days=1), dt.time.min)
    history_events = scope.in_tenant(raw.events).where(F.col("occurred_at") < F.lit(history_end))
    if scope.history_start is not None:
        history_start = dt.datetime.combine(scope.history_start, dt.time.min)
        history_events = history_events.where(F.col("occurred_at") >= F.lit(history_start))
    history = (
        history_events.transform(with_rejection_reason(scope.now))
        .transform(with_roster_tenant_checked(roster))
        .where(F.col("rejection_reason").isNull())
        .select(
            pseudonym(F.col("learner_id")).alias("learner_id_hash"),
            "tenant_id",
            F.to_date("occurred_at").alias("activity_date"),
        )
    )
    checked_tenants = validate_tenants(scope.in_tenant(raw.tenants))
    rejected = (
        _rejected_rows(checked_events, "events")
        .unionByName(_rejected_rows(checked_learners, "learners"))
        .unionByName(_rejected_rows(checked_tenants, "tenants"))
    )
    return PreparedInputs(
        checked_events=checked_events,
        events=pseudonymize_events(checked_events, pseudonym),
        history=history,
        learners=pseudonymize_learners(checked_learners, pseudonym, scope.end),
        iep_goals=pseudonymize_iep_goals(scope.in_tenant(raw.iep_goals), pseudonym),
        courses=scope.in_tenant(raw.courses),
        # Tenants on the platform by the period's end: the public key list of the run.
        tenants=registry_rows(checked_tenants).where(F.col("joined_on") <= F.lit(scope.end)),
        rejected=rejected,
    )


def _in_memory(df: DataFrame) -> DataFrame:
    # Collected: callers pass public dimension tables only (a few rows per tenant).
    return local_frame(df.sparkSession, df.collect(), df.schema)


def with_public_dimensions_in_memory(inputs: PreparedInputs) -> PreparedInputs:
    """The tenant registry and the course catalogue, read and validated once per run.

    Both are public lists, not learner data (ids, names, join dates; course titles and
    subjects), a few rows per tenant. Every release uses them as public keys; left as
    Delta reads, each use re-ran the registry's read and validation (two window passes)
    inside every aggregate's plan. They are held as local relations
    (:func:`privacy_udfs.local_frames.local_frame`), so using them costs no Spark job.
    """
    return dataclasses.replace(
        inputs, tenants=_in_memory(inputs.tenants), courses=_in_memory(inputs.courses)
    )
