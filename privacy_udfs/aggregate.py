"""``private_aggregate``: one call per metric table, exact or differentially private.

At ``anonymized`` level: exact aggregates, suppression on the true learner count.
At a DP level the pipeline is::

    events ─ clamp values ─ bound contributions (L partitions, C rows per learner)
           ─ true aggregates per group (one pass; histograms for percentiles)
           ─ public keys (left join, empty groups included)  or  DP partition selection
           ─ noise (pandas UDFs, one stream per partition) ─ localCheckpoint
           ─ post-processing: means, clamps, suppression on the *noisy* learner count

The noised aggregate is materialized with ``localCheckpoint(eager=True)``
before anything reads it twice, so the suppression decision and the published
value are the same draw, and every later action (count, write) sees that draw.
The checkpoint lives in executor storage: if an executor holding it is lost,
reading fails instead of silently drawing fresh noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from contracts.levels import PrivacyLevel
from privacy_udfs.bounding import ContributionBounds, Sensitivities, bound_contributions, clamp
from privacy_udfs.calibration import (
    ACCOUNTINGS,
    Accounting,
    ComponentNoise,
    ci95_half_width,
    epsilon_of_component,
    release_budget,
)
from privacy_udfs.errors import PrivacyConfigurationError, require_columns
from privacy_udfs.gaussian import gaussian_grid_noise
from privacy_udfs.measures import (
    LEARNERS_COMPONENT,
    SELECTION_COMPONENT,
    VALUE_KINDS,
    Measure,
    split_epsilon,
)
from privacy_udfs.mechanisms import grid_noise, partition_selection_threshold
from privacy_udfs.noise import (
    exponential_quantile,
    gaussian_count,
    gaussian_sum,
    laplace_count,
    laplace_sum,
)
from privacy_udfs.partition_selection import is_selected, noisy_selection_count
from privacy_udfs.randomness import RandomSource, secure_random_source
from privacy_udfs.suppression import INSUFFICIENT_DATA, suppress_small_groups

RELEASE_COLUMNS: tuple[str, ...] = (
    "noise_scales",
    "ci95",
    "epsilon",
    "delta",
    "noise_mechanism",
    INSUFFICIENT_DATA,
)
_ROWS, _LEARNERS, _NOISY_LEARNERS, _SELECTION = "__rows", "__learners", "__noisy_learners", "__sel"


def private_aggregate(
    df: DataFrame,
    *,
    privacy_id: str,
    group_cols: Sequence[str],
    measures: Sequence[Measure],
    level: PrivacyLevel,
    bounds: ContributionBounds,
    epsilon: float | None = None,
    epsilon_split: Mapping[str, float] | None = None,
    public_groups: DataFrame | None = None,
    partition_selection_delta: float | None = None,
    k_threshold: int = 5,
    random_source: RandomSource | None = None,
    accounting: Accounting = "pure",
    delta: float = 1e-6,
    rho: float | None = None,
    suppression_margin: bool = True,
) -> DataFrame:
    """Aggregate ``df`` per group at ``level``, with noise, metadata and k-suppression.

    Args:
        df: One row per event: ``privacy_id``, ``group_cols`` and the measures' value columns.
        privacy_id: Learner pseudonym column (bounding and distinct counts are per learner).
        group_cols: Grain of the output.
        measures: Output columns, in order.
        level: ``anonymized`` (exact) or a DP level.
        bounds: Contribution caps (DP only) and default clamp range of value measures.
        epsilon: ε of the release; defaults to ``level.epsilon``. DP only.
        epsilon_split: ε per component instead of an equal split. Components are the
            measures except ``max``, plus ``"_learners"`` (the noisy learner count deciding
            suppression, when no ``distinct_count`` measure is asked for and ``k_threshold``
            > 0) and ``"_partition_selection"`` (when keys are selected, not public).
        public_groups: The key list when it is public (tenants × days, subjects...):
            exactly these keys are released, empty ones included (noisy zeros under DP).
        partition_selection_delta: δ of DP partition selection; needed under DP when
            ``public_groups`` is not given (data-dependent keys).
        k_threshold: Groups with fewer learners (true count when anonymized, noisy count
            under DP) get null metrics and ``insufficient_data = true``; 0 disables it.
            It is independent of partition selection, whose own threshold follows from
            ``partition_selection_delta`` (a key is never selected below 1 learner).
        random_source: Defaults to the OS CSPRNG.
        accounting: ``pure`` (ε-DP, discrete Laplace) or ``zcdp`` (ρ-zCDP with the
            discrete Gaussian; the release is (ε, ``delta``)-DP). zCDP needs public keys.
        delta: δ of a ``zcdp`` release's (ε, δ) guarantee (ignored under ``pure``).
        rho: Under ``zcdp``, the release's ρ when it is a share of a larger zCDP
            release (e.g. one table of a run); then ``epsilon`` is ignored and the
            published ε is this ρ's conversion at ``delta``.
        suppression_margin: Under DP, publish a group only when its noisy learner count
            reaches ``k_threshold`` plus the count's 95 % error bar, so that empty groups
            do not show noise (post-processing; ``False`` compares with k alone).

    Returns:
        ``group_cols`` + one column per measure (counts ``long``, others ``double``) +
        ``noise_scales`` (map: noise scale per noised measure, Laplace b or Gaussian σ;
        for a mean, its sum's scale divided by the noisy denominator) + ``ci95`` (map:
        95 % half-width per noised measure) + ``epsilon`` + ``delta`` +
        ``noise_mechanism`` + ``insufficient_data``. Under DP it is backed by a local
        checkpoint of the noise.

    Raises:
        PrivacyConfigurationError: An argument is invalid (the message says which and why).
        MissingColumnsError: ``df`` or ``public_groups`` lacks a needed column.
    """
    groups = list(group_cols)
    _validate_release(df, privacy_id, groups, measures, k_threshold, public_groups)
    if not level.is_dp:
        return _exact_release(df, privacy_id, groups, measures, bounds, public_groups, k_threshold)
    if public_groups is None and partition_selection_delta is None:
        raise PrivacyConfigurationError(
            "Under DP the released group keys must be public or DP-selected: pass "
            "public_groups (key list known in advance) or partition_selection_delta "
            "(e.g. 1e-6) for data-dependent keys"
        )
    if public_groups is not None and partition_selection_delta is not None:
        raise PrivacyConfigurationError(
            "partition_selection_delta applies only to data-dependent keys; with "
            "public_groups every public key is released: drop one of the two"
        )
    if accounting not in ACCOUNTINGS:
        raise PrivacyConfigurationError(
            f"accounting must be one of {list(ACCOUNTINGS)}, got {accounting!r}"
        )
    if accounting == "zcdp" and public_groups is None:
        raise PrivacyConfigurationError(
            "zCDP releases need public_groups: partition selection is accounted in pure ε"
        )
    total = epsilon if epsilon is not None else level.epsilon
    if total is None:  # unreachable: every DP level defines its epsilon
        raise PrivacyConfigurationError(f"level {level} has no epsilon")
    if rho is not None:
        if accounting != "zcdp" or not (math.isfinite(rho) and rho > 0):
            raise PrivacyConfigurationError(
                f"rho applies to accounting='zcdp' and must be positive (got {rho!r})"
            )
        from privacy_udfs.zcdp import epsilon_of_rho

        total = epsilon_of_rho(rho, delta)
    release = _DpRelease(
        privacy_id=privacy_id,
        groups=groups,
        measures=tuple(measures),
        bounds=bounds,
        k_threshold=k_threshold,
        selection_delta=partition_selection_delta,
        source=random_source if random_source is not None else secure_random_source(),
        accounting=accounting,
        delta=delta,
        suppression_margin=suppression_margin,
        rho=rho,
    )
    return release.run(df, public_groups, total, epsilon_split)


def _validate_release(
    df: DataFrame,
    privacy_id: str,
    groups: list[str],
    measures: Sequence[Measure],
    k_threshold: int,
    public_groups: DataFrame | None,
) -> None:
    if not groups:
        raise PrivacyConfigurationError("group_cols must name at least one column")
    if not measures:
        raise PrivacyConfigurationError("measures must contain at least one Measure")
    names = [m.name for m in measures]
    clashes = sorted(
        {n for n in names if names.count(n) > 1}
        | (set(names) & (set(groups) | set(RELEASE_COLUMNS)))
    )
    if clashes:
        raise PrivacyConfigurationError(
            f"Measure names must be unique and differ from group and metadata columns: {clashes}"
        )
    if isinstance(k_threshold, bool) or not isinstance(k_threshold, int) or k_threshold < 0:
        raise PrivacyConfigurationError(f"k_threshold must be an integer >= 0, got {k_threshold!r}")
    values = [m.value_col for m in measures if m.value_col]
    require_columns("private_aggregate df", df.columns, [privacy_id, *groups, *values])
    if public_groups is not None:
        require_columns("private_aggregate public_groups", public_groups.columns, groups)


def _clamped_values(
    df: DataFrame,
    privacy_id: str,
    groups: list[str],
    measures: Sequence[Measure],
    bounds: ContributionBounds,
) -> tuple[DataFrame, dict[str, str]]:
    """Select the id, keys and each value measure's clamped input as ``__v<i>``."""
    value_cols = {m.name: f"__v{i}" for i, m in enumerate(measures) if m.kind in VALUE_KINDS}
    clamped = [
        clamp(str(m.value_col), *m.value_range(bounds)).alias(value_cols[m.name])
        for m in measures
        if m.name in value_cols
    ]
    return df.select(privacy_id, *groups, *clamped), value_cols


