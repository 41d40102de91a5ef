"""Every measure kind has exactly one strategy object, and only ``max`` skips DP noise."""

from __future__ import annotations

from privacy_udfs.measure_kinds import KINDS, MeasureKind, kind_of
from privacy_udfs.measures import MEASURE_KINDS, Measure


def test_every_kind_has_its_strategy_and_no_other_exists() -> None:
    assert set(KINDS) == set(MEASURE_KINDS)
    assert all(isinstance(strategy, MeasureKind) for strategy in KINDS.values())
    assert len({type(strategy) for strategy in KINDS.values()}) == len(KINDS)


def test_only_max_is_left_out_of_the_dp_budget() -> None:
    assert {name for name, kind in KINDS.items() if not kind.noised_under_dp} == {"max"}
    assert type(kind_of(Measure("m", "mean", "minutes"))).__name__ == "Mean"
