"""The Delta budget ledger: limits, all-or-nothing batches, independent tenants, idempotency."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from contracts.curated import PRIVACY_BUDGET
from contracts.spark_types import spark_schema
from privacy_udfs import (
    BudgetExceededError,
    Charge,
    PrivacyBudget,
    PrivacyConfigurationError,
    PrivacyLevel,
)

JAN = (dt.date(2026, 1, 1), dt.date(2026, 1, 31))
JAN_WEEK = (dt.date(2026, 1, 5), dt.date(2026, 1, 11))
FEB = (dt.date(2026, 2, 1), dt.date(2026, 2, 28))


def _charge(release: str, tenant: str, period: tuple[dt.date, dt.date], epsilon: float) -> Charge:
    return Charge(
        tenant, period[0], period[1], release, "session_daily", PrivacyLevel.DP_MEDIUM, epsilon
    )


MAR = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
APR = (dt.date(2026, 4, 1), dt.date(2026, 4, 30))


def test_ledger_charges_refuses_and_remembers(spark: SparkSession, tmp_path: Path) -> None:
    path = str(tmp_path / "ops" / "privacy_budget")
    budget = PrivacyBudget(spark, path, limit_per_window=2.0, window_kind="quarter")
    assert budget.spent_in_window("t1", JAN[0]) == 0.0 and not budget.published("r1")

    outcome = budget.charge(
        [_charge("r1", "t1", JAN, 1.0), _charge("r2", "t2", JAN, 1.5)], job_run_id="run-1"
    )
    assert [c.release_id for c in outcome.charged] == ["r1", "r2"]
    ledger = spark.read.format("delta").load(path)
    assert [f.name for f in ledger.schema] == [f.name for f in spark_schema(PRIVACY_BUDGET)]
    # Windows are fixed calendar quarters: February is in the window January spent.
    assert budget.published("r1") and budget.spent_in_window("t1", FEB[0]) == 1.0
    assert budget.spent_in_window("t1", APR[0]) == 0.0
    assert budget.remaining_in_window("t2", MAR[1]) == 0.5

    # One over-budget charge refuses the whole batch, naming the figures, and writes nothing.
    with pytest.raises(BudgetExceededError) as caught:
        budget.charge(
            [_charge("r3", "t1", JAN_WEEK, 0.5), _charge("r4", "t2", FEB, 1.0)], job_run_id="run-2"
        )
    message = str(caught.value)
    for figure in ("tenant t2", "window 2026-Q1", "spent 1.5", "requested 1", "limit 2"):
        assert figure in message
    assert ledger.count() == 2

    # check() lets the tenants that fit proceed; it unpacks as (allowed, refused).
    allowed, refused = budget.check(
        [
            _charge("r3", "t1", JAN_WEEK, 0.5),
            _charge("r4", "t2", FEB, 1.0),
            _charge("r5", "t1", MAR, 0.6),
        ]
    )
    assert [c.release_id for c in allowed] == ["r3"]  # r5 no longer fits once r3 is counted
    assert [(r.tenant_id, r.charge.release_id) for r in refused] == [("t2", "r4"), ("t1", "r5")]

    # A published release is not charged again unless forced.
    again = budget.charge([_charge("r1", "t1", JAN, 1.0)], job_run_id="run-3")
    assert again.charged == () and [c.release_id for c in again.already_published] == ["r1"]
    assert budget.spent_in_window("t1", JAN[0]) == 1.0
    budget.charge([_charge("r1", "t1", JAN, 1.0)], job_run_id="run-4", forced=True)
    assert budget.spent_in_window("t1", JAN[0]) == 2.0
    forced_rows = ledger.where("release_id = 'r1'").select("forced", "job_run_id").collect()
    assert sorted((r.forced, r.job_run_id) for r in forced_rows) == [
        (False, "run-1"),
        (True, "run-4"),
    ]


def test_a_release_is_charged_to_every_window_its_input_touches(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "privacy_budget")
    budget = PrivacyBudget(spark, path, limit_per_window=1.0, window_kind="month")
    # Released for March, but it reads history from February (e.g. first-activity dates).
    straddling = Charge(
        "t1", *MAR, "r1", "weekly_active", "dp_medium", 0.75, input_start=dt.date(2026, 2, 10)
    )
    budget.charge([straddling], job_run_id="run-1")

    rows = spark.read.format("delta").load(path).select("window_start", "epsilon").collect()
    assert sorted((r.window_start, r.epsilon) for r in rows) == [
        (dt.date(2026, 2, 1), 0.75),
        (dt.date(2026, 3, 1), 0.75),
    ]
    # February has 0.25 left, so a February release of 0.5 is refused.
    with pytest.raises(BudgetExceededError, match="window 2026-02"):
        budget.charge([_charge("r2", "t1", FEB, 0.5)], job_run_id="run-2")
    accounts = budget.accounts("t1", FEB[0], APR[1])
    assert [(a.window.label, a.spent, a.remaining) for a in accounts] == [
        ("2026-02", 0.75, 0.25),
        ("2026-03", 0.75, 0.25),
        ("2026-04", 0.0, 1.0),
    ]


def test_a_compensating_row_cancels_a_charge_without_rewriting_the_ledger(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "privacy_budget")
    budget = PrivacyBudget(spark, path, limit_per_window=1.0)
    charge = _charge("r1", "t1", JAN, 1.0)
    budget.charge([charge], job_run_id="run-1")
    with pytest.raises(PrivacyConfigurationError, match="reason"):
        budget.compensate(charge, job_run_id="operator", reason=" ")
    with pytest.raises(PrivacyConfigurationError, match="not in the ledger"):
        budget.compensate(_charge("unknown", "t1", JAN, 1.0), job_run_id="operator", reason="x")

    budget.compensate(charge, job_run_id="operator", reason="written to a test path only")

    epsilons = sorted(r.epsilon for r in spark.read.format("delta").load(path).collect())
    assert epsilons == [-1.0, 1.0]  # both rows stay: the ledger is append-only
    assert budget.spent_in_window("t1", JAN[0]) == 0.0


def test_charges_and_budget_are_validated(spark: SparkSession, tmp_path: Path) -> None:
    with pytest.raises(PrivacyConfigurationError, match="DP_EPSILON_BUDGET"):
        PrivacyBudget(spark, str(tmp_path), 0.0)
    with pytest.raises(PrivacyConfigurationError, match="DP_BUDGET_WINDOW"):
        PrivacyBudget(spark, str(tmp_path), 1.0, window_kind="year")
    with pytest.raises(PrivacyConfigurationError, match="after period_end"):
        _charge("r", "t", (JAN[1], JAN[0]), 1.0)
    with pytest.raises(PrivacyConfigurationError, match="not a PrivacyLevel"):
        Charge("t", *JAN, "r", "job", "dp_extreme", 1.0)
    with pytest.raises(PrivacyConfigurationError, match="input_start"):
        Charge("t", *JAN, "r", "job", "dp_low", 1.0, input_start=FEB[0])
    budget = PrivacyBudget(spark, str(tmp_path / "ledger"), 1.0)
    with pytest.raises(PrivacyConfigurationError, match="repeat"):
        budget.check([_charge("r", "t", JAN, 0.1), _charge("r", "u", JAN, 0.1)])


class _ChargedMeanwhile(PrivacyBudget):
    """A ledger client whose first append is preceded by another run's charge.

    This pins the race a real concurrent run can win: our check has read the ledger,
    the other run commits, then we append.
    """

    def __init__(self, spark: SparkSession, path: str, limit: float, other: list[Charge]) -> None:
        super().__init__(spark, path, limit)
        self.session = spark
        self.other = other

    def _append(self, rows, note="", *, exists=False):  # type: ignore[no-untyped-def]
        if self.other:
            other, self.other = self.other, []
            PrivacyBudget(self.session, self.path, self.limit_per_window).charge(
                other, job_run_id="other-run"
            )
        return super()._append(rows, note, exists=exists)


def test_a_release_charged_by_another_run_after_our_check_is_not_charged_twice(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "privacy_budget")
    budget = _ChargedMeanwhile(spark, path, 2.0, other=[_charge("r1", "t1", JAN, 1.0)])

    outcome = budget.charge([_charge("r1", "t1", JAN, 1.0)], job_run_id="our-run")

    assert outcome.charged == () and [c.release_id for c in outcome.already_published] == ["r1"]
    rows = spark.read.format("delta").load(path).select("release_id", "job_run_id").collect()
    assert [(r.release_id, r.job_run_id) for r in rows] == [("r1", "other-run")]


def test_a_budget_spent_by_another_run_after_our_check_refuses_our_charge(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "privacy_budget")
    budget = _ChargedMeanwhile(spark, path, 2.0, other=[_charge("r1", "t1", JAN, 1.5)])

    with pytest.raises(BudgetExceededError, match=r"spent 1\.5"):
        budget.charge([_charge("r2", "t1", JAN_WEEK, 1.0)], job_run_id="our-run")

    rows = spark.read.format("delta").load(path).select("release_id", "job_run_id").collect()
    assert [(r.release_id, r.job_run_id) for r in rows] == [("r1", "other-run")]  # ours withdrawn
    assert budget.spent_in_window("t1", JAN[0]) == 1.5
