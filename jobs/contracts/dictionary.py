"""The data dictionary, generated from the table contracts: ``docs/DATA_DICTIONARY.md``.

Every curated table (description, grain, partitioning, aggregation level,
suppression rule, columns with type, meaning and privacy treatment), the
privacy metadata columns every curated row carries, the Delta table
properties, the operational ledgers and the raw tables (marked PII) are
rendered from :mod:`jobs.contracts`; nothing here is written by hand.

    python -m jobs.contracts.dictionary            # rewrite docs/DATA_DICTIONARY.md
    python -m jobs.contracts.dictionary --check    # exit 1 if the file is out of date

The module imports no Spark, so it runs anywhere the contracts do.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from jobs.contracts.columns import Column
from jobs.contracts.curated import (
    CURATED_TABLES,
    JOB_RUNS,
    OPS_TENANTS,
    PRIVACY_BUDGET,
    PRIVACY_METADATA,
    QUARANTINE,
    RUN_REQUESTS,
    CuratedTable,
)
from jobs.contracts.raw import RAW_TABLES

DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "DATA_DICTIONARY.md"

# The Delta table properties every curated table carries (see jobs.delta_io.table_properties).
_TABLE_PROPERTIES: tuple[tuple[str, str], ...] = (
    ("comment", "The table's description (below)."),
    ("privacy.pii", "Statement that no raw id, name, email, address or birth date is present."),
    ("privacy.pseudonyms", "How learner pseudonyms are computed (keyed HMAC-SHA256)."),
    ("privacy.aggregation_level", "individual, cohort, tenant or platform."),
    ("privacy.k_threshold", "Minimum distinct learners for metrics to be published."),
    ("privacy.suppression_rule", "The table's suppression rule (below)."),
    ("privacy.noise", "The noise mechanism and where its parameters are recorded."),
    ("privacy.grain", "The key columns, comma-separated."),
)

_LEDGERS: tuple[tuple[str, str, str, tuple[Column, ...]], ...] = (
    (
        "job_runs",
        "ops/job_runs",
        "One row per job run: status, timings, row counts and ε charged.",
        JOB_RUNS,
    ),
    (
        "privacy_budget",
        "ops/privacy_budget",
        "ε charged per tenant, period and release; a release over budget is refused.",
        PRIVACY_BUDGET,
    ),
    (
        "run_requests",
        "ops/run_requests",
        "ETL runs requested through the API, claimed by workers (python -m jobs.worker).",
        RUN_REQUESTS,
    ),
    (
        "quarantine",
        "quarantine/rows",
        "Rejected raw rows with the reason and run id. Holds PII: same access as raw/.",
        QUARANTINE,
    ),
    (
        "tenants",
        "ops/tenants",
        "The tenant registry as the last run saw it, with learner counts: what operators "
        "and the API's root-only tenant list read (the API never reads raw/).",
        OPS_TENANTS,
    ),
)


def _cell(text: str) -> str:
    """Escape a value for a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ").strip() or "–"


def _column_table(columns: Sequence[Column], *, with_treatment: bool = True) -> list[str]:
    """Render columns as a Markdown table."""
    if with_treatment:
        lines = [
            "| Column | Type | Nullable | Meaning | Privacy treatment |",
            "|---|---|---|---|---|",
        ]
    else:
        lines = ["| Column | Type | Nullable | Meaning |", "|---|---|---|---|"]
    for column in columns:
        cells = [
            f"`{column.name}`",
            f"`{column.type}`",
            "yes" if column.nullable else "no",
            _cell(column.comment),
        ]
        if with_treatment:
            cells.append(_cell(column.treatment))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _curated_section(table: CuratedTable) -> list[str]:
    """Render one curated table."""
    partitioning = ", ".join(f"`{c}`" for c in table.partition_by) or "none (small table)"
    lines = [
        f"### `{table.name}`",
        "",
        table.description,
        "",
        f"- **Location:** `<data_root>/curated/{table.name}`",
        f"- **Grain (one row per):** {', '.join(f'`{k}`' for k in table.key_names)}",
        f"- **Period column:** `{table.period_column}`",
        f"- **Partitioned by:** {partitioning}",
        f"- **Aggregation level:** {table.aggregation_level}",
        f"- **Suppression rule:** {table.suppression_rule}",
        f"- **Metrics (nulled when suppressed):** {', '.join(f'`{m}`' for m in table.metric_names)}",
        "",
        "Keys and metrics (followed by the [privacy metadata columns](#privacy-metadata-columns)):",
        "",
        *_column_table(table.keys + table.metrics),
        "",
    ]
    return lines


