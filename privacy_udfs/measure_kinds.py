"""One object per measure kind: what a ``count``, ``sum``, ``mean``... contributes to a release.

:func:`privacy_udfs.private_aggregate` walks the same steps for every measure (exact
aggregate, true aggregates after bounding (zeros for empty public keys), noise,
post-processing, noise scale, mechanism text); each kind answers for its own
measure at every step, so adding a kind means adding one class here, not a branch
in each step. The release-wide calibration (sensitivities, budget shares, the
noise functions) is asked of the :class:`ReleaseNoise` the release passes in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from pyspark.sql import Column
from pyspark.sql import functions as F
from typing_extensions import override

from privacy_udfs.bounding import ContributionBounds, Sensitivities, clamp
from privacy_udfs.calibration import Accounting, ComponentNoise, epsilon_of_component
from privacy_udfs.measures import Measure
from privacy_udfs.noise import NoiseDraw, exponential_quantile_draw
from privacy_udfs.randomness import RandomSource

ROWS, LEARNERS = "__rows", "__learners"

#: A pair column scaled to the release's C rows per (learner, group).
Scaled = Callable[[str], Column]


class ReleaseNoise(Protocol):
    """The calibration a kind needs from its release (``privacy_udfs.aggregate._DpRelease``)."""

    @property
    def bounds(self) -> ContributionBounds:
        """The release's contribution bounds."""
        ...

    @property
    def accounting(self) -> Accounting:
        """``pure`` or ``zcdp``."""
        ...

    @property
    def source(self) -> RandomSource:
        """The release's randomness."""
        ...

    def noise(self, budget: float, l1: float) -> ComponentNoise:
        """Noise of a component of L1 sensitivity ``l1`` (L2 follows from L)."""
        ...

    def count_noise(self, budget: float) -> ComponentNoise:
        """Noise of a row count (sensitivity L·C)."""
        ...

    def learners_noise_of(self, budget: float) -> ComponentNoise:
        """Noise of a learner count (sensitivity L)."""
        ...

    def sensitivities(self, measure: Measure) -> Sensitivities:
        """L1 sensitivities of the measure's sums."""
        ...

    def midpoint(self, measure: Measure) -> float:
        """Centre of the measure's clamp range."""
        ...

    def shares_learner_count(self, measure: Measure) -> bool:
        """Whether a mean divides by the release's learner count."""
        ...

    def mean_sum_share(self, measure: Measure, share: float) -> float:
        """The part of a mean's share its sum spends."""
        ...

    def mean_denominator(self, measure: Measure) -> Column:
        """The noisy denominator of a mean."""
        ...

    def integer_noise(self, col: str, noise: ComponentNoise, purpose: str) -> NoiseDraw:
        """Discrete noise on an integer column."""
        ...

    def real_noise(self, col: str, noise: ComponentNoise, purpose: str) -> NoiseDraw:
        """Grid-rounded discrete noise on a sum column."""
        ...

    def sum_scale(self, noise: ComponentNoise) -> float:
        """The scale a sum's noise really has."""
        ...


class MeasureKind:
    """A measure kind's part in each step; the defaults are a kind that adds nothing."""

    #: Whether the kind spends a share of the release's budget (``max`` does not).
    noised_under_dp = True

    def exact_zero(self) -> Column | None:
        """Value of an empty public key in the exact release (None: null)."""
        return None

    def exact(self, m: Measure, privacy_id: str, value: str | None) -> Column:
        """The exact aggregate (``anonymized`` level) of the clamped ``value`` column."""
        raise NotImplementedError

    def true_aggregates(self, r: ReleaseNoise, m: Measure, value: Column) -> list[Column]:
        """Scalar aggregates of one learner's rows in one group (before scaling to C rows)."""
        return []

    def group_aggregates(self, r: ReleaseNoise, m: Measure, scaled: Scaled) -> list[Column]:
        """Per-group aggregates of the pair columns.

        ``scaled(name)`` is a pair's column times its row scale ``min(n, C)/n``, so no
        learner adds more than C rows' worth to a group. A public key with no rows
        aggregates one row of nulls: each aggregate must give that key's zero there.
        """
        return []

    def noised(self, r: ReleaseNoise, m: Measure, share: float) -> dict[str, NoiseDraw]:
        """The noisy column(s) of the measure by name, spending ``share`` (ε, or ρ under zCDP)."""
        return {}

    def published(self, r: ReleaseNoise, m: Measure) -> Column | None:
        """The published value from the materialized draws (post-processing); None: as drawn."""
        return None

    def noise_scale(self, r: ReleaseNoise, m: Measure, share: float) -> Column | None:
        """Laplace b or Gaussian σ of the published value (None: not in ``noise_scales``)."""
        return None

    def mechanism(self, r: ReleaseNoise, m: Measure, share: float) -> str:
        """The measure's part of ``noise_mechanism``."""
        raise NotImplementedError