def _with_public_keys(
    aggregated: DataFrame, public_groups: DataFrame, groups: list[str], zeros: Mapping[str, Column]
) -> DataFrame:
    """Release exactly the public keys: left join, empty groups get ``zeros``."""
    keys = public_groups.select(*groups).distinct()
    joined = keys.join(aggregated, on=groups, how="left")
    return joined.withColumns(
        {name: F.coalesce(F.col(name), zero) for name, zero in zeros.items()}
    )  # shape: one row per public key


def _exact_release(
    df: DataFrame,
    privacy_id: str,
    groups: list[str],
    measures: Sequence[Measure],
    bounds: ContributionBounds,
    public_groups: DataFrame | None,
    k_threshold: int,
) -> DataFrame:
    values, value_cols = _clamped_values(df, privacy_id, groups, measures, bounds)
    exact = {
        "count": lambda m: F.count(F.lit(1)),
        "distinct_count": lambda m: F.count_distinct(F.col(privacy_id)),
        "sum": lambda m: F.coalesce(F.sum(value_cols[m.name]), F.lit(0.0)),
        "mean": lambda m: F.avg(value_cols[m.name]),
        "percentile": lambda m: F.percentile(F.col(value_cols[m.name]), F.lit(m.quantile)),
        "max": lambda m: F.max(value_cols[m.name]),
    }
    aggregated = values.groupBy(*groups).agg(
        F.count_distinct(F.col(privacy_id)).alias(_LEARNERS),
        *[exact[m.kind](m).alias(m.name) for m in measures],
    )  # shape: one row per group present in df
    if public_groups is not None:
        zeros = {_LEARNERS: F.lit(0).cast("long")}
        zeros |= {
            m.name: F.lit(0).cast("long") for m in measures if m.kind in ("count", "distinct_count")
        }
        zeros |= {m.name: F.lit(0.0) for m in measures if m.kind == "sum"}
        aggregated = _with_public_keys(aggregated, public_groups, groups, zeros)
    released = aggregated.withColumns(
        {
            "noise_scales": F.create_map().cast("map<string,double>"),
            "ci95": F.create_map().cast("map<string,double>"),
            "epsilon": F.lit(0.0),
            "delta": F.lit(0.0),
            "noise_mechanism": F.lit("none"),
        }
    )
    return _finish(released, groups, measures, k_threshold, _LEARNERS)


