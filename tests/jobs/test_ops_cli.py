"""``python -m jobs.ops`` over the ledgers of a real pipeline run (delta-rs, no Spark)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import ops
from jobs.job_runs import JobRunLedger
from jobs.run_all import ALL_JOBS
from tests.pipeline import CuratedPipeline as Pipeline

pytestmark = pytest.mark.slow


def _ops(pipeline: Pipeline, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = ops.main(["--data-root", str(pipeline.root), *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_runs_lists_and_filters_by_status_and_tenant(
    curated_pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = curated_pipeline.anonymized.run_id
    code, out = _ops(curated_pipeline, capsys, "runs")
    assert code == 0 and run_id in out
    tenant = curated_pipeline.anonymized.counters.tenants[0]
    code, out = _ops(curated_pipeline, capsys, "runs", "--tenant", tenant, "--status", "succeeded")
    assert code == 0 and run_id in out
    code, out = _ops(curated_pipeline, capsys, "runs", "--tenant", "not-a-tenant")
    assert code == 0 and run_id not in out


def test_runs_show_prints_the_error_and_every_tables_outcome(
    curated_pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    run = curated_pipeline.dp_first
    code, out = _ops(curated_pipeline, capsys, "runs", "show", run.run_id[:13])
    assert code == 0
    assert run.run_id in out and "succeeded" in out
    for job in ALL_JOBS:
        assert job.name in out
    recorded = json.loads(ops.find_run(curated_pipeline.settings, run.run_id)["table_outcomes"])
    by_table = {o["table"]: o for o in recorded}
    for outcome in run.tables:
        assert by_table[outcome.table]["rows_written"] == outcome.rows_written
        assert sorted(by_table[outcome.table]["released_tenants"]) == sorted(
            outcome.epsilon_by_tenant
        )
    code, out = _ops(curated_pipeline, capsys, "runs", "show", "no-such-run")
    assert code == 1 and "no run 'no-such-run'" in out


def test_runs_abandon_marks_only_a_running_run(
    spark: SparkSession, curated_pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = JobRunLedger(spark, curated_pipeline.settings.path("ops", "job_runs"))
    ledger.start(
        "0b6e7a3e-0000-4000-8000-00000000dead",
        "run_all",
        None,
        (dt.date(2025, 1, 6), dt.date(2025, 1, 12)),
        "anonymized",
    )
    code, out = _ops(
        curated_pipeline, capsys, "runs", "abandon", "0b6e7a3e-0000-4000-8000-00000000dead"
    )
    assert code == 0 and "abandoned" in out
    row = (
        spark.read.format("delta")
        .load(curated_pipeline.settings.path("ops", "job_runs"))
        .where(F.col("run_id") == "0b6e7a3e-0000-4000-8000-00000000dead")
        .first()
    )
    assert row is not None and row.status == "abandoned" and row.finished_at is not None
    code, out = _ops(curated_pipeline, capsys, "runs", "abandon", curated_pipeline.dp_first.run_id)
    assert code == 1 and "not running" in out


def test_budget_shows_spent_and_left_per_window(
    spark: SparkSession, curated_pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = sorted(curated_pipeline.dp_first.counters.tenants)[0]
    ledger = spark.read.format("delta").load(
        curated_pipeline.settings.path("ops", "privacy_budget")
    )
    windows = {r.window_start for r in ledger.where(F.col("tenant_id") == tenant).collect()}
    accounts = ops.budget_accounts(curated_pipeline.settings, tenant)
    assert {a.window.start for a in accounts} == windows
    for account in accounts:
        assert 0 < account.spent <= account.limit == curated_pipeline.settings.dp_epsilon_budget
        assert account.remaining == pytest.approx(account.limit - account.spent)
    code, out = _ops(curated_pipeline, capsys, "budget", tenant)
    assert code == 0 and accounts[0].window.label in out
    code, out = _ops(curated_pipeline, capsys, "budget", "unknown")
    assert code == 0 and "no ε charged yet" in out


def test_tenants_lists_the_registry_with_learner_counts(
    spark: SparkSession, curated_pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = curated_pipeline.settings.path("raw", "tenants")
    registry = {r.tenant_id: r.name for r in spark.read.format("delta").load(raw).collect()}
    code, out = _ops(curated_pipeline, capsys, "tenants")
    assert code == 0
    listed = ops.list_tenants(curated_pipeline.settings)
    assert {t["tenant_id"] for t in listed} == set(curated_pipeline.anonymized.counters.tenants)
    for tenant in listed:
        assert registry[tenant["tenant_id"]] == tenant["name"]
        assert tenant["tenant_id"] in out
    assert sum(t["learners"] for t in listed) > 0
