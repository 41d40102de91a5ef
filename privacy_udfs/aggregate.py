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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from privacy_udfs.bounding import ContributionBounds, Sensitivities, bound_contributions, clamp
from privacy_udfs.errors import PrivacyConfigurationError, require_columns
from privacy_udfs.levels import PrivacyLevel
from privacy_udfs.measures import (
    LEARNERS_COMPONENT,
    SELECTION_COMPONENT,
    VALUE_KINDS,
    Measure,
    split_epsilon,
)
from privacy_udfs.mechanisms import grid_noise, partition_selection_threshold
from privacy_udfs.noise import exponential_quantile, laplace_count, laplace_sum
from privacy_udfs.partition_selection import is_selected, noisy_selection_count
from privacy_udfs.randomness import RandomSource, secure_random_source
from privacy_udfs.suppression import INSUFFICIENT_DATA, suppress_small_groups

RELEASE_COLUMNS: tuple[str, ...] = (
    "noise_scales",
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
        random_source: Defaults to the OS CSPRNG.

    Returns:
        ``group_cols`` + one column per measure (counts ``long``, others ``double``) +
        ``noise_scales`` (map: Laplace scale b per noised measure; for a mean, its sum's
        scale divided by the noisy count) + ``epsilon`` + ``delta`` + ``noise_mechanism``
        + ``insufficient_data``. Under DP it is backed by a local checkpoint of the noise.

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
    total = epsilon if epsilon is not None else level.epsilon
    if total is None:  # unreachable: every DP level defines its epsilon
        raise PrivacyConfigurationError(f"level {level} has no epsilon")
    release = _DpRelease(
        privacy_id=privacy_id,
        groups=groups,
        measures=tuple(measures),
        bounds=bounds,
        k_threshold=k_threshold,
        selection_delta=partition_selection_delta if public_groups is None else None,
        source=random_source if random_source is not None else secure_random_source(),
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
            "epsilon": F.lit(0.0),
            "delta": F.lit(0.0),
            "noise_mechanism": F.lit("none"),
        }
    )
    return _finish(released, groups, measures, k_threshold, _LEARNERS)


