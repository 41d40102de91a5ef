"""k-suppression (seed 003 Phase 3): identifiers stay, metrics go null under k."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession

from privacy_udfs import MissingColumnsError, PrivacyConfigurationError, suppress_small_groups
from privacy_udfs.suppression import with_complementary_suppression


def test_seed_003_mixed_cohorts(spark: SparkSession) -> None:
    source = spark.createDataFrame(
        [
            ("Large", 50, 82.0),
            ("Small", 2, 95.0),
            ("Medium", 8, 77.5),
            ("Edge", 5, 60.0),
            ("Empty", 0, None),
        ],
        "name string, total long, avg double",
    )
    actual = suppress_small_groups(source, 5, "total", ["avg"])
    expected = spark.createDataFrame(
        [
            ("Large", 50, 82.0, False),
            ("Small", 2, None, True),
            ("Medium", 8, 77.5, False),
            ("Edge", 5, 60.0, False),
            ("Empty", 0, None, True),
        ],
        "name string, total long, avg double, insufficient_data boolean",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_existing_flag_is_kept_and_count_can_be_suppressed(spark: SparkSession) -> None:
    source = spark.createDataFrame(
        [("a", 9, 1.0, True), ("b", 9, 2.0, False), ("c", None, 3.0, False)],
        "name string, n long, v double, insufficient_data boolean",
    )
    actual = suppress_small_groups(source, 5, "n", ["n", "v"])
    expected = spark.createDataFrame(
        [("a", None, None, True), ("b", 9, 2.0, False), ("c", None, None, True)],
        "name string, n long, v double, insufficient_data boolean",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    counts=st.lists(st.one_of(st.none(), st.integers(-3, 12)), min_size=1, max_size=60),
    k=st.integers(1, 10),
)
def test_no_metric_is_ever_emitted_under_k(
    spark: SparkSession, counts: list[int | None], k: int
) -> None:
    source = spark.createDataFrame(
        [(i, c, 1.5, 7) for i, c in enumerate(counts)], "g int, n long, mean double, total int"
    )
    for row in suppress_small_groups(source, k, "n", ["mean", "total"]).collect():
        small = row.n is None or row.n < k
        assert row.insufficient_data is small
        assert (
            (row.mean is None and row.total is None) if small else (row.mean, row.total) == (1.5, 7)
        )


def test_arguments_are_checked(spark: SparkSession) -> None:
    source = spark.createDataFrame([(1, 2.0)], "n long, v double")
    with pytest.raises(MissingColumnsError, match=r"\['avg'\]"):
        suppress_small_groups(source, 5, "n", ["avg"])
    with pytest.raises(PrivacyConfigurationError, match="k must be"):
        suppress_small_groups(source, 0, "n", ["v"])


# ---- complementary suppression ---------------------------------------------------------

PARTS_SCHEMA = "g int, part string, n long, total double, hidden boolean"


def _parts(spark: SparkSession, groups: list[list[tuple[int, bool]]]):
    """One row per (group, part): count n, a metric (here the count again), hidden flag."""
    rows = [
        (g, f"p{i:02d}", n, float(n), hidden)
        for g, parts in enumerate(groups)
        for i, (n, hidden) in enumerate(parts)
    ]
    return spark.createDataFrame(rows, PARTS_SCHEMA)


def _suppressed_by_group(rows) -> dict[int, dict[str, tuple[int, bool]]]:
    """group -> part -> (true count, suppressed); checks published values are untouched."""
    out: dict[int, dict[str, tuple[int, bool]]] = {}
    for r in rows:
        assert (r.total is None) is r.insufficient_data
        out.setdefault(r.g, {})[r.part] = (r.n, r.insufficient_data)
    return out


def _run(spark: SparkSession, groups, k: int, overlapping: bool):
    released = with_complementary_suppression(
        _parts(spark, groups),
        k,
        group_cols=["g"],
        part_col="part",
        count_col="n",
        metric_cols=["total"],
        overlapping=overlapping,
        hidden_col="hidden",
    )
    return _suppressed_by_group(released.collect())


def test_complementary_examples(spark: SparkSession) -> None:
    k = 5
    groups = [
        [(1, False), (6, False), (9, False)],  # 1 alone is exposed: 6 goes too (1 + 6 >= 5)
        [(2, False), (3, False), (10, False)],  # 2 + 3 = 5 >= k: nothing more
        [(0, False), (0, False), (7, False)],  # the suppressed cells are empty: a derived 0
        [(1, False), (0, False), (7, False), (8, False)],  # 1 + 0: the 7 goes, not the 8
        [(8, False), (9, False)],  # nothing small: nothing suppressed
        [(2, True), (6, False), (9, False)],  # a hidden remainder of 2 learners: 6 goes
    ]
    suppressed = {
        g: sorted(p for p, (_n, s) in parts.items() if s)
        for g, parts in _run(spark, groups, k, overlapping=False).items()
    }
    assert suppressed == {
        0: ["p00", "p01"],
        1: ["p00", "p01"],
        2: ["p00", "p01"],
        3: ["p00", "p01", "p02"],
        4: [],
        5: ["p00", "p01"],
    }
    # Overlapping parts (subjects): a small part is covered by the smallest part of >= k.
    overlapping = {
        g: sorted(p for p, (_n, s) in parts.items() if s)
        for g, parts in _run(spark, groups, k, overlapping=True).items()
    }
    assert overlapping == {
        0: ["p00", "p01"],
        1: ["p00", "p01", "p02"],  # 2 and 3 may be the same 3 learners: the 10 goes too
        2: ["p00", "p01"],
        3: ["p00", "p01", "p02"],
        4: [],
        5: ["p00", "p01"],
    }


PARTS_WITH_HIDDEN = st.lists(
    st.lists(
        st.tuples(st.integers(0, 12), st.sampled_from([False, False, False, True])), max_size=7
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(groups=PARTS_WITH_HIDDEN, k=st.integers(1, 8))
def test_disjoint_parts_no_suppressed_sum_under_k_can_be_derived(
    spark: SparkSession, groups: list[list[tuple[int, bool]]], k: int
) -> None:
    hidden = {(g, f"p{i:02d}") for g, ps in enumerate(groups) for i, (_n, h) in enumerate(ps) if h}
    for g, parts in _run(spark, groups, k, overlapping=False).items():
        total = sum(n for n, _s in parts.values())
        suppressed = {p: n for p, (n, s) in parts.items() if s}
        primary = {p: n for p, (n, _s) in parts.items() if n < k or (g, p) in hidden}
        assert primary.keys() <= suppressed.keys()  # every small or hidden part is suppressed
        if total >= k:  # a total the caller publishes: total - published = sum(suppressed)
            assert sum(suppressed.values()) == 0 or sum(suppressed.values()) >= k
        # Minimal: nothing beyond the primary parts unless they were exposed, and then only
        # a smallest-first prefix of the others that is needed to reach k.
        extra = sorted(n for p, n in suppressed.items() if p not in primary)
        if sum(primary.values()) == 0 or sum(primary.values()) >= k:
            assert extra == []
        else:
            published = sorted(n for p, (n, s) in parts.items() if not s)
            assert not extra or not published or max(extra) <= min(published)
            assert sum(primary.values()) + sum(extra[:-1]) < k


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(groups=PARTS_WITH_HIDDEN, k=st.integers(1, 8))
def test_overlapping_parts_the_difference_always_spans_k_learners(
    spark: SparkSession, groups: list[list[tuple[int, bool]]], k: int
) -> None:
    hidden = {(g, f"p{i:02d}") for g, ps in enumerate(groups) for i, (_n, h) in enumerate(ps) if h}
    for g, parts in _run(spark, groups, k, overlapping=True).items():
        suppressed = [n for p, (n, s) in parts.items() if s]
        published = [n for p, (n, s) in parts.items() if not s]
        assert all(s for p, (n, s) in parts.items() if n < k or (g, p) in hidden)
        if any(n > 0 for n in suppressed):
            assert max(suppressed) >= k or not published
        assert len(suppressed) <= 1 + sum(
            1 for p, (n, _s) in parts.items() if n < k or (g, p) in hidden
        )


def test_complementary_arguments_are_checked(spark: SparkSession) -> None:
    source = _parts(spark, [[(1, False)]])
    with pytest.raises(MissingColumnsError, match="nope"):
        with_complementary_suppression(
            source, 5, group_cols=["g"], part_col="part", count_col="nope", metric_cols=[]
        )
    with pytest.raises(PrivacyConfigurationError, match="k must be"):
        with_complementary_suppression(
            source, 0, group_cols=["g"], part_col="part", count_col="n", metric_cols=[]
        )
