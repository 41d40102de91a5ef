"""The budget ledger read with delta-rs: no JVM, the same composition as the accountant's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from contracts.columns import arrow_schema, row_of
from contracts.curated import PRIVACY_BUDGET
from privacy_udfs.accountant import Accountant, Charge, WindowSpend, spend_by_window
from privacy_udfs.budget import LedgerSnapshot

Q1 = dt.date(2025, 1, 1)
STAMP = dt.datetime(2025, 4, 2, tzinfo=dt.UTC)


def _row(release: str, tenant: str, epsilon: float, rho: float | None, run: str, minute: int):
    return row_of(
        PRIVACY_BUDGET,
        {
            "tenant_id": tenant,
            "period_start": Q1,
            "period_end": dt.date(2025, 1, 31),
            "window_start": Q1,
            "window_end": dt.date(2025, 3, 31),
            "release_id": release,
            "job_name": "session_daily",
            "privacy_level": "dp_medium",
            "epsilon": epsilon,
            "delta": 1e-6 if rho is not None else 0.0,
            "rho": rho,
            "forced": False,
            "job_run_id": run,
            "charged_at": STAMP + dt.timedelta(minutes=minute),
        },
    )


def _write(path: Path, rows: list[tuple[object, ...]]) -> None:
    schema = arrow_schema(PRIVACY_BUDGET)
    columns = list(zip(*rows, strict=True))
    write_deltalake(str(path), pa.table(columns, schema=schema), mode="append")


def test_a_missing_ledger_reads_as_empty(tmp_path: Path) -> None:
    snapshot = LedgerSnapshot.read(str(tmp_path / "none"))
    assert snapshot.version is None and snapshot.rows == ()
    assert snapshot.known(["r1"]) == frozenset() and snapshot.spent(["t1"]) == {}


def test_snapshot_answers_what_the_ledger_holds_at_each_version(tmp_path: Path) -> None:
    path = tmp_path / "privacy_budget"
    _write(
        path, [_row("r1", "t1", 0.5, 0.125, "run-1", 0), _row("r2", "t2", 1.0, None, "run-1", 0)]
    )
    _write(path, [_row("r1", "t1", 0.5, 0.125, "run-2", 5)])  # a forced redraw of r1

    now, first = LedgerSnapshot.read(str(path)), LedgerSnapshot.read(str(path), version=0)
    assert (now.version, first.version) == (1, 0)
    assert now.known(["r1", "r2", "r3"]) == {"r1", "r2"}
    assert now.charging_runs(["r1", "r2"]) == {"r1": "run-2", "r2": "run-1"}  # the latest
    assert first.charging_runs(["r1"]) == {"r1": "run-1"}
    spent = now.spent(["t1"])
    assert spent == {("t1", Q1): WindowSpend(1.0, 0.25, True, False)}
    assert now.spent(["t2"]) == {("t2", Q1): WindowSpend(1.0, 0.0, False, True)}  # (ε, δ) row


def test_folding_stored_rows_equals_adding_the_charges() -> None:
    charges = [
        Charge("t1", Q1, Q1, "a", "j", "dp_medium", 0.4, 0.0),
        Charge("t1", Q1, Q1, "b", "j", "dp_medium", 0.3, 1e-6, rho=0.01),
    ]
    added = WindowSpend()
    for charge in charges:
        added = added.plus(charge)
    stored = [
        {
            "tenant_id": "t1",
            "window_start": Q1,
            "epsilon": c.epsilon,
            "rho": c.zcdp_rho,
            "delta": c.delta,
        }
        for c in charges
    ]
    folded = spend_by_window(stored)[("t1", Q1)]
    assert folded == added
    accountant = Accountant(2.0, "quarter", 1e-6)
    assert folded.epsilon_at(accountant.delta) == added.epsilon_at(accountant.delta)