def _finish(
    released: DataFrame, groups: list[str], measures: Sequence[Measure], k: int, learners: str
) -> DataFrame:
    """Suppress on ``learners`` (unless k = 0) and order the output columns."""
    names = [m.name for m in measures]
    if k > 0:
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

    def run(
        self,
        df: DataFrame,
        public_groups: DataFrame | None,
        total: float,
        epsilon_split: Mapping[str, float] | None,
    ) -> DataFrame:
        eps = split_epsilon(self._components(), total, epsilon_split)
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
        noised = aggregated.select(*self.groups, *self._noised(eps)).localCheckpoint(
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
        released = noised.withColumns(self._post_processed(eps)).withColumns(
            {
                "noise_scales": self._noise_scales(eps),
                "epsilon": F.lit(float(sum(eps.values()))),
                "delta": F.lit(float(self.selection_delta or 0.0)),
                "noise_mechanism": F.lit(self._mechanism_text(eps)),
            }
        )
        return _finish(released, self.groups, self.measures, self.k_threshold, _NOISY_LEARNERS)

    # ---- planning -------------------------------------------------------------

    def _distinct_measure(self) -> Measure | None:
        return next((m for m in self.measures if m.kind == "distinct_count"), None)

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

    def _noised(self, eps: Mapping[str, float]) -> list[Column]:
        """Every noisy quantity of the release, each from its own purpose-labelled stream."""
        noised = [
            column
            for m in self.measures
            if m.kind != "max"
            for column in self._noised_measure(m, eps[m.name])
        ]
        if LEARNERS_COMPONENT in eps:
            noised.append(
                laplace_count(
                    _LEARNERS,
                    eps[LEARNERS_COMPONENT],
                    float(self.bounds.max_partitions),
                    random_source=self.source,
                    purpose=LEARNERS_COMPONENT,
                ).alias(_NOISY_LEARNERS)
            )
        if SELECTION_COMPONENT in eps:
            selection = noisy_selection_count(
                F.col(_LEARNERS),
                epsilon=eps[SELECTION_COMPONENT],
                max_partitions=self.bounds.max_partitions,
                pre_threshold=max(self.k_threshold, 1),
                random_source=self.source,
            )
            noised.append(selection.alias(_SELECTION))
        return noised

    def _noised_measure(self, m: Measure, e: float) -> list[Column]:
        """The noisy column(s) of one measure spending ``e``."""
        rows_l1 = float(self.bounds.max_partitions * self.bounds.max_rows_per_partition)
        source = self.source
        if m.kind == "count":
            return [
                laplace_count(_ROWS, e, rows_l1, random_source=source, purpose=m.name).alias(m.name)
            ]
        if m.kind == "distinct_count":
            learners_l1 = float(self.bounds.max_partitions)
            noisy = laplace_count(_LEARNERS, e, learners_l1, random_source=source, purpose=m.name)
            return [noisy.alias(m.name)]
        if m.kind == "sum":
            sensitivity = self._sensitivities(m).sum
            noisy = laplace_sum(
                f"__sum_{m.name}", e, sensitivity, random_source=source, purpose=m.name
            )
            return [noisy.alias(m.name)]
        if m.kind == "mean":
            centered_l1 = self._sensitivities(m).centered_sum
            return [
                laplace_sum(
                    f"__csum_{m.name}",
                    e / 2,
                    centered_l1,
                    random_source=source,
                    purpose=f"{m.name}/sum",
                ).alias(f"__ncsum_{m.name}"),
                laplace_count(
                    f"__cnt_{m.name}",
                    e / 2,
                    rows_l1,
                    random_source=source,
                    purpose=f"{m.name}/count",
                ).alias(f"__ncnt_{m.name}"),
            ]
        # percentile
        lower, upper = m.value_range(self.bounds)
        quantile = exponential_quantile(
            f"__hist_{m.name}",
            quantile=float(m.quantile or 0.5),
            lower=lower,
            upper=upper,
            epsilon=e,
            sensitivity=rows_l1,
            random_source=source,
            purpose=m.name,
        )
        return [quantile.alias(m.name)]

    def _post_processed(self, eps: Mapping[str, float]) -> dict[str, Column]:
        """Derive published values from the materialized draws (post-processing is free)."""
        derived: dict[str, Column] = {}
        distinct = self._distinct_measure()
        if distinct is not None:
            derived[_NOISY_LEARNERS] = F.col(distinct.name)
        for m in self.measures:
            if m.kind in ("count", "distinct_count"):
                derived[m.name] = F.greatest(F.col(m.name), F.lit(0).cast("long"))
            elif m.kind == "mean":
                lower, upper = m.value_range(self.bounds)
                ratio = F.col(f"__ncsum_{m.name}") / F.greatest(F.col(f"__ncnt_{m.name}"), F.lit(1))
                derived[m.name] = clamp(ratio + F.lit(self._midpoint(m)), lower, upper)
            elif m.kind == "max":
                derived[m.name] = F.lit(None).cast("double")
        return derived

    def _noise_scales(self, eps: Mapping[str, float]) -> Column:
        rows_l1 = self.bounds.max_partitions * self.bounds.max_rows_per_partition
        entries: list[Column] = []
        for m in self.measures:
            e = eps.get(m.name)
            if e is None or m.kind == "percentile":
                continue
            if m.kind == "count":
                scale: Column = F.lit(rows_l1 / e)
            elif m.kind == "distinct_count":
                scale = F.lit(self.bounds.max_partitions / e)
            elif m.kind == "sum":
                scale = F.lit(grid_noise(e, self._sensitivities(m).sum).laplace_scale)
            else:  # mean: the sum's scale over the noisy count, an error bar of the mean
                sum_scale = grid_noise(e / 2, self._sensitivities(m).centered_sum).laplace_scale
                scale = F.lit(sum_scale) / F.greatest(F.col(f"__ncnt_{m.name}"), F.lit(1))
            entries += [F.lit(m.name), scale.cast("double")]
        return F.create_map(*entries).cast("map<string,double>")

    def _mechanism_text(self, eps: Mapping[str, float]) -> str:
        """Human-readable mechanism and ε of every component (sequential composition)."""
        parts = []
        for m in self.measures:
            e = eps.get(m.name)
            if m.kind in ("count", "distinct_count"):
                parts.append(f"{m.name}: discrete_laplace ε={e:.6g}")
            elif m.kind == "sum" and e is not None:
                g = grid_noise(e, self._sensitivities(m).sum).granularity
                parts.append(f"{m.name}: grid_discrete_laplace(g={g:.6g}) ε={e:.6g}")
            elif m.kind == "mean" and e is not None:
                parts.append(
                    f"{m.name}: noisy_centered_sum/noisy_count ε={e:.6g} "
                    f"(sum {e / 2:.6g} + count {e / 2:.6g})"
                )
            elif m.kind == "percentile":
                parts.append(f"{m.name}: exponential_mechanism(bins={m.bins}) ε={e:.6g}")
            else:
                parts.append(f"{m.name}: not released under DP")
        if LEARNERS_COMPONENT in eps:
            parts.append(f"suppression count: discrete_laplace ε={eps[LEARNERS_COMPONENT]:.6g}")
        if SELECTION_COMPONENT in eps:
            parts.append(
                f"partition_selection: laplace_threshold ε={eps[SELECTION_COMPONENT]:.6g} "
                f"δ={self.selection_delta:.6g}"
            )
        return "; ".join(parts)
