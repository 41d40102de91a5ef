"""A corpus of malformed raw data, run through the real ``run_release`` (session_daily).

Row-level faults share one release: each fault lives in its own tenant next to that
tenant's five good sessions, so one run proves, per fault, that the bad rows are
quarantined with their reason, the good rows are published, and the totals add up
(rows read = rows used + rows quarantined, in job_runs and in the quarantine table).

Table-level faults (schema drift, types, empty, missing or corrupt tables) each get
their own release: accepted with every row accounted for, or rejected before any
write with an error naming the problem, recorded in job_runs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from conf.settings import AnalyticsSettings
from contracts.raw import EVENTS
from jobs.cli import EXIT_FAILED, run_cli
from jobs.delta_io import RawTableMissingError, SchemaContractError, is_delta_table
from jobs.registry import job_named
from jobs.run_report import RunSummary
from tests.reliability.rawdata import (
    END,
    LEARNERS_PER_TENANT,
    SESSION_END,
    SESSION_START,
    START,
    TEST_KEY,
    RawData,
    Row,
    event_row,
    feed_schema,
    good_events,
    job_run,
    learner_id,
    learner_row,
    release,
    session_totals,
    settings_for,
    tenant_id,
    write_raw,
    write_table,
)

SESSION_DAILY_JOB = job_named("session_daily")

LATE = dt.datetime(2025, 1, 11, 9, 0)


@dataclass(frozen=True)
class RowFault:
    """Bad event rows for one tenant, the reason each must get, and the sessions published."""

    name: str
    rows: Callable[[int], list[Row]]
    reasons: tuple[str, ...]
    published_sessions: int = LEARNERS_PER_TENANT


def _one(tenant: int, tag: str, **changes: Any) -> list[Row]:
    changes.setdefault("event_id", f"{tag}-bad")
    return [event_row(tenant, 0, tag, **changes)]


def _redelivered(tenant: int) -> list[Row]:
    # At-least-once delivery: the exact same event twice more.
    first = good_events(tenant, "base")[0]
    return [first, first]


def _redelivered_later(tenant: int) -> list[Row]:
    # Same event id, delivered again with a later timestamp: the earliest copy is kept.
    return [
        event_row(
            tenant,
            1,
            "duplicate_later",
            event_id=good_events(tenant, "base")[1][0],
            occurred_at=LATE,
            session_started_at=LATE - dt.timedelta(minutes=30),
            session_ended_at=LATE,
        )
    ]


def _assessment(tenant: int, tag: str, score: float) -> list[Row]:
    return _one(tenant, tag, event_type="assessment_completed", score=score, attempt=1)


ROW_FAULTS: tuple[RowFault, ...] = (
    RowFault(
        "null_event_id", lambda t: _one(t, "null_event_id", event_id=None), ("null event_id",)
    ),
    RowFault(
        "blank_event_id", lambda t: _one(t, "blank_event_id", event_id="   "), ("null event_id",)
    ),
    RowFault(
        "huge_event_id",
        lambda t: _one(t, "huge_event_id", event_id="x" * 100_000),
        ("event_id longer than 128 characters",),
    ),
    RowFault(
        "null_tenant_id",
        lambda t: _one(t, "null_tenant_id", tenant_id=None),
        ("tenant_id is not a UUID",),
    ),
    RowFault(
        "uppercase_tenant_id",
        lambda t: _one(t, "uppercase_tenant_id", tenant_id=tenant_id(t).upper()),
        ("tenant_id is not a UUID",),
    ),
    RowFault(
        "null_learner_id",
        lambda t: _one(t, "null_learner_id", learner_id=None),
        ("null learner_id",),
    ),
    RowFault(
        "learner_id_not_uuid",
        lambda t: _one(t, "learner_id_not_uuid", learner_id="learner-7"),
        ("learner_id is not a UUID",),
    ),
    RowFault(
        "zero_width_space_in_learner_id",
        lambda t: _one(t, "zero_width", learner_id=learner_id(t, 0) + "\u200b"),
        ("learner_id is not a UUID",),
    ),
    RowFault(
        "fullwidth_digits_in_learner_id",
        lambda t: _one(t, "fullwidth", learner_id="０" * 8 + learner_id(t, 0)[8:]),
        ("learner_id is not a UUID",),
    ),
    RowFault("duplicate_event_exact", _redelivered, ("duplicate event_id", "duplicate event_id")),
    RowFault("duplicate_event_later_copy", _redelivered_later, ("duplicate event_id",)),
    RowFault(
        "unknown_event_type",
        lambda t: _one(t, "unknown_event_type", event_type="video_watched"),
        ("unknown event_type",),
    ),
    RowFault(
        "score_above_100", lambda t: _assessment(t, "score_high", 130.0), ("score out of range",)
    ),
    RowFault(
        "score_negative", lambda t: _assessment(t, "score_negative", -5.0), ("score out of range",)
    ),
    RowFault(
        "score_nan", lambda t: _assessment(t, "score_nan", float("nan")), ("score out of range",)
    ),
    RowFault(
        "score_infinite",
        lambda t: _assessment(t, "score_inf", float("inf")),
        ("score out of range",),
    ),
    RowFault(
        "session_ends_before_start",
        lambda t: _one(
            t, "negative_duration", session_ended_at=SESSION_START - dt.timedelta(minutes=5)
        ),
        ("session ends before it starts",),
    ),
    RowFault(
        "session_longer_than_a_day",
        lambda t: _one(t, "marathon", session_started_at=SESSION_END - dt.timedelta(hours=30)),
        ("session longer than 24 h",),
    ),
    RowFault(
        "session_without_end",
        lambda t: _one(t, "no_end", session_ended_at=None),
        ("session without start or end",),
    ),
    RowFault(
        "occurred_far_in_the_future",
        lambda t: _one(t, "future", occurred_at=dt.datetime(2099, 1, 1)),
        ("occurred_at in the future",),
    ),
    RowFault(
        "null_occurred_at", lambda t: _one(t, "null_time", occurred_at=None), ("null occurred_at",)
    ),
    RowFault(
        "huge_subject_string",
        lambda t: _one(t, "huge_subject", subject="math" * 250_000),
        ("unknown subject",),
    ),
    RowFault(
        "homoglyph_subject",
        lambda t: _one(t, "homoglyph", subject="m\u0430th"),  # Cyrillic 'а'
        ("unknown subject",),
    ),
    RowFault(
        "course_id_not_uuid",
        lambda t: _one(t, "bad_course", course_id="COURSE-1; DROP TABLE"),
        ("course_id is not a UUID",),
    ),
    RowFault(
        "iep_measurement_nan",
        lambda t: _one(
            t, "iep_nan", event_type="iep_goal_measurement", goal_id="g-1", measurement=float("nan")
        ),
        ("IEP measurement without goal or value",),
    ),
    # Accepted: event ids are opaque; odd unicode must pass through without corrupting anything.
    RowFault(
        "odd_unicode_event_id_is_valid",
        lambda t: [
            event_row(
                t,
                4,
                "unicode_ok",
                event_id="évènement-🎓-\u202e-\u0000-末",
                session_started_at=SESSION_START + dt.timedelta(hours=1),
                session_ended_at=SESSION_END + dt.timedelta(hours=1),
                occurred_at=SESSION_END + dt.timedelta(hours=1),
            )
        ],
        (),
        published_sessions=LEARNERS_PER_TENANT + 1,
    ),
)

FIRST_ROW_TENANT = 100
BAD_LEARNER_TENANT = 99


@dataclass
class CorpusRun:
    settings: AnalyticsSettings
    summary: RunSummary
    quarantine: list[T.Row]
    sessions: dict[str, int]


@pytest.fixture(scope="module")
def corpus_run(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> CorpusRun:
    settings = settings_for(tmp_path_factory.mktemp("corpus"))
    tenants = [FIRST_ROW_TENANT + i for i in range(len(ROW_FAULTS))] + [BAD_LEARNER_TENANT]
    data = RawData.for_tenants(tenants)
    assert data.events is not None and data.learners is not None
    for number, fault in enumerate(ROW_FAULTS, start=FIRST_ROW_TENANT):
        data.events.extend(fault.rows(number))
    # A learner row whose id is not a UUID: quarantined from the learners table.
    data.learners.append(learner_row(BAD_LEARNER_TENANT, 9, raw_id="not-a-uuid"))
    write_raw(spark, settings, data)
    summary = release(spark, settings)
    quarantine = (
        spark.read.format("delta")
        .load(settings.path("quarantine", "rows"))
        .where(F.col("job_run_id") == summary.run_id)
        .select(
            "source_table",
            "tenant_id",
            "reason",
            F.get_json_object("raw_row", "$.lesson_id").alias("tag"),
            F.get_json_object("raw_row", "$.learner_id").alias("learner_id"),
            F.length("raw_row").alias("raw_length"),
        )
        .collect()
    )
    return CorpusRun(settings, summary, quarantine, session_totals(spark, settings, "anonymized"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "number, fault",
    list(enumerate(ROW_FAULTS, start=FIRST_ROW_TENANT)),
    ids=[f.name for f in ROW_FAULTS],
)
def test_row_fault_is_quarantined_with_its_reason_and_good_rows_are_kept(
    corpus_run: CorpusRun, number: int, fault: RowFault
) -> None:
    tags = {r[9] for r in fault.rows(number)}  # lesson_id
    found = sorted(
        r.reason
        for r in corpus_run.quarantine
        if r.tag in tags and r.source_table == "events" and r.tenant_id in (None, tenant_id(number))
    )
    assert found == sorted(fault.reasons)
    # The tenant's good rows (and a valid odd one) are published exactly once each.
    assert corpus_run.sessions[tenant_id(number)] == fault.published_sessions


@pytest.mark.slow
def test_corpus_totals_add_up_in_job_runs_and_quarantine(
    spark: SparkSession, corpus_run: CorpusRun
) -> None:
    row = job_run(spark, corpus_run.settings, corpus_run.summary.run_id)
    assert row.status == "succeeded"
    events_quarantined = [r for r in corpus_run.quarantine if r.source_table == "events"]
    bad_rows = sum(len(f.reasons) for f in ROW_FAULTS)
    used = sum(corpus_run.sessions.values())
    assert row.rows_quarantined == len(events_quarantined) == bad_rows
    assert row.rows_read == used + row.rows_quarantined
    # The huge strings are quarantined whole, not truncated.
    assert max(r.raw_length for r in events_quarantined) > 1_000_000


@pytest.mark.slow
def test_learner_with_unusable_id_is_quarantined_and_tenant_still_published(
    corpus_run: CorpusRun,
) -> None:
    learners = [r for r in corpus_run.quarantine if r.source_table == "learners"]
    assert [(r.learner_id, r.reason) for r in learners] == [
        ("not-a-uuid", "learner_id is not a UUID")
    ]
    assert learners[0].tenant_id == tenant_id(BAD_LEARNER_TENANT)
    assert corpus_run.sessions[tenant_id(BAD_LEARNER_TENANT)] == LEARNERS_PER_TENANT


# ---- table-level faults: one release each ---------------------------------------------------

TENANT = 1


def _events_frame(spark: SparkSession, rows: list[Row]) -> DataFrame:
    return spark.createDataFrame(rows, feed_schema(EVENTS))


def _extra_column(spark: SparkSession, path: str) -> None:
    frame = _events_frame(spark, good_events(TENANT, "extra")).withColumn(
        "client_version", F.lit("9.1")
    )
    write_table(spark, frame, path)


def _renamed_column(spark: SparkSession, path: str) -> None:
    frame = _events_frame(spark, good_events(TENANT, "renamed")).withColumnRenamed(
        "occurred_at", "event_time"
    )
    write_table(spark, frame, path)


def _missing_column(spark: SparkSession, path: str) -> None:
    write_table(spark, _events_frame(spark, good_events(TENANT, "missing")).drop("subject"), path)


def _score_as_string(spark: SparkSession, path: str) -> None:
    frame = _events_frame(spark, good_events(TENANT, "string_score"))
    write_table(spark, frame.withColumn("score", F.col("score").cast("string")), path)


def _time_as_string(spark: SparkSession, path: str) -> None:
    frame = _events_frame(spark, good_events(TENANT, "string_time"))
    write_table(spark, frame.withColumn("occurred_at", F.col("occurred_at").cast("string")), path)


def _narrower_numbers(spark: SparkSession, path: str) -> None:
    frame = _events_frame(spark, good_events(TENANT, "narrow"))
    narrowed = frame.withColumn("score", F.col("score").cast("int")).withColumn(
        "attempt", F.col("attempt").cast("short")
    )
    write_table(spark, narrowed, path)


def _timestamp_ntz(spark: SparkSession, path: str) -> None:
    # Late-evening sessions: read as UTC they stay on DAY (read in another zone they would move).
    late = [
        event_row(
            TENANT,
            n,
            "ntz",
            occurred_at=dt.datetime(2025, 1, 10, 23, 50),
            session_started_at=dt.datetime(2025, 1, 10, 23, 20),
            session_ended_at=dt.datetime(2025, 1, 10, 23, 50),
        )
        for n in range(LEARNERS_PER_TENANT)
    ]
    frame = _events_frame(spark, late)
    ntz = frame.withColumns(
        {
            c: F.to_timestamp_ntz(F.date_format(c, "yyyy-MM-dd HH:mm:ss"))
            for c in ("occurred_at", "session_started_at", "session_ended_at")
        }
    )
    assert isinstance(ntz.schema["occurred_at"].dataType, T.TimestampNTZType)
    write_table(spark, ntz, path)


def _empty_table(spark: SparkSession, path: str) -> None:
    write_table(spark, _events_frame(spark, []), path)


def _not_a_delta_table(spark: SparkSession, path: str) -> None:
    _events_frame(spark, good_events(TENANT, "parquet")).write.mode("overwrite").parquet(path)


def _no_table(spark: SparkSession, path: str) -> None:
    pass


def _corrupt_delta_log(spark: SparkSession, path: str) -> None:
    write_table(spark, _events_frame(spark, good_events(TENANT, "corrupt")), path)
    write_table(spark, _events_frame(spark, good_events(TENANT, "corrupt")), path)
    log = Path(path) / "_delta_log" / f"{1:020d}.json"
    log.write_text(log.read_text()[:40])  # a commit cut off mid-write by a broken copy


@dataclass(frozen=True)
class TableFault:
    name: str
    build: Callable[[SparkSession, str], None]
    error: type[Exception] | None  # None: accepted
    message: tuple[str, ...] = ()  # substrings the error must contain
    published_sessions: int | None = LEARNERS_PER_TENANT  # None: a suppressed row


TABLE_FAULTS: tuple[TableFault, ...] = (
    TableFault("extra_column_is_ignored", _extra_column, None),
    TableFault("narrower_numeric_types_are_widened", _narrower_numbers, None),
    TableFault("timestamp_ntz_is_read_as_utc", _timestamp_ntz, None),
    TableFault("empty_table", _empty_table, None, published_sessions=None),
    TableFault(
        "renamed_column",
        _renamed_column,
        SchemaContractError,
        ("'events'", "missing", "occurred_at"),
    ),
    TableFault(
        "dropped_column", _missing_column, SchemaContractError, ("'events'", "missing", "subject")
    ),
    TableFault(
        "score_as_string",
        _score_as_string,
        SchemaContractError,
        ("wrong type", "score is string", "double"),
    ),
    TableFault(
        "timestamp_as_string",
        _time_as_string,
        SchemaContractError,
        ("occurred_at is string", "timestamp"),
    ),
    TableFault("table_does_not_exist", _no_table, RawTableMissingError, ("'events' not found",)),
    TableFault(
        "parquet_not_delta", _not_a_delta_table, RawTableMissingError, ("'events' not found",)
    ),
    TableFault("corrupt_delta_log", _corrupt_delta_log, Exception, ()),
)


@pytest.mark.slow
@pytest.mark.parametrize("fault", TABLE_FAULTS, ids=[f.name for f in TABLE_FAULTS])
def test_table_fault_is_accepted_whole_or_rejected_naming_the_problem(
    spark: SparkSession, tmp_path: Path, fault: TableFault
) -> None:
    settings = settings_for(tmp_path)
    data = RawData.for_tenants([TENANT])
    data.events = None
    write_raw(spark, settings, data)
    fault.build(spark, settings.path("raw", "events"))
    run_id = str(uuid.uuid4())
    curated_path = settings.path("curated", "session_daily")

    if fault.error is None:
        summary = release(spark, settings, run_id=run_id)
        row = job_run(spark, settings, run_id)
        assert (row.status, row.rows_quarantined) == ("succeeded", 0)
        assert row.rows_read == (fault.published_sessions or 0)
        # The tenant's day is released either way (public key); empty means suppressed.
        totals = session_totals(spark, settings, "anonymized")
        assert totals[tenant_id(TENANT)] == fault.published_sessions
        assert summary.counters.rows_read == row.rows_read
        return

    with pytest.raises(fault.error) as raised:
        release(spark, settings, run_id=run_id)
    for part in fault.message:
        assert part in str(raised.value)
    row = job_run(spark, settings, run_id)
    assert row.status == "failed"
    assert row.error_message.startswith(type(raised.value).__name__)
    for part in fault.message:
        assert part in row.error_message
    # Rejected before anything was written: no curated table, no quarantined rows.
    assert not is_delta_table(spark, curated_path)
    quarantine = settings.path("quarantine", "rows")
    assert (
        not is_delta_table(spark, quarantine)
        or spark.read.format("delta").load(quarantine).count() == 0
    )


@pytest.mark.slow
def test_cli_names_a_missing_table_and_exits_failed(
    spark: SparkSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = settings_for(tmp_path)
    data = RawData.for_tenants([TENANT])
    data.learners = None
    write_raw(spark, settings, data)
    monkeypatch.setenv("PSEUDONYM_KEY", TEST_KEY)
    code = run_cli(
        [SESSION_DAILY_JOB],
        prog="session_daily",
        description="",
        argv=["--start", START.isoformat(), "--end", END.isoformat(), "--data-root", str(tmp_path)],
    )
    assert code == EXIT_FAILED
    err = capsys.readouterr().err
    assert "raw table 'learners' not found" in err and "nothing was written" in err


def test_corpus_has_at_least_twenty_kinds() -> None:
    names = [f.name for f in ROW_FAULTS] + [f.name for f in TABLE_FAULTS]
    assert len(set(names)) == len(names) >= 20
