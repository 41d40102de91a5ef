"""Generated raw tables -> every curated table, end to end through the real runner.

The session-scoped ``curated_pipeline`` (tests/pipeline.py) runs at anonymized and dp_medium; the
tests then check contracts, ledgers, row arithmetic, idempotent reruns, budget and
the PII canaries on every byte under curated/.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from uuid import uuid4

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contracts.curated import CURATED_TABLES
from contracts.spark_types import spark_schema
from jobs.arguments import JobArguments
from jobs.generate import CANARY_PREFIX
from jobs.prepare import Scope
from jobs.release import DP_REFUSAL
from jobs.run_all import ALL_JOBS
from jobs.run_report import format_summary
from jobs.runner import quarantine_slice, run_release
from tests.budget_figures import job_epsilon
from tests.pipeline import END, NOW, START, comparable, curated, run
from tests.pipeline import CuratedPipeline as Pipeline

pytestmark = pytest.mark.slow


def test_every_curated_table_matches_its_contract(
    spark: SparkSession, curated_pipeline: Pipeline
) -> None:
    for name, table in CURATED_TABLES.items():
        frame = curated(spark, curated_pipeline.settings, name, "anonymized")
        expected = spark_schema(table.columns)
        assert [(f.name, f.dataType) for f in frame.schema.fields] == [
            (f.name, f.dataType) for f in expected.fields
        ], name
        assert frame.count() > 0, f"{name} is empty"


def test_rows_read_equal_rows_used_plus_quarantined(
    spark: SparkSession, curated_pipeline: Pipeline
) -> None:
    runs = spark.read.format("delta").load(curated_pipeline.settings.path("ops", "job_runs"))
    row = runs.where(F.col("run_id") == curated_pipeline.anonymized.run_id).first()
    assert row is not None and row.status == "succeeded"
    quarantined = (
        spark.read.format("delta")
        .load(curated_pipeline.settings.path("quarantine", "rows"))
        .where(quarantine_slice(Scope(START, END, None, NOW)))
        .where(F.col("source_table") == "events")
        .count()
    )
    assert row.rows_quarantined == quarantined > 0
    raw_events = spark.read.format("delta").load(curated_pipeline.settings.path("raw", "events"))
    assert row.rows_read == raw_events.count()  # the window covers every generated event
    used = raw_events.count() - quarantined
    assert row.rows_read == used + row.rows_quarantined
    reasons = {
        r.reason
        for r in spark.read.format("delta")
        .load(curated_pipeline.settings.path("quarantine", "rows"))
        .select("reason")
        .distinct()
        .collect()
    }
    assert {"duplicate event_id", "null learner_id", "occurred_at in the future"} <= reasons


def test_small_cohorts_are_suppressed_at_anonymized(
    spark: SparkSession, curated_pipeline: Pipeline
) -> None:
    frame = curated(spark, curated_pipeline.settings, "mastery_progress", "anonymized")
    suppressed = frame.where(F.col("insufficient_data"))
    assert suppressed.count() > 0
    assert (
        suppressed.where(
            F.col("mean_mastery").isNotNull() | F.col("learners_assessed").isNotNull()
        ).count()
        == 0
    )
    kept = frame.where(~F.col("insufficient_data"))
    assert kept.where(F.col("learners_assessed") < 5).count() == 0


def test_dp_release_metadata(spark: SparkSession, curated_pipeline: Pipeline) -> None:
    frame = curated(spark, curated_pipeline.settings, "session_daily", "dp_medium")
    meta = (
        frame.select("epsilon", "k_threshold", "aggregation_level", "job_run_id")
        .distinct()
        .collect()
    )
    assert len(meta) == 1
    assert meta[0].epsilon == pytest.approx(job_epsilon("session_daily"))
    assert (meta[0].k_threshold, meta[0].aggregation_level, meta[0].job_run_id) == (
        5,
        "tenant",
        curated_pipeline.dp_first.run_id,
    )
    published = frame.where(~F.col("insufficient_data"))
    assert published.where(F.col("noise_scales")["sessions"].isNull()).count() == 0


def test_dp_rerun_reuses_the_published_release(
    spark: SparkSession, curated_pipeline: Pipeline
) -> None:
    again = run(spark, curated_pipeline.settings, "dp_medium", seed=99)
    assert again.counters.epsilon_charged == 0.0
    # Decided from the ledgers and the registry alone: no raw event was read.
    assert again.nothing_to_do and again.counters.rows_read == 0
    reasons = {t.table: t.skipped_reason or "" for t in again.tables}
    # January's run does not release the quarterly tables (March's does, for the quarter).
    quarterly = {"iep_progress", "course_metrics"}
    assert all(reasons[n].startswith("released once per quarter at DP levels") for n in quarterly)
    assert {r for n, r in reasons.items() if n not in quarterly} <= {
        "already published",
        "already published (platform-wide: once per period)",
        DP_REFUSAL,
    }
    assert "nothing to do" in format_summary(again)
    for name, before in curated_pipeline.dp_tables_after_first.items():
        after = curated(spark, curated_pipeline.settings, name, "dp_medium")
        assert_df_equality(
            comparable(after),
            comparable(before),
            ignore_row_order=True,
            ignore_nullable=True,
            ignore_metadata=True,
        )


def test_anonymized_rerun_is_identical_and_never_duplicates(
    spark: SparkSession, curated_pipeline: Pipeline
) -> None:
    before = {
        n: curated(spark, curated_pipeline.settings, n, "anonymized")
        .drop("job_run_id")
        .localCheckpoint()
        for n in CURATED_TABLES
    }
    run(spark, curated_pipeline.settings, "anonymized")
    for name, frame in before.items():
        after = curated(spark, curated_pipeline.settings, name, "anonymized").drop("job_run_id")
        assert_df_equality(
            comparable(after),
            comparable(frame),
            ignore_row_order=True,
            ignore_nullable=True,
            ignore_metadata=True,
        )


def test_budget_refuses_a_release_over_the_limit(
    spark: SparkSession, curated_pipeline: Pipeline
) -> None:
    # dp_low costs 2.0 > the 1.5 budget left after nothing else: every tenant is refused.
    refused = run(spark, curated_pipeline.settings, "dp_low", seed=1)
    assert refused.status == "refused"
    assert refused.counters.epsilon_charged == 0.0
    assert curated(spark, curated_pipeline.settings, "session_daily", "dp_low").count() == 0


def test_anonymized_month_to_date_run_skips_period_tables_with_the_reason(
    spark: SparkSession, curated_pipeline: Pipeline
) -> None:
    settings = curated_pipeline.settings
    before = {
        name: curated(spark, settings, name, "anonymized").drop("job_run_id").localCheckpoint()
        for name in ("mastery_progress", "learner_snapshots")
    }
    # 1-10 January: month to date. Day and week tables are released (their days are
    # closed and never change); period tables would differ from the month's by 21 days.
    arguments = JobArguments(START, START + dt.timedelta(days=9), None, "anonymized", str(uuid4()))
    summary = run_release(spark, settings, arguments, ALL_JOBS, run_name="run_all", now=NOW)
    outcomes = {t.table: t for t in summary.tables}
    for name in ("mastery_progress", "iep_progress", "course_metrics", "learner_snapshots"):
        reason = outcomes[name].skipped_reason
        assert reason is not None and "one closed calendar month" in reason, name
        assert outcomes[name].rows_written == 0
    for name in ("session_daily", "platform_daily"):
        assert outcomes[name].skipped_reason is None and outcomes[name].rows_written > 0, name
    # Not skipped, but 1-10 January (Wednesday to Friday) holds no complete ISO week.
    assert outcomes["weekly_active"].skipped_reason is None
    assert outcomes["weekly_active"].rows_written == 0
    # The month's period rows are untouched; no row covers 1-10 January.
    for name, frame in before.items():
        after = curated(spark, settings, name, "anonymized").drop("job_run_id")
        assert_df_equality(
            comparable(after), comparable(frame), ignore_row_order=True, ignore_nullable=True
        )


def test_learner_snapshots_are_anonymized_only_and_k_anonymous(
    spark: SparkSession, curated_pipeline: Pipeline
) -> None:
    settings = curated_pipeline.settings
    assert curated(spark, settings, "learner_snapshots", "dp_medium").count() == 0
    outcome = next(t for t in curated_pipeline.dp_first.tables if t.table == "learner_snapshots")
    assert outcome.skipped_reason == "learner-level rows are never released at DP levels"
    assert "learner_snapshots" not in {
        r.job_name
        for r in spark.read.format("delta").load(settings.path("ops", "privacy_budget")).collect()
    }
    rows = curated(spark, settings, "learner_snapshots", "anonymized")
    classes = rows.groupBy("tenant_id", "age_band", "grade_band", "has_iep").count()
    assert rows.count() > 0 and classes.where(F.col("count") < 5).count() == 0


UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_no_pii_canary_or_raw_learner_id_reaches_curated(
    spark: SparkSession, curated_pipeline: Pipeline
) -> None:
    raw = spark.read.format("delta").load(curated_pipeline.settings.path("raw", "learners"))
    learner_ids = {
        r.learner_id.encode() for r in raw.select("learner_id").collect() if r.learner_id
    }
    birth_dates = {
        str(r.date_of_birth) for r in raw.select("date_of_birth").collect() if r.date_of_birth
    }
    curated_root = Path(curated_pipeline.settings.path("curated"))
    files = [p for p in curated_root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files) and any(p.suffix == ".json" for p in files)
    for path in files:
        content = path.read_bytes()
        assert CANARY_PREFIX.encode() not in content, path
        assert not (set(UUID.findall(content)) & learner_ids), path
    # Compressed pages could hide a marker from a byte scan: decode every string value too.
    for name in CURATED_TABLES:
        frame = spark.read.format("delta").load(curated_pipeline.settings.path("curated", name))
        strings = [
            F.col(f.name) for f in frame.schema.fields if f.dataType.simpleString() == "string"
        ]
        joined = frame.select(F.concat_ws("|", *strings).alias("s"))
        assert joined.where(F.col("s").contains(CANARY_PREFIX)).count() == 0, name
        assert joined.where(F.col("s").rlike("|".join(sorted(birth_dates)[:200]))).count() == 0, (
            name
        )


def test_reruns_replace_their_quarantine_slice_instead_of_adding_copies(
    spark: SparkSession, curated_pipeline: Pipeline
) -> None:
    """After several runs of one period (two levels, reruns) each rejected row is held once."""
    latest = run(spark, curated_pipeline.settings, "anonymized")
    quarantine = spark.read.format("delta").load(
        curated_pipeline.settings.path("quarantine", "rows")
    )
    held = quarantine.where(quarantine_slice(Scope(START, END, None, NOW)))
    # Other tests of the shared pipeline run other periods: only this slice is checked.
    assert held.count() == latest.quarantine_rows
    assert held.select("source_table", "raw_row").distinct().count() == held.count()
    assert [r.job_run_id for r in held.select("job_run_id").distinct().collect()] == [latest.run_id]
    assert held.where(F.col("source_table") == "events").count() == (
        latest.counters.rows_quarantined
    )
    assert "distinct rejected rows" in format_summary(latest)
