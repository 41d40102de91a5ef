"""Rows are built by column name against their contract, never by position."""

from __future__ import annotations

import datetime as dt

import pytest

from contracts.columns import RowShapeError, row_of
from contracts.curated import JOB_RUNS, PRIVACY_BUDGET


def test_a_row_follows_the_contract_order_whatever_order_the_values_come_in() -> None:
    day, now = dt.date(2025, 1, 1), dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    values = {
        "pid": 7,
        "run_id": "r",
        "status": "running",
        "job_name": "run_all",
        "period_end": day,
        "period_start": day,
        "privacy_level": "dp_medium",
        "started_at": now,
    }
    row = row_of(JOB_RUNS, values)
    names = [c.name for c in JOB_RUNS]
    assert len(row) == len(names)
    assert {names[i]: v for i, v in enumerate(row) if v is not None} == values


def test_unknown_and_missing_required_columns_are_named() -> None:
    required = [c.name for c in PRIVACY_BUDGET if not c.nullable]
    assert required  # the ledger has required columns: the check below is not vacuous
    with pytest.raises(RowShapeError) as error:
        row_of(PRIVACY_BUDGET, {"tenant": "t1", "epsilon": 1.0, "charged_at": dt.datetime.now()})
    message = str(error.value)
    assert "'tenant'" in message
    assert all(f"'{name}'" in message for name in required if name not in ("epsilon", "charged_at"))
