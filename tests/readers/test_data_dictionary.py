"""docs/DATA_DICTIONARY.md is generated from the contracts and must be current."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts import dictionary
from contracts.curated import (
    CURATED_TABLES,
    JOB_RUNS,
    PRIVACY_BUDGET,
    PRIVACY_METADATA,
    QUARANTINE,
)
from contracts.raw import RAW_TABLES
from jobs.delta_io import table_properties

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "DATA_DICTIONARY.md"


def test_committed_dictionary_is_current() -> None:
    assert COMMITTED.exists(), "run `python -m contracts.dictionary`"
    assert COMMITTED.read_text(encoding="utf-8") == dictionary.render_data_dictionary(), (
        "docs/DATA_DICTIONARY.md is out of date: run `python -m contracts.dictionary`"
    )


def test_check_flag_detects_a_stale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "DICT.md"
    assert dictionary.main(["--check", "--output", str(target)]) == 1
    assert dictionary.main(["--output", str(target)]) == 0
    assert dictionary.main(["--check", "--output", str(target)]) == 0
    target.write_text(target.read_text(encoding="utf-8").replace("session_daily", "sessions_daily"))
    assert dictionary.main(["--check", "--output", str(target)]) == 1
    assert "out of date" in capsys.readouterr().err


def test_every_table_and_column_is_documented() -> None:
    text = dictionary.render_data_dictionary()
    for name, table in CURATED_TABLES.items():
        section = text.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        for key in ("Grain", "Partitioned by", "Aggregation level", "Suppression rule"):
            assert f"**{key}" in section, (name, key)
        assert table.suppression_rule in section and table.description in section
        for column in table.keys + table.metrics:
            row = f"| `{column.name}` | `{column.type}` |"
            assert row in section, (name, column.name)
            assert column.comment.replace("|", "\\|") in section
    for columns in (PRIVACY_METADATA, JOB_RUNS, PRIVACY_BUDGET, QUARANTINE):
        for column in columns:
            assert f"| `{column.name}` | `{column.type}` |" in text
    for name, columns in RAW_TABLES.items():
        section = text.split(f"### `raw/{name}`", 1)[1].split("\n### ", 1)[0]
        for column in columns:
            marked = f"| `{column.name}` |" in section and (
                "**PII** |" in section.split(f"| `{column.name}` |", 1)[1].split("\n", 1)[0]
            )
            assert marked == (column.treatment == "pii"), (name, column.name)


def test_documented_table_properties_are_the_written_ones() -> None:
    text = dictionary.render_data_dictionary()
    section = text.split("## Delta table properties", 1)[1].split("\n## ", 1)[0]
    documented = {line.split("`")[1] for line in section.splitlines() if line.startswith("| `")}
    for table in CURATED_TABLES.values():
        assert documented == set(table_properties(table, 5)), table.name