class Count(MeasureKind):
    """Rows per group: discrete noise with sensitivity L·C."""

    @override
    def exact_zero(self) -> Column | None:
        return F.lit(0).cast("long")

    @override
    def exact(self, m: Measure, privacy_id: str, value: str | None) -> Column:
        return F.count(F.lit(1))

    @override
    def noised(self, r: ReleaseNoise, m: Measure, share: float) -> dict[str, NoiseDraw]:
        return {m.name: r.integer_noise(ROWS, r.count_noise(share), m.name)}

    @override
    def published(self, r: ReleaseNoise, m: Measure) -> Column | None:
        return F.greatest(F.col(m.name), F.lit(0).cast("long"))

    @override
    def noise_scale(self, r: ReleaseNoise, m: Measure, share: float) -> Column | None:
        return F.lit(r.count_noise(share).scale)

    @override
    def mechanism(self, r: ReleaseNoise, m: Measure, share: float) -> str:
        return f"{m.name}: {r.count_noise(share).describe()}"


class DistinctCount(Count):
    """Learners per group: discrete noise with sensitivity L."""

    @override
    def exact(self, m: Measure, privacy_id: str, value: str | None) -> Column:
        return F.count_distinct(F.col(privacy_id))

    @override
    def noised(self, r: ReleaseNoise, m: Measure, share: float) -> dict[str, NoiseDraw]:
        return {m.name: r.integer_noise(LEARNERS, r.learners_noise_of(share), m.name)}

    @override
    def noise_scale(self, r: ReleaseNoise, m: Measure, share: float) -> Column | None:
        return F.lit(r.learners_noise_of(share).scale)


class Sum(MeasureKind):
    """Sum of clamped values: grid-rounded, discrete noise in grid units."""

    @override
    def exact_zero(self) -> Column | None:
        return F.lit(0.0)

    @override
    def exact(self, m: Measure, privacy_id: str, value: str | None) -> Column:
        return F.coalesce(F.sum(str(value)), F.lit(0.0))

    @override
    def true_aggregates(self, r: ReleaseNoise, m: Measure, value: Column) -> list[Column]:
        return [F.sum(value).alias(f"__sum_{m.name}")]

    @override
    def group_aggregates(self, r: ReleaseNoise, m: Measure, scaled: Scaled) -> list[Column]:
        name = f"__sum_{m.name}"
        return [F.coalesce(F.sum(scaled(name)), F.lit(0.0)).alias(name)]

    @override
    def noised(self, r: ReleaseNoise, m: Measure, share: float) -> dict[str, NoiseDraw]:
        noise = r.noise(share, r.sensitivities(m).sum)
        return {m.name: r.real_noise(f"__sum_{m.name}", noise, m.name)}

    @override
    def published(self, r: ReleaseNoise, m: Measure) -> Column | None:
        return consistent_sum(m, r.bounds)

    @override
    def noise_scale(self, r: ReleaseNoise, m: Measure, share: float) -> Column | None:
        return F.lit(r.sum_scale(r.noise(share, r.sensitivities(m).sum)))

    @override
    def mechanism(self, r: ReleaseNoise, m: Measure, share: float) -> str:
        return f"{m.name}: grid {r.count_noise(share).describe()}"


class Mean(MeasureKind):
    """Noisy centred sum over a noisy denominator (the learner count when C = 1)."""

    @override
    def exact(self, m: Measure, privacy_id: str, value: str | None) -> Column:
        return F.avg(str(value))

    @override
    def true_aggregates(self, r: ReleaseNoise, m: Measure, value: Column) -> list[Column]:
        centered = F.sum(value - F.lit(r.midpoint(m)))
        return [centered.alias(f"__csum_{m.name}"), F.count(value).alias(f"__cnt_{m.name}")]

    @override
    def group_aggregates(self, r: ReleaseNoise, m: Measure, scaled: Scaled) -> list[Column]:
        csum, count = f"__csum_{m.name}", f"__cnt_{m.name}"
        # A pair's scaled value count is whole unless it has null values; rounding keeps it
        # within [0, C] (its sensitivity) and the count an integer for discrete noise.
        whole_count = F.round(scaled(count)).cast("long")
        return [
            F.coalesce(F.sum(scaled(csum)), F.lit(0.0)).alias(csum),
            F.coalesce(F.sum(whole_count), F.lit(0).cast("long")).alias(count),
        ]

    def _sum_noise(self, r: ReleaseNoise, m: Measure, share: float) -> ComponentNoise:
        return r.noise(r.mean_sum_share(m, share), r.sensitivities(m).centered_sum)

    @override
    def noised(self, r: ReleaseNoise, m: Measure, share: float) -> dict[str, NoiseDraw]:
        noise = self._sum_noise(r, m, share)
        draws = {f"__ncsum_{m.name}": r.real_noise(f"__csum_{m.name}", noise, f"{m.name}/sum")}
        if not r.shares_learner_count(m):
            count = r.integer_noise(f"__cnt_{m.name}", r.count_noise(share / 2), f"{m.name}/count")
            draws[f"__ncnt_{m.name}"] = count
        return draws

    @override
    def published(self, r: ReleaseNoise, m: Measure) -> Column | None:
        lower, upper = m.value_range(r.bounds)
        denominator = F.greatest(r.mean_denominator(m), F.lit(1))
        ratio = F.col(f"__ncsum_{m.name}") / denominator
        return clamp(ratio + F.lit(r.midpoint(m)), lower, upper)

    @override
    def noise_scale(self, r: ReleaseNoise, m: Measure, share: float) -> Column | None:
        # The sum's scale over the noisy denominator: an error bar of the mean.
        denominator = F.greatest(r.mean_denominator(m), F.lit(1))
        return F.lit(r.sum_scale(self._sum_noise(r, m, share))) / denominator

    @override
    def mechanism(self, r: ReleaseNoise, m: Measure, share: float) -> str:
        sum_part = r.count_noise(r.mean_sum_share(m, share)).describe()
        if r.shares_learner_count(m):
            return f"{m.name}: noisy centered sum / the learner count ({sum_part} on the sum)"
        count_part = r.count_noise(share / 2).describe()
        return (
            f"{m.name}: noisy centered sum / its noisy count (sum {sum_part} + count {count_part})"
        )


