"""What a release computes: :class:`Measure` and the ε split between measures."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from privacy_udfs.bounding import ContributionBounds
from privacy_udfs.errors import PrivacyConfigurationError

MeasureKind = Literal["count", "distinct_count", "sum", "mean", "percentile", "max"]
MEASURE_KINDS: tuple[str, ...] = get_args(MeasureKind)
VALUE_KINDS = frozenset({"sum", "mean", "percentile", "max"})
COUNT_KINDS = frozenset({"count", "distinct_count"})
MAX_BINS = 1024

# Names of the budget components that are not user measures.
LEARNERS_COMPONENT = "_learners"
SELECTION_COMPONENT = "_partition_selection"


@dataclass(frozen=True)
class Measure:
    """One output column of :func:`privacy_udfs.private_aggregate`.

    Attributes:
        name: Output column name.
        kind: ``count`` (rows), ``distinct_count`` (distinct learners), ``sum``,
            ``mean``, ``percentile`` or ``max`` (exact at ``anonymized``, null under DP).
        value_col: Input column for value kinds; must be ``None`` for counts.
        lower: Clamp lower bound for value kinds; defaults to the release's bounds.
        upper: Clamp upper bound for value kinds; defaults to the release's bounds.
        quantile: For ``percentile``: in (0, 1), e.g. 0.5 for the median.
        bins: For ``percentile``: equal-width bins over ``[lower, upper]`` (2..1024).
        integer_valued: For ``sum``: the values are whole numbers (e.g. sessions folded
            per learner), so the noisy sum is rounded to a whole number (post-processing).
    """

    name: str
    kind: MeasureKind
    value_col: str | None = None
    lower: float | None = None
    upper: float | None = None
    quantile: float | None = None
    bins: int = 64
    integer_valued: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not self.name or not self.name.strip():
            problems.append("name must be non-empty")
        if self.kind not in MEASURE_KINDS:
            problems.append(f"kind must be one of {list(MEASURE_KINDS)} (got {self.kind!r})")
        if self.kind in VALUE_KINDS and not self.value_col:
            problems.append(f"kind {self.kind!r} needs value_col")
        if self.kind in COUNT_KINDS and self.value_col is not None:
            problems.append(f"kind {self.kind!r} counts rows or learners; value_col must be None")
        for bound in (self.lower, self.upper):
            if bound is not None and not math.isfinite(bound):
                problems.append(f"lower/upper must be finite (got {bound})")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            problems.append(f"lower must be <= upper (got {self.lower} > {self.upper})")
        if self.kind == "percentile":
            if self.quantile is None or not 0.0 < self.quantile < 1.0:
                problems.append(f"percentile needs quantile in (0, 1) (got {self.quantile})")
            if isinstance(self.bins, bool) or not 2 <= self.bins <= MAX_BINS:
                problems.append(f"bins must be in [2, {MAX_BINS}] (got {self.bins})")
        if self.integer_valued and self.kind != "sum":
            problems.append(f"integer_valued applies only to kind 'sum' (kind is {self.kind!r})")
        if self.quantile is not None and self.kind != "percentile":
            problems.append(f"quantile applies only to kind 'percentile' (kind is {self.kind!r})")
        if problems:
            raise PrivacyConfigurationError(
                f"Invalid Measure {self.name!r}: " + "; ".join(problems)
            )

    def value_range(self, bounds: ContributionBounds) -> tuple[float, float]:
        """The clamp range: the measure's own bounds, else the release's.

        Raises:
            PrivacyConfigurationError: Neither gives a range, or it is empty.
        """
        lower = bounds.lower if self.lower is None else self.lower
        upper = bounds.upper if self.upper is None else self.upper
        if lower is None or upper is None:
            raise PrivacyConfigurationError(
                f"Measure {self.name!r} needs a clamp range: set lower/upper on the measure "
                "or on the ContributionBounds (from domain knowledge, never from the data)"
            )
        if lower > upper:
            raise PrivacyConfigurationError(
                f"Measure {self.name!r}: clamp range [{lower}, {upper}] is empty "
                "(set lower/upper on the measure or the ContributionBounds)"
            )
        return lower, upper


def split_epsilon(
    components: Sequence[str],
    total: float,
    epsilon_split: Mapping[str, float] | None,
) -> dict[str, float]:
    """ε per budget component by sequential composition: equal, or as given.

    Args:
        components: Names that spend ε (noised measures, ``_learners``, ``_partition_selection``).
        total: The release's ε.
        epsilon_split: Explicit ε per component; must name exactly ``components`` and sum to
            ``total``.

    Raises:
        PrivacyConfigurationError: The split names other components, has a non-positive
            share, or does not add up to ``total``.
    """
    if not (math.isfinite(total) and total > 0):
        raise PrivacyConfigurationError(f"epsilon must be positive and finite, got {total}")
    if not components:
        return {}
    if epsilon_split is None:
        return {name: total / len(components) for name in components}
    missing = sorted(set(components) - set(epsilon_split))
    extra = sorted(set(epsilon_split) - set(components))
    bad = sorted(n for n, e in epsilon_split.items() if not (math.isfinite(e) and e > 0))
    problems = []
    if missing:
        problems.append(f"missing {missing}")
    if extra:
        problems.append(f"not part of this release {extra}")
    if bad:
        problems.append(f"non-positive shares for {bad}")
    if not problems and not math.isclose(sum(epsilon_split.values()), total, rel_tol=1e-9):
        problems.append(f"shares sum to {sum(epsilon_split.values())}, not epsilon={total}")
    if problems:
        raise PrivacyConfigurationError(
            f"Invalid epsilon_split (components are {list(components)}): " + "; ".join(problems)
        )
    return {name: float(epsilon_split[name]) for name in components}
