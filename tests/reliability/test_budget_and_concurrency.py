"""Budget exhaustion mid-release, and overlapping runs writing the same curated table."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.run_report import RunSummary
from privacy_udfs import Charge, PrivacyBudget
from tests.budget_figures import job_epsilon
from tests.reliability.rawdata import (
    END,
    LEARNERS_PER_TENANT,
    START,
    RawData,
    job_run,
    release,
    session_totals,
    settings_for,
    tenant_id,
    write_raw,
)

SESSION_DAILY_DP_MEDIUM_EPSILON = job_epsilon("session_daily")


def _run_concurrently(*calls: Callable[[], RunSummary]) -> list[RunSummary | BaseException]:
    results: list[RunSummary | BaseException] = [RuntimeError("not run")] * len(calls)
    barrier = threading.Barrier(len(calls))

    def worker(index: int, call: Callable[[], RunSummary]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except BaseException as error:
            results[index] = error

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a concurrent run hung"
    return results


@pytest.mark.slow
def test_tenant_over_budget_is_refused_and_recorded_others_are_published(
    spark: SparkSession, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, dp_epsilon_budget=1.0)
    write_raw(spark, settings, RawData.for_tenants([1, 2, 3]))
    budget = PrivacyBudget(spark, settings.path("ops", "privacy_budget"), 1.0)
    # Tenant 2 already spent almost all of its budget on another release of the period.
    budget.charge(
        [Charge(tenant_id(2), START, END, "earlier-release", "mastery_progress", "dp_medium", 0.9)],
        job_run_id="earlier-run",
    )
    run_id = str(uuid.uuid4())

    summary = release(spark, settings, level="dp_medium", run_id=run_id)

    assert summary.status == "succeeded"
    assert summary.counters.refused_tenants == [tenant_id(2)]
    row = job_run(spark, settings, run_id)
    assert row.status == "succeeded"
    assert row.error_message == f"over budget, not released: {tenant_id(2)}"
    assert row.epsilon_charged == pytest.approx(SESSION_DAILY_DP_MEDIUM_EPSILON)  # per tenant
    ledger = {
        (r.tenant_id, round(r.epsilon, 9))
        for r in spark.read.format("delta")
        .load(settings.path("ops", "privacy_budget"))
        .where(F.col("job_run_id") == run_id)
        .collect()
    }
    assert ledger == {
        (tenant_id(1), round(SESSION_DAILY_DP_MEDIUM_EPSILON, 9)),
        (tenant_id(3), round(SESSION_DAILY_DP_MEDIUM_EPSILON, 9)),
    }
    assert budget.spent_in_window(tenant_id(2), START) == pytest.approx(0.9)
    published = session_totals(spark, settings, "dp_medium")
    assert set(published) == {tenant_id(1), tenant_id(3)}  # nothing at all for tenant 2


@pytest.mark.slow
def test_two_tenants_writing_the_same_table_at_once_both_succeed(
    spark: SparkSession, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    write_raw(spark, settings, RawData.for_tenants([1, 2]))
    # Create the table first, as a scheduled system would have; the race is on the slices.
    release(spark, settings, tenant=tenant_id(1))

    first, second = _run_concurrently(
        lambda: release(spark, settings, tenant=tenant_id(1)),
        lambda: release(spark, settings, tenant=tenant_id(2)),
    )

    assert isinstance(first, RunSummary) and isinstance(second, RunSummary), (first, second)
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert session_totals(spark, settings, "anonymized") == {
        tenant_id(1): LEARNERS_PER_TENANT,
        tenant_id(2): LEARNERS_PER_TENANT,
    }
    table = spark.read.format("delta").load(settings.path("curated", "session_daily"))
    keys = ["tenant_id", "activity_date", "subject", "privacy_level"]
    assert table.count() == table.select(*keys).distinct().count()  # nothing duplicated
    days = (END - START).days + 1
    assert table.count() == 2 * days * 9  # 8 subjects + 'all', per tenant and day


@pytest.mark.slow
def test_same_tenant_and_period_at_dp_one_release_wins_epsilon_charged_once(
    spark: SparkSession, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    write_raw(spark, settings, RawData.for_tenants([1]))
    release(spark, settings, tenant=tenant_id(1))  # the table exists (anonymized slice)

    results = _run_concurrently(
        lambda: release(spark, settings, tenant=tenant_id(1), level="dp_medium"),
        lambda: release(spark, settings, tenant=tenant_id(1), level="dp_medium"),
    )

    failures = [r for r in results if not isinstance(r, RunSummary)]
    for failure in failures:  # a loser must say why, not crash obscurely
        assert "already" in str(failure) or "Concurrent" in str(failure), failure
    assert len(failures) < 2, failures
    ledger = spark.read.format("delta").load(settings.path("ops", "privacy_budget"))
    charges = ledger.where(F.col("tenant_id") == tenant_id(1)).collect()
    assert [c.epsilon for c in charges] == [pytest.approx(SESSION_DAILY_DP_MEDIUM_EPSILON)]
    table = (
        spark.read.format("delta")
        .load(settings.path("curated", "session_daily"))
        .where(F.col("privacy_level") == "dp_medium")
    )
    keys = ["tenant_id", "activity_date", "subject"]
    assert table.count() == table.select(*keys).distinct().count() == ((END - START).days + 1) * 9
    # The published values are those of the run that was charged.
    (written_by,) = {r.job_run_id for r in table.select("job_run_id").distinct().collect()}
    assert written_by == charges[0].job_run_id
