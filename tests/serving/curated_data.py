"""Small REAL Delta tables matching the curated contract, written with delta-rs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import write_deltalake

from contracts.columns import Column, arrow_schema
from contracts.curated import CURATED_TABLES, JOB_RUNS, OPS_TENANTS, PRIVACY_BUDGET

METADATA_DEFAULTS: dict[str, Any] = {
    "privacy_level": "anonymized",
    "epsilon": 0.0,
    "delta": 0.0,
    "k_threshold": 5,
    "noise_mechanism": "none",
    "insufficient_data": False,
    "noise_scales": None,
    "job_run_id": "run-test",
}


def _table_spec(name: str) -> tuple[tuple[Column, ...], list[str], dict[str, Any]]:
    if name == "job_runs":
        return JOB_RUNS, ["tenant_id"], {}
    if name == "privacy_budget":
        return PRIVACY_BUDGET, ["tenant_id"], {}
    if name == "tenants":
        return OPS_TENANTS, [], {}
    table = CURATED_TABLES[name]
    defaults = {**METADATA_DEFAULTS, "aggregation_level": table.aggregation_level}
    return table.columns, list(table.partition_by), defaults


def arrow_rows(
    name: str, rows: Sequence[dict[str, Any]], extra_columns: Sequence[pa.Field] = ()
) -> pa.Table:
    """Rows of table ``name`` with contract defaults filled in, cast to the contract schema."""
    columns, _, defaults = _table_spec(name)
    schema = arrow_schema(columns)
    for field in extra_columns:
        schema = schema.append(field)
    filled = [{**defaults, **row} for row in rows]
    data = {f.name: [row.get(f.name) for row in filled] for f in schema}
    return pa.table(data, schema=schema)


def write_table(
    root: Path,
    name: str,
    rows: Sequence[dict[str, Any]],
    *,
    mode: str = "append",
    extra_columns: Sequence[pa.Field] = (),
) -> None:
    """Write ``rows`` to ``<root>/curated/<name>`` (or ``ops/`` for the ledgers) as Delta."""
    _, partition_by, _ = _table_spec(name)
    area = "ops" if name in ("job_runs", "privacy_budget", "tenants") else "curated"
    write_deltalake(
        str(root / area / name),
        arrow_rows(name, rows, extra_columns),
        partition_by=partition_by or None,
        mode=mode,  # type: ignore[arg-type]
        schema_mode="overwrite" if mode == "overwrite" else None,
    )