def _finish(
    released: DataFrame,
    groups: list[str],
    measures: Sequence[Measure],
    k: int,
    learners: str,
    margin: float = 0.0,
) -> DataFrame:
    """Suppress on ``learners`` (unless k = 0) and order the output columns.

    Under DP ``margin`` (the learner count's 95 % error bar) is added to k: a cell is
    published only when its noisy learner count clears ``k + margin``, so an empty or
    tiny cell is not shown as noise. Post-processing of the noisy count.
    """
    names = [m.name for m in measures]
    if k > 0 and margin > 0:
        released = suppress_small_groups(released, k + math.ceil(margin), learners, names)
    elif k > 0:
        released = suppress_small_groups(released, k, learners, names)
    else:
        released = released.withColumn(INSUFFICIENT_DATA, F.lit(False))
    return released.select(*groups, *names, *RELEASE_COLUMNS)


@dataclass(frozen=True)
class _DpRelease:
    """The DP pipeline of one release; fields are validated arguments."""

    privacy_id: str
    groups: list[str]
    measures: tuple[Measure, ...]
    bounds: ContributionBounds
    k_threshold: int
    selection_delta: float | None
    source: RandomSource
    accounting: Accounting = "pure"
    delta: float = 0.0
    suppression_margin: bool = True
    rho: float | None = None

    def run(
        self,
        df: DataFrame,
        public_groups: DataFrame | None,
        total: float,
        epsilon_split: Mapping[str, float] | None,
    ) -> DataFrame:
        eps = split_epsilon(self._components(), total, epsilon_split)
        budget = (
            self.rho if self.rho is not None else release_budget(self.accounting, total, self.delta)
        )
        # The budget (ε, or ρ under zCDP) is split in the same proportions as ε.
        shares = {name: budget * e / total for name, e in eps.items()}
        if self.selection_delta is not None:
            try:
                partition_selection_threshold(
                    eps[SELECTION_COMPONENT], self.selection_delta, self.bounds.max_partitions
                )
            except ValueError as error:
                raise PrivacyConfigurationError(f"partition selection: {error}") from None
        values, value_cols = _clamped_values(
            df, self.privacy_id, self.groups, self.measures, self.bounds
        )
        if public_groups is not None:
            # Cut to the public keys first, so no learner spends a slot on a discarded key.
            values = values.join(
                F.broadcast(public_groups.select(*self.groups).distinct()), self.groups, "left_semi"
            )
        bounded = bound_contributions(
            values, self.privacy_id, self.groups, self.bounds, random_source=self.source
        ).df  # shape: <= L·C rows per learner in <= L groups
        aggregated = bounded.groupBy(*self.groups).agg(
            *self._true_aggregates(value_cols)
        )  # shape: one row per group present in df
        if public_groups is not None:
            aggregated = _with_public_keys(
                aggregated, public_groups, self.groups, self._zeros(value_cols)
            )
        noised = aggregated.select(*self.groups, *self._noised(shares)).localCheckpoint(
            eager=True
        )  # shape: one row per released or candidate group
        if self.selection_delta is not None:
            noised = noised.where(
                is_selected(
                    F.col(_SELECTION),
                    epsilon=eps[SELECTION_COMPONENT],
                    delta=self.selection_delta,
                    max_partitions=self.bounds.max_partitions,
                )
            )
        scales = self._noise_scales(shares)
        released = noised.withColumns(self._post_processed(shares)).withColumns(
            {
                "noise_scales": scales,
                "ci95": with_ci95(scales, self.accounting),
                "epsilon": F.lit(float(total)),
                "delta": F.lit(float(self._delta())),
                "noise_mechanism": F.lit(self._mechanism_text(eps, shares)),
            }
        )
        return _finish(
            released,
            self.groups,
            self.measures,
            self.k_threshold,
            _NOISY_LEARNERS,
            margin=self._suppression_margin(shares),
        )

    # ---- planning -------------------------------------------------------------

    def _delta(self) -> float:
        return (self.delta if self.accounting == "zcdp" else 0.0) + (self.selection_delta or 0.0)

    def _distinct_measure(self) -> Measure | None:
        return next((m for m in self.measures if m.kind == "distinct_count"), None)

    def _shares_learner_count(self, measure: Measure) -> bool:
        """Whether a mean divides by the learner count already measured (one row per learner)."""
        return (
            measure.kind == "mean"
            and self.bounds.max_rows_per_partition == 1
            and self._distinct_measure() is not None
        )

    def _components(self) -> list[str]:
        components = [m.name for m in self.measures if m.kind != "max"]
        if self.k_threshold > 0 and self._distinct_measure() is None:
            components.append(LEARNERS_COMPONENT)
        if self.selection_delta is not None:
            components.append(SELECTION_COMPONENT)
        return components

    def _sensitivities(self, measure: Measure) -> Sensitivities:
        lower, upper = measure.value_range(self.bounds)
        return Sensitivities.of(self.bounds, lower, upper)

    def _midpoint(self, measure: Measure) -> float:
        lower, upper = measure.value_range(self.bounds)
        return (lower + upper) / 2.0

    def _noise(self, budget: float, l1: float) -> ComponentNoise:
        """Calibrated noise for a component whose L1 sensitivity is ``l1`` (L2 follows)."""
        l2 = l1 / math.sqrt(self.bounds.max_partitions)  # the L partitions are disjoint
        return ComponentNoise(self.accounting, budget, l1, l2)

    def _count_noise(self, budget: float) -> ComponentNoise:
        rows = self.bounds.max_partitions * self.bounds.max_rows_per_partition
        return self._noise(budget, float(rows))

    def _learners_noise(self, shares: Mapping[str, float]) -> ComponentNoise | None:
        distinct = self._distinct_measure()
        share = shares.get(distinct.name) if distinct else shares.get(LEARNERS_COMPONENT)
        if share is None:
            return None
        return self._noise(share, float(self.bounds.max_partitions))

    def _mean_sum_share(self, measure: Measure, share: float) -> float:
        """A mean spends all its share on the sum when the denominator is already measured."""
        return share if self._shares_learner_count(measure) else share / 2

    def _suppression_margin(self, shares: Mapping[str, float]) -> float:
        """K is raised by the learner count's 95 % error bar, so noise alone is not shown."""
        noise = self._learners_noise(shares)
        if not self.suppression_margin or noise is None:
            return 0.0
        return noise.ci95

    # ---- Spark expressions ----------------------------------------------------

    def _true_aggregates(self, value_cols: Mapping[str, str]) -> list[Column]:
        aggregates = [
            F.count(F.lit(1)).alias(_ROWS),
            F.count_distinct(F.col(self.privacy_id)).alias(_LEARNERS),
        ]
        for m in self.measures:
            if m.name not in value_cols or m.kind == "max":
                continue
            value = F.col(value_cols[m.name])
            if m.kind == "sum":
                aggregates.append(F.coalesce(F.sum(value), F.lit(0.0)).alias(f"__sum_{m.name}"))
            elif m.kind == "mean":
                centered = F.coalesce(F.sum(value - F.lit(self._midpoint(m))), F.lit(0.0))
                aggregates.append(centered.alias(f"__csum_{m.name}"))
                aggregates.append(F.count(value).alias(f"__cnt_{m.name}"))
            elif m.kind == "percentile":
                aggregates.append(self._histogram(m, value).alias(f"__hist_{m.name}"))
        return aggregates

    def _histogram(self, measure: Measure, value: Column) -> Column:
        """Counts per equal-width bin, summed in the same pass as the other aggregates."""
        lower, upper = measure.value_range(self.bounds)
        width = (upper - lower) / measure.bins
        index = F.least(F.floor((value - F.lit(lower)) / F.lit(width)), F.lit(measure.bins - 1))
        return F.array(*[F.count(F.when(index == F.lit(j), F.lit(1))) for j in range(measure.bins)])

    def _zeros(self, value_cols: Mapping[str, str]) -> dict[str, Column]:
        zero_long = F.lit(0).cast("long")
        zeros = {_ROWS: zero_long, _LEARNERS: zero_long}
        for m in self.measures:
            if m.kind == "sum":
                zeros[f"__sum_{m.name}"] = F.lit(0.0)
            elif m.kind == "mean":
                zeros[f"__csum_{m.name}"] = F.lit(0.0)
                zeros[f"__cnt_{m.name}"] = zero_long
            elif m.kind == "percentile":
                zeros[f"__hist_{m.name}"] = F.array_repeat(zero_long, m.bins)
        return zeros

    def _integer_noise(self, col: str, noise: ComponentNoise, purpose: str) -> Column:
        if noise.accounting == "pure":
            return laplace_count(
                col, noise.budget, noise.l1, random_source=self.source, purpose=purpose
            )
        return gaussian_count(
            col, noise.budget, noise.l2, random_source=self.source, purpose=purpose
        )

    def _real_noise(self, col: str, noise: ComponentNoise, purpose: str) -> Column:
        if noise.accounting == "pure":
            return laplace_sum(
                col,
                noise.budget,
                noise.l1,
                max_partitions=self.bounds.max_partitions,
                random_source=self.source,
                purpose=purpose,
            )
        return gaussian_sum(
            col,
            noise.budget,
            noise.l2,
            max_partitions=self.bounds.max_partitions,
            random_source=self.source,
            purpose=purpose,
        )

    def _noised(self, shares: Mapping[str, float]) -> list[Column]:
        """Every noisy quantity of the release, each from its own purpose-labelled stream."""
        noised = [
            column
            for m in self.measures
            if m.kind != "max"
            for column in self._noised_measure(m, shares[m.name])
        ]
        if LEARNERS_COMPONENT in shares:
            noise = self._noise(shares[LEARNERS_COMPONENT], float(self.bounds.max_partitions))
            noised.append(
                self._integer_noise(_LEARNERS, noise, LEARNERS_COMPONENT).alias(_NOISY_LEARNERS)
            )
        if SELECTION_COMPONENT in shares:
            selection = noisy_selection_count(
                F.col(_LEARNERS),
                epsilon=shares[SELECTION_COMPONENT],
                max_partitions=self.bounds.max_partitions,
                pre_threshold=max(self.k_threshold, 1),
                random_source=self.source,
            )
            noised.append(selection.alias(_SELECTION))
        return noised

    def _noised_measure(self, m: Measure, share: float) -> list[Column]:
        """The noisy column(s) of one measure spending ``share`` (ε, or ρ under zCDP)."""
        if m.kind == "count":
            return [self._integer_noise(_ROWS, self._count_noise(share), m.name).alias(m.name)]
        if m.kind == "distinct_count":
            noise = self._noise(share, float(self.bounds.max_partitions))
            return [self._integer_noise(_LEARNERS, noise, m.name).alias(m.name)]
        if m.kind == "sum":
            noise = self._noise(share, self._sensitivities(m).sum)
            return [self._real_noise(f"__sum_{m.name}", noise, m.name).alias(m.name)]
        if m.kind == "mean":
            sum_noise = self._noise(
                self._mean_sum_share(m, share), self._sensitivities(m).centered_sum
            )
            columns = [
                self._real_noise(f"__csum_{m.name}", sum_noise, f"{m.name}/sum").alias(
                    f"__ncsum_{m.name}"
                )
            ]
            if not self._shares_learner_count(m):
                columns.append(
                    self._integer_noise(
                        f"__cnt_{m.name}", self._count_noise(share / 2), f"{m.name}/count"
                    ).alias(f"__ncnt_{m.name}")
                )
            return columns
        # percentile: the exponential mechanism is pure ε-DP (ε²/2-zCDP)
        lower, upper = m.value_range(self.bounds)
        quantile = exponential_quantile(
            f"__hist_{m.name}",
            quantile=float(m.quantile or 0.5),
            lower=lower,
            upper=upper,
            epsilon=epsilon_of_component(self.accounting, share),
            sensitivity=float(self.bounds.max_partitions * self.bounds.max_rows_per_partition),
            random_source=self.source,
            purpose=m.name,
        )
        return [quantile.alias(m.name)]

    def _mean_denominator(self, measure: Measure) -> Column:
        if self._shares_learner_count(measure):
            distinct = self._distinct_measure()
            assert distinct is not None
            return F.col(distinct.name)
        return F.col(f"__ncnt_{measure.name}")

    def _post_processed(self, shares: Mapping[str, float]) -> dict[str, Column]:
        """Derive published values from the materialized draws (post-processing is free)."""
        derived: dict[str, Column] = {}
        distinct = self._distinct_measure()
        if distinct is not None:
            derived[_NOISY_LEARNERS] = F.col(distinct.name)
        for m in self.measures:
            if m.kind in ("count", "distinct_count"):
                derived[m.name] = F.greatest(F.col(m.name), F.lit(0).cast("long"))
            elif m.kind == "sum":
                derived[m.name] = _consistent_sum(m, self.bounds)
            elif m.kind == "mean":
                lower, upper = m.value_range(self.bounds)
                denominator = F.greatest(self._mean_denominator(m), F.lit(1))
                ratio = F.col(f"__ncsum_{m.name}") / denominator
                derived[m.name] = clamp(ratio + F.lit(self._midpoint(m)), lower, upper)
            elif m.kind == "max":
                derived[m.name] = F.lit(None).cast("double")
        return derived

    def _noise_scales(self, shares: Mapping[str, float]) -> Column:
        entries: list[Column] = []
        for m in self.measures:
            share = shares.get(m.name)
            if share is None or m.kind == "percentile":
                continue
            if m.kind == "count":
                scale: Column = F.lit(self._count_noise(share).scale)
            elif m.kind == "distinct_count":
                scale = F.lit(self._noise(share, float(self.bounds.max_partitions)).scale)
            elif m.kind == "sum":
                scale = F.lit(self._sum_scale(self._noise(share, self._sensitivities(m).sum)))
            else:  # mean: the sum's scale over the noisy denominator, an error bar of the mean
                sum_noise = self._noise(
                    self._mean_sum_share(m, share), self._sensitivities(m).centered_sum
                )
                denominator = F.greatest(self._mean_denominator(m), F.lit(1))
                scale = F.lit(self._sum_scale(sum_noise)) / denominator
            entries += [F.lit(m.name), scale.cast("double")]
        return F.create_map(*entries).cast("map<string,double>")

    def _sum_scale(self, noise: ComponentNoise) -> float:
        """The scale a sum's noise really has (each grid rounds its sensitivity up)."""
        if noise.accounting == "pure":
            return grid_noise(noise.budget, noise.l1, self.bounds.max_partitions).laplace_scale
        return gaussian_grid_noise(noise.budget, noise.l2, self.bounds.max_partitions).sigma

    def _mechanism_text(self, eps: Mapping[str, float], shares: Mapping[str, float]) -> str:
        """Human-readable mechanism and budget of every component (sequential composition)."""
        parts = []
        for m in self.measures:
            share = shares.get(m.name)
            if share is None:
                parts.append(f"{m.name}: not released under DP")
            elif m.kind in ("count", "distinct_count"):
                parts.append(f"{m.name}: {self._count_noise(share).describe()}")
            elif m.kind == "sum":
                parts.append(f"{m.name}: grid {self._count_noise(share).describe()}")
            elif m.kind == "mean":
                sum_part = self._count_noise(self._mean_sum_share(m, share)).describe()
                if self._shares_learner_count(m):
                    parts.append(
                        f"{m.name}: noisy centered sum / the learner count ({sum_part} on the sum)"
                    )
                else:
                    count_part = self._count_noise(share / 2).describe()
                    parts.append(
                        f"{m.name}: noisy centered sum / its noisy count "
                        f"(sum {sum_part} + count {count_part})"
                    )
            else:
                e = epsilon_of_component(self.accounting, share)
                parts.append(f"{m.name}: exponential_mechanism(bins={m.bins}) ε={e:.6g}")
        if LEARNERS_COMPONENT in shares:
            parts.append(
                f"suppression count: {self._count_noise(shares[LEARNERS_COMPONENT]).describe()}"
            )
        if SELECTION_COMPONENT in eps:
            parts.append(
                f"partition_selection: laplace_threshold ε={eps[SELECTION_COMPONENT]:.6g} "
                f"δ={self.selection_delta:.6g}"
            )
        if self.accounting == "zcdp":
            parts.append(f"zCDP ρ={sum(shares.values()):.6g} ⇒ (ε, δ)-DP with δ={self.delta:.3g}")
        return "; ".join(parts)


def _consistent_sum(measure: Measure, bounds: ContributionBounds) -> Column:
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


def with_ci95(noise_scales: Column, accounting: Accounting) -> Column:
    """The 95 % half-width per metric of a ``noise_scales`` map (Laplace b or Gaussian σ)."""
    factor = ci95_half_width(accounting, 1.0)
    return F.transform_values(noise_scales, lambda _k, v: v * F.lit(factor))
