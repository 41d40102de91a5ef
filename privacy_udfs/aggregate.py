"""``private_aggregate``: one call per metric table, exact or differentially private.

At ``anonymized`` level: exact aggregates, suppression on the true learner count.
At a DP level the pipeline is::

    events ─ clamp values ─ cut to the public keys (if given)
           ─ bound contributions (L partitions, C rows per learner)
           ─ true aggregates per group (one pass; histograms for percentiles); every
             public key enters it as a row of nulls, so an empty key gets zeros
           ─ without public keys: DP partition selection on the noisy learner count
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
from privacy_udfs.bounding import (
    ContributionBounds,
    PairColumns,
    Sensitivities,
    bounded_pairs,
    clamp,
)
from privacy_udfs.calibration import (
    ACCOUNTINGS,
    Accounting,
    ComponentNoise,
    ci95_half_width,
    release_budget,
)
from privacy_udfs.errors import PrivacyConfigurationError, require_columns
from privacy_udfs.gaussian import gaussian_grid_noise
from privacy_udfs.measure_kinds import LEARNERS, ROWS, kind_of
from privacy_udfs.measures import (
    LEARNERS_COMPONENT,
    SELECTION_COMPONENT,
    VALUE_KINDS,
    Measure,
    split_epsilon,
)
from privacy_udfs.mechanisms import grid_noise, partition_selection_threshold
from privacy_udfs.noise import (
    NoiseDraw,
    draw_together,
    gaussian_count_draw,
    gaussian_sum_draw,
    laplace_count_draw,
    laplace_sum_draw,
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
_ROWS, _LEARNERS = ROWS, LEARNERS  # the true aggregates every kind's noise reads
_NOISY_LEARNERS, _SELECTION = "__noisy_learners", "__sel"
_NOISE = "__noise"  # the struct of every draw of a release (one UDF)
_PAIR = PairColumns()


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
            exactly these keys are released, once each, empty ones included (noisy zeros
            under DP); the key columns keep ``df``'s types.
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


def _public_keys_as(values: DataFrame, public_groups: DataFrame, groups: list[str]) -> DataFrame:
    """The public key columns of ``public_groups``, typed as ``values``' columns.

    Duplicates are harmless to a semi-join and to an aggregation, so the DP path takes
    no ``distinct`` (and no shuffle) of the keys.
    """
    types = {field.name: field.dataType for field in values.schema.fields}
    return public_groups.select(*[F.col(g).cast(types[g]).alias(g) for g in groups])


def _with_public_keys(
    aggregated: DataFrame, public_groups: DataFrame, groups: list[str], zeros: Mapping[str, Column]
) -> DataFrame:
    """Release exactly the public keys: left join, empty groups get ``zeros``."""
    keys = _public_keys_as(aggregated, public_groups, groups).distinct()
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
    aggregated = values.groupBy(*groups).agg(
        F.count_distinct(F.col(privacy_id)).alias(_LEARNERS),
        *[kind_of(m).exact(m, privacy_id, value_cols.get(m.name)).alias(m.name) for m in measures],
    )  # shape: one row per group present in df
    if public_groups is not None:
        zeros = {_LEARNERS: F.lit(0).cast("long")}
        for m in measures:
            zero = kind_of(m).exact_zero()
            if zero is not None:
                zeros[m.name] = zero
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
        keys = (
            None if public_groups is None else _public_keys_as(values, public_groups, self.groups)
        )
        if keys is not None:
            # Cut to the public keys first, so no learner spends a slot on a discarded key.
            values = values.join(F.broadcast(keys), self.groups, "left_semi")
        pairs = bounded_pairs(
            values,
            self.privacy_id,
            self.groups,
            self.bounds,
            self._pair_aggregates(value_cols),
            random_source=self.source,
            columns=_PAIR,
        )  # shape: one row per kept (learner, group), <= L per learner
        if keys is not None:
            # Every public key enters the aggregation as a row of nulls, so an empty key
            # aggregates to zeros: no join (and no sort of the keys) after the aggregation.
            pairs = pairs.unionByName(keys, allowMissingColumns=True)
        aggregated = pairs.groupBy(*self.groups).agg(
            *self._true_aggregates()
        )  # shape: one row per public key, or per group present in df
        drawn = aggregated.select(*self.groups, *self._noised(shares))
        noised = drawn.select(
            *[f"{_NOISE}.*" if c == _NOISE else c for c in drawn.columns]
        ).localCheckpoint(eager=True)  # shape: one row per released or candidate group
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
        released = noised.withColumns(self._post_processed()).withColumns(
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

    def shares_learner_count(self, measure: Measure) -> bool:
        """Whether a mean divides by the learner count already measured (one row per learner)."""
        return (
            measure.kind == "mean"
            and self.bounds.max_rows_per_partition == 1
            and self._distinct_measure() is not None
        )

    def _components(self) -> list[str]:
        components = [m.name for m in self.measures if kind_of(m).noised_under_dp]
        if self.k_threshold > 0 and self._distinct_measure() is None:
            components.append(LEARNERS_COMPONENT)
        if self.selection_delta is not None:
            components.append(SELECTION_COMPONENT)
        return components

    def sensitivities(self, measure: Measure) -> Sensitivities:
        """L1 sensitivities of ``measure``'s sums under the release's bounds."""
        lower, upper = measure.value_range(self.bounds)
        return Sensitivities.of(self.bounds, lower, upper)

    def midpoint(self, measure: Measure) -> float:
        """Centre of ``measure``'s clamp range (means are noised as centred sums)."""
        lower, upper = measure.value_range(self.bounds)
        return (lower + upper) / 2.0

    def noise(self, budget: float, l1: float) -> ComponentNoise:
        """Calibrated noise for a component whose L1 sensitivity is ``l1`` (L2 follows)."""
        l2 = l1 / math.sqrt(self.bounds.max_partitions)  # the L partitions are disjoint
        return ComponentNoise(self.accounting, budget, l1, l2)

    def count_noise(self, budget: float) -> ComponentNoise:
        """Noise of a row count (sensitivity L·C)."""
        rows = self.bounds.max_partitions * self.bounds.max_rows_per_partition
        return self.noise(budget, float(rows))

    def learners_noise_of(self, budget: float) -> ComponentNoise:
        """Noise of a learner count (sensitivity L)."""
        return self.noise(budget, float(self.bounds.max_partitions))

    def _learners_noise(self, shares: Mapping[str, float]) -> ComponentNoise | None:
        distinct = self._distinct_measure()
        share = shares.get(distinct.name) if distinct else shares.get(LEARNERS_COMPONENT)
        if share is None:
            return None
        return self.learners_noise_of(share)

    def mean_sum_share(self, measure: Measure, share: float) -> float:
        """A mean spends all its share on the sum when the denominator is already measured."""
        return share if self.shares_learner_count(measure) else share / 2

    def _suppression_margin(self, shares: Mapping[str, float]) -> float:
        """K is raised by the learner count's 95 % error bar, so noise alone is not shown."""
        noise = self._learners_noise(shares)
        if not self.suppression_margin or noise is None:
            return 0.0
        return noise.ci95

    # ---- Spark expressions ----------------------------------------------------

    def _pair_aggregates(self, value_cols: Mapping[str, str]) -> list[Column]:
        """Each noised measure's aggregates of one learner's rows in one group."""
        return [
            column
            for m in self.measures
            if m.name in value_cols and kind_of(m).noised_under_dp
            for column in kind_of(m).true_aggregates(self, m, F.col(value_cols[m.name]))
        ]

    def _true_aggregates(self) -> list[Column]:
        """Per group, from the bounded pairs: rows (C-capped), learners, each measure's sums."""

        def scaled(name: str) -> Column:
            return F.col(name) * F.col(_PAIR.scale)

        aggregates = [
            F.coalesce(F.sum(_PAIR.rows), F.lit(0).cast("long")).alias(_ROWS),
            # One pair per learner in the group; a public key's own row has a null count.
            F.count(_PAIR.rows).alias(_LEARNERS),
        ]
        for m in self.measures:
            if m.kind in VALUE_KINDS and kind_of(m).noised_under_dp:
                aggregates += kind_of(m).group_aggregates(self, m, scaled)
        return aggregates

    def integer_noise(self, col: str, noise: ComponentNoise, purpose: str) -> NoiseDraw:
        """Discrete Laplace or Gaussian noise on the integer column ``col``."""
        if noise.accounting == "pure":
            return laplace_count_draw(
                col, noise.budget, noise.l1, random_source=self.source, purpose=purpose
            )
        return gaussian_count_draw(
            col, noise.budget, noise.l2, random_source=self.source, purpose=purpose
        )

    def real_noise(self, col: str, noise: ComponentNoise, purpose: str) -> NoiseDraw:
        """Grid-rounded discrete noise on the real-valued sum column ``col``."""
        if noise.accounting == "pure":
            return laplace_sum_draw(
                col,
                noise.budget,
                noise.l1,
                max_partitions=self.bounds.max_partitions,
                random_source=self.source,
                purpose=purpose,
            )
        return gaussian_sum_draw(
            col,
            noise.budget,
            noise.l2,
            max_partitions=self.bounds.max_partitions,
            random_source=self.source,
            purpose=purpose,
        )

    def _noised(self, shares: Mapping[str, float]) -> list[Column]:
        """Every noisy quantity of the release, each from its own purpose-labelled stream.

        The draws are evaluated together (one Arrow round trip per partition); select
        the columns of :data:`_NOISE` in a later projection.
        """
        draws: dict[str, NoiseDraw] = {}
        for m in self.measures:
            if kind_of(m).noised_under_dp:
                draws |= kind_of(m).noised(self, m, shares[m.name])
        if LEARNERS_COMPONENT in shares:
            noise = self.learners_noise_of(shares[LEARNERS_COMPONENT])
            draws[_NOISY_LEARNERS] = self.integer_noise(_LEARNERS, noise, LEARNERS_COMPONENT)
        noised = [draw_together(draws).alias(_NOISE)] if draws else []
        if SELECTION_COMPONENT in shares:
            # Its own UDF: the draw is kept only where the shifted count is positive.
            selection = noisy_selection_count(
                F.col(_LEARNERS),
                epsilon=shares[SELECTION_COMPONENT],
                max_partitions=self.bounds.max_partitions,
                pre_threshold=max(self.k_threshold, 1),
                random_source=self.source,
            )
            noised.append(selection.alias(_SELECTION))
        return noised

    def mean_denominator(self, measure: Measure) -> Column:
        """The noisy denominator of a mean: the learner count, or its own noisy row count."""
        if self.shares_learner_count(measure):
            distinct = self._distinct_measure()
            assert distinct is not None
            return F.col(distinct.name)
        return F.col(f"__ncnt_{measure.name}")

    def _post_processed(self) -> dict[str, Column]:
        """Derive published values from the materialized draws (post-processing is free)."""
        derived: dict[str, Column] = {}
        distinct = self._distinct_measure()
        if distinct is not None:
            derived[_NOISY_LEARNERS] = F.col(distinct.name)
        for m in self.measures:
            published = kind_of(m).published(self, m)
            if published is not None:
                derived[m.name] = published
        return derived

    def _noise_scales(self, shares: Mapping[str, float]) -> Column:
        entries: list[Column] = []
        for m in self.measures:
            share = shares.get(m.name)
            scale = None if share is None else kind_of(m).noise_scale(self, m, share)
            if scale is not None:
                entries += [F.lit(m.name), scale.cast("double")]
        return F.create_map(*entries).cast("map<string,double>")

    def sum_scale(self, noise: ComponentNoise) -> float:
        """The scale a sum's noise really has (each grid rounds its sensitivity up)."""
        if noise.accounting == "pure":
            return grid_noise(noise.budget, noise.l1, self.bounds.max_partitions).laplace_scale
        return gaussian_grid_noise(noise.budget, noise.l2, self.bounds.max_partitions).sigma

    def _mechanism_text(self, eps: Mapping[str, float], shares: Mapping[str, float]) -> str:
        """Human-readable mechanism and budget of every component (sequential composition)."""
        parts = [kind_of(m).mechanism(self, m, shares.get(m.name, 0.0)) for m in self.measures]
        if LEARNERS_COMPONENT in shares:
            parts.append(
                f"suppression count: {self.count_noise(shares[LEARNERS_COMPONENT]).describe()}"
            )
        if SELECTION_COMPONENT in eps:
            parts.append(
                f"partition_selection: laplace_threshold ε={eps[SELECTION_COMPONENT]:.6g} "
                f"δ={self.selection_delta:.6g}"
            )
        if self.accounting == "zcdp":
            parts.append(f"zCDP ρ={sum(shares.values()):.6g} ⇒ (ε, δ)-DP with δ={self.delta:.3g}")
        return "; ".join(parts)


def with_ci95(noise_scales: Column, accounting: Accounting) -> Column:
    """The 95 % half-width per metric of a ``noise_scales`` map (Laplace b or Gaussian σ)."""
    factor = ci95_half_width(accounting, 1.0)
    return F.transform_values(noise_scales, lambda _k, v: v * F.lit(factor))