class Percentile(MeasureKind):
    """A quantile by the exponential mechanism over an equal-width histogram."""

    @override
    def exact(self, m: Measure, privacy_id: str, value: str | None) -> Column:
        return F.percentile(F.col(str(value)), F.lit(m.quantile))

    @override
    def true_aggregates(self, r: ReleaseNoise, m: Measure, value: Column) -> list[Column]:
        lower, upper = m.value_range(r.bounds)
        width = (upper - lower) / m.bins
        index = F.least(F.floor((value - F.lit(lower)) / F.lit(width)), F.lit(m.bins - 1))
        return [
            F.count(F.when(index == F.lit(j), F.lit(1))).alias(f"__hist_{m.name}_{j}")
            for j in range(m.bins)
        ]

    @override
    def group_aggregates(self, r: ReleaseNoise, m: Measure, scaled: Scaled) -> list[Column]:
        # Scaled bin counts are fractional; a learner's total weight is still <= L·C rows,
        # which is the utilities' sensitivity.
        bins = [
            F.coalesce(F.sum(scaled(f"__hist_{m.name}_{j}")), F.lit(0.0)) for j in range(m.bins)
        ]
        return [F.array(*bins).alias(f"__hist_{m.name}")]

    @override
    def noised(self, r: ReleaseNoise, m: Measure, share: float) -> dict[str, NoiseDraw]:
        # The exponential mechanism is pure ε-DP (ε²/2-zCDP).
        epsilon = epsilon_of_component(r.accounting, share)
        lower, upper = m.value_range(r.bounds)
        quantile = exponential_quantile_draw(
            f"__hist_{m.name}",
            quantile=float(m.quantile or 0.5),
            lower=lower,
            upper=upper,
            epsilon=epsilon,
            sensitivity=float(r.bounds.max_partitions * r.bounds.max_rows_per_partition),
            random_source=r.source,
            purpose=m.name,
        )
        return {m.name: quantile}

    @override
    def mechanism(self, r: ReleaseNoise, m: Measure, share: float) -> str:
        e = epsilon_of_component(r.accounting, share)
        return f"{m.name}: exponential_mechanism(bins={m.bins}) ε={e:.6g}"


class Max(MeasureKind):
    """Exact only: a maximum has no bounded sensitivity, so DP releases publish null."""

    noised_under_dp = False

    @override
    def exact(self, m: Measure, privacy_id: str, value: str | None) -> Column:
        return F.max(str(value))

    @override
    def published(self, r: ReleaseNoise, m: Measure) -> Column | None:
        return F.lit(None).cast("double")

    @override
    def mechanism(self, r: ReleaseNoise, m: Measure, share: float) -> str:
        return f"{m.name}: not released under DP"


KINDS: dict[str, MeasureKind] = {
    "count": Count(),
    "distinct_count": DistinctCount(),
    "sum": Sum(),
    "mean": Mean(),
    "percentile": Percentile(),
    "max": Max(),
}


def kind_of(measure: Measure) -> MeasureKind:
    """The strategy object of ``measure``'s kind."""
    return KINDS[measure.kind]


def consistent_sum(measure: Measure, bounds: ContributionBounds) -> Column:
    """A noisy sum kept inside what the clamp range allows: never negative for [0, hi] values.

    Integer-valued sums (counts folded per learner) are rounded to whole numbers.
    Post-processing of the noisy value only.
    """
    lower, upper = measure.value_range(bounds)
    value = F.col(measure.name)
    if lower >= 0:
        value = F.greatest(value, F.lit(0.0))
    if upper <= 0:
        value = F.least(value, F.lit(0.0))
    if measure.integer_valued:
        value = F.round(value, 0)
    return value