def render_data_dictionary() -> str:
    """Render the whole data dictionary as Markdown (deterministic: same contracts, same text)."""
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated by `python -m jobs.contracts.dictionary` from jobs/contracts/. "
        "Do not edit by hand. -->",
        "",
        "Generated from the table contracts in `jobs/contracts/` (the same objects the jobs "
        "write with and the API reads with). Regenerate with "
        "`python -m jobs.contracts.dictionary`; the test suite fails when this file is stale.",
        "",
        "Layout under the data root: `raw/<table>` (PII), `quarantine/rows` (PII), "
        "`curated/<table>` (published, no PII), `ops/job_runs` and `ops/privacy_budget`.",
        "",
        "**Privacy treatments.** *public key*: a key whose values are known in advance "
        "(tenants, days, subjects, bands, IEP categories, support levels, each tenant's "
        "course catalogue), released for every value, empty ones included; "
        "*data-dependent key*: a key "
        "whose existence depends on the data, released under DP only if it passes DP "
        "partition selection; *pseudonym*: keyed HMAC-SHA256, never a raw id; *count*, "
        "*distinct count*, *sum*, *mean*, *percentile*: noised under DP by the matching "
        "mechanism (see `noise_mechanism`); *max*: exact at `anonymized`, null under DP; "
        "*derived*: computed from noised values (post-processing); *generalized*: banded; "
        "*quasi-identifier*: with the tenant, an attribute that could single a learner out, "
        "generalised or withheld until every published combination has at least k rows; "
        "*descriptive*: a label, not a measurement; *metadata*: describes the release.",
        "",
        "## Contents",
        "",
        *[f"- [`{name}`](#{name})" for name in CURATED_TABLES],
        "- [Privacy metadata columns](#privacy-metadata-columns)",
        "- [Delta table properties](#delta-table-properties)",
        "- [Operational ledgers](#operational-ledgers)",
        "- [Raw tables (PII)](#raw-tables-pii)",
        "",
        "## Curated tables",
        "",
    ]
    for table in CURATED_TABLES.values():
        lines += _curated_section(table)
    lines += [
        "## Privacy metadata columns",
        "",
        "Every curated row ends with these columns; they say how that row was protected.",
        "",
        *_column_table(PRIVACY_METADATA),
        "",
        "## Delta table properties",
        "",
        "Every curated table carries these Delta table properties (readable with Spark "
        "`DESCRIBE DETAIL` or delta-rs `DeltaTable.metadata().configuration`) and a comment "
        "on every column, so a reader outside this project knows what it holds.",
        "",
        "| Property | Meaning |",
        "|---|---|",
        *[f"| `{key}` | {_cell(meaning)} |" for key, meaning in _TABLE_PROPERTIES],
        "",
        "## Operational ledgers",
        "",
    ]
    for name, location, description, columns in _LEDGERS:
        lines += [
            f"### `{name}`",
            "",
            description,
            "",
            f"- **Location:** `<data_root>/{location}`",
            "",
            *_column_table(columns),
            "",
        ]
    lines += [
        "## Raw tables (PII)",
        "",
        "Raw tables are the only place PII lives; jobs read them, nothing in them is "
        "copied to a curated table. Columns marked **PII** never leave `raw/` (and "
        "`quarantine/`).",
        "",
    ]
    for name, columns in RAW_TABLES.items():
        pii = [c.name for c in columns if c.treatment == "pii"]
        lines += [
            f"### `raw/{name}`",
            "",
            f"- **PII columns:** {', '.join(f'`{c}`' for c in pii) or 'none'}",
            "",
            "| Column | Type | Nullable | Meaning | PII |",
            "|---|---|---|---|---|",
            *[
                f"| `{c.name}` | `{c.type}` | {'yes' if c.nullable else 'no'} | "
                f"{_cell(c.comment)} | {'**PII**' if c.treatment == 'pii' else ''} |"
                for c in columns
            ],
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the dictionary, or with ``--check`` report whether the file is current."""
    parser = argparse.ArgumentParser(
        prog="python -m jobs.contracts.dictionary",
        description="Generate docs/DATA_DICTIONARY.md from the table contracts.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the file differs from the generated text",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"file to write or check (default {DEFAULT_OUTPUT})",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    text = render_data_dictionary()
    output: Path = args.output
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if current != text:
            print(
                f"{output} is out of date: run `python -m jobs.contracts.dictionary`",
                file=sys.stderr,
            )
            return 1
        print(f"{output} is up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
