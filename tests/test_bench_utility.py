"""The utility benchmark's comparison: published share and median relative error per metric."""

from __future__ import annotations

import datetime as dt

import pytest

from bench import bench_utility
from bench.bench_utility import Cells, calendar_months, compare, markdown, metric_columns
from contracts.curated import CURATED_TABLES


def test_metrics_come_from_the_contracts_without_descriptive_columns() -> None:
    assert metric_columns(CURATED_TABLES["public_metrics"]) == ("metric_value",)
    snapshot = metric_columns(CURATED_TABLES["learner_snapshots"])
    assert "sessions" in snapshot and "has_iep" not in snapshot
    for table in CURATED_TABLES.values():
        assert not set(metric_columns(table)) & set(table.key_names)


def test_share_counts_exact_cells_with_data_and_errors_only_published_ones() -> None:
    exact: Cells = {
        ("a",): {"n": 100.0, "mean": 50.0, "_published": 1.0},
        ("b",): {"n": 10.0, "mean": 20.0, "_published": 1.0},
        ("c",): {"n": 0.0, "mean": None, "_published": 1.0},  # empty: not a cell with data
        ("d",): {"n": 4.0, "mean": 0.5, "_published": 1.0},
    }
    released: Cells = {
        ("a",): {"n": 110.0, "mean": 45.0, "_published": 1.0},  # 10 % and 10 %
        ("b",): {"n": 9.0, "mean": 26.0, "_published": 1.0},  # 10 % and 30 %
        ("c",): {"n": 3.0, "mean": None, "_published": 1.0},
        ("d",): {"n": None, "mean": None, "_published": 0.0},  # suppressed
    }
    result = compare("t", "dp_medium", exact, released)
    assert (result.exact_cells, result.published) == (3, 2)
    assert result.published_share == 2 / 3
    assert result.errors["n"] == 0.1
    assert abs((result.errors["mean"] or 0) - 0.2) < 1e-12  # median of 10 % and 30 %


def test_relative_error_of_small_values_is_taken_against_one() -> None:
    exact: Cells = {("a",): {"rate": 0.2, "_published": 1.0}}
    released: Cells = {("a",): {"rate": 0.7, "_published": 1.0}}
    assert abs((compare("t", "dp_high", exact, released).errors["rate"] or 0) - 0.5) < 1e-12


def test_a_table_that_publishes_nothing_is_reported_as_such() -> None:
    exact: Cells = {("a",): {"n": 7.0, "_published": 1.0}}
    nothing = compare("t", "dp_high", exact, {})
    assert (nothing.published, nothing.errors) == (0, {"n": None})
    empty = compare("u", "dp_high", {}, {})
    assert empty.published_share is None
    table = markdown([nothing, empty])
    assert "| t | dp_high | 1 | 0 % | nothing published |" in table
    assert "| u | dp_high | 0 | – |" in table


def test_releases_follow_the_monthly_schedule_over_whole_calendar_months() -> None:
    q1 = calendar_months(dt.date(2025, 1, 1), 90)
    assert q1 == [
        (dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
        (dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
        (dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
    ]
    assert calendar_months(dt.date(2024, 2, 1), 29) == [(dt.date(2024, 2, 1), dt.date(2024, 2, 29))]
    for start, days in [(dt.date(2025, 1, 2), 30), (dt.date(2025, 1, 1), 45)]:
        with pytest.raises(SystemExit, match="not whole calendar months"):
            calendar_months(start, days)


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--levels", "exact,dp_medium"), ("--tables", "weekly"), ("--detail", "iep_progres")],
)
def test_unknown_levels_and_tables_are_refused_before_any_work(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        bench_utility.parse_args([flag, value])
    assert exit_info.value.code == 2
    assert f"{flag}: unknown" in capsys.readouterr().err
    assert bench_utility.parse_args([flag, "weekly_active" if flag != "--levels" else "dp_low"])
