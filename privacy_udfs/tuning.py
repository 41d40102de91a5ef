"""``tune_bounds``: choose contribution bounds from DP histograms of the data, not from guesses.

Bounds are a bias/variance trade-off: a small ``L`` (partitions per learner)
throws away the contributions of active learners (bias), a large one scales
the noise. The best trade-off depends on how active learners are, which only
the data knows. ``tune_bounds`` spends a small, declared ε to measure that with
DP and picks the bounds that minimise the expected error of the release that
follows:

1. **Measure** (Spark, one pass; only small histograms reach the driver). Per
   learner, over the public keys only:

   * ``partitions``: how many partitions the learner contributes to (bins
     ``1 … 2·max(candidate_partitions)``, the last one also holds every larger count);
   * ``rows``: how many rows the learner has in *one* of their partitions, chosen
     at random (bins ``1 … 2·max(candidate_rows)``, the last one open);
   * ``values``: the value of one random row of that partition, in ``value_bins``
     equal-width bins of the declared ``value_domain`` (values outside it count
     in the end bins).

   Every learner adds exactly one count to one bin of each histogram, so adding
   or removing a learner changes each histogram by 1 in L1: discrete Laplace
   noise of scale ``1/ε_h`` makes each histogram ε_h-DP, and the histograms
   split the tuning ε equally (sequential composition: ε in all). The bins are
   fixed by the arguments, never by the data; empty bins get noise too.

2. **Choose** (driver, post-processing: free). For every candidate ``L``, ``C``
   and clamp range ``[lo, hi]`` (pairs of value-bin edges), the expected error of
   each measure at a typical partition (the mean over the public keys) follows
   from the noisy histograms and the noise formulas the engine uses
   (:class:`~privacy_udfs.bounding.Sensitivities`, :mod:`privacy_udfs.mechanisms`):
   bias from the partitions and rows the caps drop and from clamping, noise
   variance from the sensitivities at the measure's share of ``release_epsilon``.
   The bounds with the least summed relative mean squared error win.

Model assumptions (stated in :meth:`TunedBounds.report`): a learner's row count
in a partition and their values do not depend on how many partitions they are
in; dropping rows at random does not bias a mean. Before use, every bin whose
noisy count noise alone would likely reach is set to 0 (:func:`denoised_counts`): at a
small tuning ε the noise of the many empty bins would otherwise dominate (kept
as they are, 63 empty ``partitions`` bins add a variance of thousands of
pairs; clipped at 0, 30 empty ``values`` bins drag the estimated mean towards
the middle of the domain). ``rows`` and ``values`` then become bin shares.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from privacy_udfs.bounding import ContributionBounds, Sensitivities
from privacy_udfs.calibration import ACCOUNTINGS, Accounting, ComponentNoise, release_budget
from privacy_udfs.errors import PrivacyConfigurationError, require_columns
from privacy_udfs.measures import LEARNERS_COMPONENT, Measure, split_epsilon
from privacy_udfs.mechanisms import sample_discrete_laplace
from privacy_udfs.randomness import RandomSource, secure_random_source

FloatArray = npt.NDArray[np.float64]

DEFAULT_CANDIDATE_PARTITIONS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32)
DEFAULT_CANDIDATE_ROWS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16)
TUNABLE_KINDS = frozenset({"count", "distinct_count", "sum", "mean"})
MAX_CANDIDATE = 512
MAX_VALUE_BINS = 256
PARTITIONS, ROWS, VALUES = "partitions", "rows", "values"


@dataclass(frozen=True)
class Histogram:
    """One histogram over fixed bins: ``counts[j]`` learners fell in bin ``j``.

    Attributes:
        name: ``partitions``, ``rows`` or ``values``.
        edges: ``len(counts) + 1`` bin edges. For ``partitions`` and ``rows``, bin
            ``j`` holds the integer ``edges[j]`` (the last bin: that or more).
        counts: Learners per bin: noisy when released by :func:`tune_bounds`.
        epsilon: ε of the noise on ``counts`` (0 for an exact, unreleasable histogram).
    """

    name: str
    edges: tuple[float, ...]
    counts: tuple[float, ...]
    epsilon: float

    def __post_init__(self) -> None:
        if len(self.edges) != len(self.counts) + 1 or not self.counts:
            raise PrivacyConfigurationError(
                f"Histogram {self.name!r}: needs len(edges) == len(counts) + 1 >= 2"
            )

    def array(self) -> FloatArray:
        """The counts as a float array."""
        return np.asarray(self.counts, dtype=np.float64)

    def representatives(self) -> FloatArray:
        """The value standing for each bin: its integer for counts, its midpoint for values."""
        edges = np.asarray(self.edges, dtype=np.float64)
        if self.name == VALUES:
            mids: FloatArray = (edges[:-1] + edges[1:]) / 2.0
            return mids
        return edges[:-1]


@dataclass(frozen=True)
class MeasureError:
    """Expected error of one measure of the release under the chosen bounds.

    All figures are for a typical partition (the mean over the public keys), from
    the noisy histograms: an estimate, not a guarantee.

    Attributes:
        name: The measure's name.
        kind: Its kind.
        epsilon: Its share of the release's ε.
        expected_value: Its estimated true value (before bounding).
        expected_bias: Estimated bias from the caps and the clamp (value minus truth).
        noise_std: Standard deviation of its noise.
    """

    name: str
    kind: str
    epsilon: float
    expected_value: float
    expected_bias: float
    noise_std: float

    @property
    def expected_rmse(self) -> float:
        """Root of bias² + noise variance."""
        return math.hypot(self.expected_bias, self.noise_std)

    @property
    def expected_relative_error(self) -> float:
        """``expected_rmse`` over the magnitude of the expected value (inf if it is 0)."""
        scale = abs(self.expected_value)
        return self.expected_rmse / scale if scale > 0 else math.inf


@dataclass(frozen=True)
class TunedBounds:
    """What :func:`tune_bounds` chose, what it spent and what error it expects.

    Attributes:
        bounds: The chosen caps and clamp range; pass them to ``private_aggregate``.
        epsilon_spent: ε the tuning spent (the histograms' ε, summed).
        release_epsilon: ε of the release the bounds were chosen for.
        partitions: Number of public keys (partitions) of the release.
        histograms: The noisy histograms (DP; safe to show).
        errors: Expected bias and noise per measure under ``bounds``.
        accounting: The release's accounting the noise was modelled for.
    """

    bounds: ContributionBounds
    epsilon_spent: float
    release_epsilon: float
    partitions: int
    histograms: tuple[Histogram, ...]
    errors: tuple[MeasureError, ...]
    accounting: str = "pure"

    def __post_init__(self) -> None:
        problems = []
        for name in ("epsilon_spent", "release_epsilon"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                problems.append(f"{name} must be positive and finite (got {value})")
        if self.partitions < 1:
            problems.append(f"partitions must be >= 1 (got {self.partitions})")
        spent = sum(h.epsilon for h in self.histograms)
        if not math.isclose(spent, self.epsilon_spent, rel_tol=1e-9):
            problems.append(f"histograms spent {spent}, not epsilon_spent={self.epsilon_spent}")
        if problems:
            raise PrivacyConfigurationError("Invalid TunedBounds: " + "; ".join(problems))

    @property
    def total_epsilon(self) -> float:
        """Tuning plus release: what the tenant's budget must cover."""
        return self.epsilon_spent + self.release_epsilon

    def report(self) -> str:
        """A human-readable account of the choice, its cost and its expected error."""
        b = self.bounds
        clamp_text = "" if b.lower is None else f", clamp [{b.lower:.6g}, {b.upper:.6g}]"
        shares = ", ".join(f"{h.name} {h.epsilon:.4g}" for h in self.histograms)
        learners = sum(self.histograms[0].counts)
        lines = [
            f"tune_bounds: L={b.max_partitions} partitions, C={b.max_rows_per_partition} "
            f"rows per partition{clamp_text}",
            f"ε spent on tuning: {self.epsilon_spent:.6g} ({shares}; discrete Laplace on "
            f"histograms of sensitivity 1); release ε: {self.release_epsilon:.6g} "
            f"({self.accounting}); "
            f"total {self.total_epsilon:.6g}",
            f"~{learners:,.0f} learners (noisy) over {self.partitions} public partitions",
            "expected error per measure at a typical partition:",
        ]
        for e in self.errors:
            lines.append(
                f"  {e.name} ({e.kind}, ε={e.epsilon:.4g}): value ≈ {e.expected_value:.6g}, "
                f"bias ≈ {e.expected_bias:+.4g}, noise std ≈ {e.noise_std:.4g}, "
                f"relative error ≈ {e.expected_relative_error:.2%}"
            )
        lines.append(
            "assumes rows per partition and values independent of partitions per learner; "
            "estimates from noisy histograms"
        )
        return "\n".join(lines)


def tune_bounds(
    df: DataFrame,
    *,
    privacy_id: str,
    group_cols: Sequence[str],
    public_groups: DataFrame,
    measures: Sequence[Measure],
    epsilon: float,
    release_epsilon: float,
    value_col: str | None = None,
    value_domain: tuple[float, float] | None = None,
    value_bins: int = 32,
    candidate_partitions: Sequence[int] = DEFAULT_CANDIDATE_PARTITIONS,
    candidate_rows: Sequence[int] = DEFAULT_CANDIDATE_ROWS,
    k_threshold: int = 5,
    epsilon_split: Mapping[str, float] | None = None,
    accounting: Accounting = "pure",
    delta: float = 1e-6,
    random_source: RandomSource | None = None,
) -> TunedBounds:
    """Spend ``epsilon`` to choose the bounds of a release at ``release_epsilon``.

    Args:
        df: One row per event: ``privacy_id``, ``group_cols`` and ``value_col``.
        privacy_id: Learner pseudonym column.
        group_cols: Grain of the release.
        public_groups: The release's public keys (only rows with these keys are measured,
            and their number is the number of partitions the noise falls on).
        measures: The release's measures (``count``, ``distinct_count``, ``sum``, ``mean``);
            value measures must read ``value_col`` and leave lower/upper unset (the tuned
            clamp range applies).
        epsilon: ε spent here, split equally over the histograms the measures need.
        release_epsilon: ε of the release that will use the bounds.
        value_col: Value column of the value measures.
        value_domain: ``(lower, upper)`` the values can take, from domain knowledge; the
            clamp range is chosen within it. Needed with value measures.
        value_bins: Equal-width bins of ``value_domain`` (2..256); the clamp edges are bin edges.
        candidate_partitions: Values of ``L`` to choose from.
        candidate_rows: Values of ``C`` to choose from.
        k_threshold: The release's k (> 0 without a ``distinct_count`` measure adds the
            internal ``_learners`` component to the ε split, as ``private_aggregate`` does).
        epsilon_split: The release's ε split, if not equal (as for ``private_aggregate``).
        accounting: The release's accounting, ``pure`` (discrete Laplace) or ``zcdp``
            (discrete Gaussian at ``delta``), as for ``private_aggregate``. The tuning
            itself is pure ε-DP either way.
        delta: δ of a ``zcdp`` release.
        random_source: Defaults to the OS CSPRNG.

    Returns:
        The chosen bounds, the ε spent, the noisy histograms and the expected error.

    Raises:
        PrivacyConfigurationError: An argument is invalid (the message names it).
        MissingColumnsError: ``df`` or ``public_groups`` lacks a named column.
    """
    if not isinstance(public_groups, DataFrame):
        raise PrivacyConfigurationError(
            "public_groups must be a DataFrame of the release's public keys "
            f"(got {type(public_groups).__name__})"
        )
    plan = TuningPlan.validated(
        privacy_id=privacy_id,
        group_cols=group_cols,
        measures=measures,
        release_epsilon=release_epsilon,
        value_col=value_col,
        value_domain=value_domain,
        value_bins=value_bins,
        candidate_partitions=candidate_partitions,
        candidate_rows=candidate_rows,
        k_threshold=k_threshold,
        epsilon_split=epsilon_split,
        accounting=accounting,
        delta=delta,
    )
    if isinstance(epsilon, bool) or not isinstance(epsilon, int | float):
        raise PrivacyConfigurationError(f"epsilon must be a number, got {epsilon!r}")
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise PrivacyConfigurationError(f"epsilon must be positive and finite, got {epsilon}")
    needed = [privacy_id, *plan.groups] + ([value_col] if value_col else [])
    require_columns("tune_bounds df", df.columns, needed)
    require_columns("tune_bounds public_groups", public_groups.columns, plan.groups)
    source = random_source if random_source is not None else secure_random_source()
    partitions = public_groups.select(*plan.groups).distinct().count()
    if partitions == 0:
        raise PrivacyConfigurationError("public_groups is empty: there is nothing to release")
    exact = exact_contribution_histograms(
        df,
        privacy_id=privacy_id,
        group_cols=plan.groups,
        public_groups=public_groups,
        names=plan.histograms,
        max_partitions_bin=2 * max(plan.candidate_partitions),
        max_rows_bin=2 * max(plan.candidate_rows),
        value_col=value_col,
        value_domain=value_domain,
        value_bins=value_bins,
        random_source=source,
    )
    noisy = add_histogram_noise(exact, epsilon, source)
    return plan.choose(noisy, partitions)


def exact_contribution_histograms(
    df: DataFrame,
    *,
    privacy_id: str,
    group_cols: Sequence[str],
    public_groups: DataFrame,
    names: Sequence[str],
    max_partitions_bin: int,
    max_rows_bin: int,
    value_col: str | None = None,
    value_domain: tuple[float, float] | None = None,
    value_bins: int = 32,
    random_source: RandomSource | None = None,
) -> tuple[Histogram, ...]:
    """The exact per-learner histograms ``names`` (no noise: NOT releasable as they are).

    One Spark job: rows are cut to the public keys, counted per (learner,
    partition), then per learner (one random partition and one random row of it
    are kept); each learner falls in one bin of each histogram. Only the bin
    counts reach the driver. :func:`add_histogram_noise` makes them DP.
    """
    groups = list(group_cols)
    source = random_source if random_source is not None else secure_random_source()
    salt = int.from_bytes(source.driver_bytes("tune-bounds-salt", 8), "big", signed=True)
    seed = int.from_bytes(source.driver_bytes("tune-bounds-seed", 8), "big", signed=True)
    keys = public_groups.select(*groups).distinct()
    value = F.col(value_col).cast("double") if value_col else F.lit(None).cast("double")
    events = (
        df.where(F.col(privacy_id).isNotNull())
        .select(privacy_id, *groups, value.alias("__v"))
        .join(F.broadcast(keys), on=groups, how="left_semi")
    )  # shape: one row per event on a public key
    # A random non-null value per (learner, partition): nulls rank below every rand().
    missing = F.col("__v").isNull() | F.isnan("__v")
    ranked = events.withColumn("__u", F.when(missing, F.lit(-1.0)).otherwise(F.rand(seed)))
    pairs = ranked.groupBy(privacy_id, *groups).agg(
        F.count(F.lit(1)).alias("__r"), F.max_by("__v", "__u").alias("__v")
    )  # shape: one row per (learner, partition)
    # One partition per learner, ranked by a salted hash of (learner, key): uniform and independent.
    pick = F.max_by(F.struct("__r", "__v"), F.xxhash64(F.lit(salt), privacy_id, *groups))
    learners = pairs.groupBy(privacy_id).agg(
        F.count(F.lit(1)).alias("__d"), pick.alias("__pick")
    )  # shape: one row per learner
    edges: dict[str, tuple[float, ...]] = {
        PARTITIONS: tuple(float(k) for k in range(1, max_partitions_bin + 2)),
        ROWS: tuple(float(k) for k in range(1, max_rows_bin + 2)),
    }
    bins: dict[str, Column] = {
        PARTITIONS: F.least(F.col("__d"), F.lit(max_partitions_bin)) - 1,
        ROWS: F.least(F.col("__pick.__r"), F.lit(max_rows_bin)) - 1,
    }
    if VALUES in names:
        if value_domain is None:
            raise PrivacyConfigurationError("the values histogram needs value_domain")
        lower, upper = value_domain
        width = (upper - lower) / value_bins
        edges[VALUES] = (*(lower + j * width for j in range(value_bins)), float(upper))
        index = F.floor((F.col("__pick.__v") - F.lit(lower)) / F.lit(width)).cast("int")
        bins[VALUES] = F.least(F.greatest(index, F.lit(0)), F.lit(value_bins - 1))
    entries = [F.struct(F.lit(n).alias("h"), bins[n].cast("int").alias("b")) for n in names]
    counted = (
        learners.select(F.explode(F.array(*entries)).alias("e"))
        .where(F.col("e.b").isNotNull())
        .groupBy("e.h", "e.b")
        .count()
        .collect()
    )  # shape: at most one row per bin of the histograms (a few hundred)
    result = []
    for name in names:
        counts = [0.0] * (len(edges[name]) - 1)
        for row in counted:
            if row["h"] == name:
                counts[int(row["b"])] = float(row["count"])
        result.append(Histogram(name, edges[name], tuple(counts), 0.0))
    return tuple(result)


def add_histogram_noise(
    exact: Sequence[Histogram], epsilon: float, random_source: RandomSource
) -> tuple[Histogram, ...]:
    """Discrete Laplace noise of scale ``len(exact)/epsilon`` on every bin of every histogram.

    Each histogram has L1 sensitivity 1 (a learner is one count in one bin), so
    each is ``epsilon/len(exact)``-DP and all together ``epsilon``-DP.
    """
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise PrivacyConfigurationError(f"epsilon must be positive and finite, got {epsilon}")
    share = epsilon / len(exact)
    noisy = []
    for histogram in exact:
        stream = random_source.stream(f"driver/tune_bounds/{histogram.name}", -1)
        noise = sample_discrete_laplace(stream, len(histogram.counts), 1.0 / share)
        counts = np.rint(histogram.array()).astype(np.int64) + noise
        noisy.append(
            Histogram(histogram.name, histogram.edges, tuple(float(c) for c in counts), share)
        )
    return tuple(noisy)


# ---- choosing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TuningPlan:
    """Validated release arguments of :func:`tune_bounds` and the error model of the choice.

    Pure (no Spark): ``TuningPlan.validated(...).choose(noisy_histograms, partitions)``
    is the post-processing step of :func:`tune_bounds`, usable on histograms from
    anywhere (and testable without a JVM).
    """

    groups: list[str]
    measures: tuple[Measure, ...]
    measure_epsilon: dict[str, float]
    measure_budget: dict[str, float]
    accounting: Accounting
    release_epsilon: float
    value_domain: tuple[float, float] | None
    candidate_partitions: tuple[int, ...]
    candidate_rows: tuple[int, ...]
    histograms: tuple[str, ...]

    @classmethod
    def validated(
        cls,
        *,
        privacy_id: str,
        group_cols: Sequence[str],
        measures: Sequence[Measure],
        release_epsilon: float,
        value_col: str | None = None,
        value_domain: tuple[float, float] | None = None,
        value_bins: int = 32,
        candidate_partitions: Sequence[int] = DEFAULT_CANDIDATE_PARTITIONS,
        candidate_rows: Sequence[int] = DEFAULT_CANDIDATE_ROWS,
        k_threshold: int = 5,
        epsilon_split: Mapping[str, float] | None = None,
        accounting: Accounting = "pure",
        delta: float = 1e-6,
    ) -> TuningPlan:
        """Check the arguments (as :func:`tune_bounds` documents them) up front."""
        groups = list(group_cols)
        if not groups:
            raise PrivacyConfigurationError("group_cols must name at least one column")
        if privacy_id in groups:
            raise PrivacyConfigurationError(f"privacy_id {privacy_id!r} cannot be in group_cols")
        value = release_epsilon
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PrivacyConfigurationError(f"release_epsilon must be a number, got {value!r}")
        if not (math.isfinite(value) and value > 0):
            raise PrivacyConfigurationError(
                f"release_epsilon must be positive and finite, got {value}"
            )
        partitions = _candidates("candidate_partitions", candidate_partitions)
        rows = _candidates("candidate_rows", candidate_rows)
        if isinstance(k_threshold, bool) or not isinstance(k_threshold, int) or k_threshold < 0:
            raise PrivacyConfigurationError(
                f"k_threshold must be an integer >= 0, got {k_threshold!r}"
            )
        chosen = _tunable_measures(measures, value_col)
        value_measures = [m for m in chosen if m.kind in ("sum", "mean")]
        if value_measures:
            if isinstance(value_bins, bool) or not isinstance(value_bins, int):
                raise PrivacyConfigurationError(
                    f"value_bins must be an integer, got {value_bins!r}"
                )
            if not 2 <= value_bins <= MAX_VALUE_BINS:
                raise PrivacyConfigurationError(
                    f"value_bins must be in [2, {MAX_VALUE_BINS}], got {value_bins}"
                )
            value_domain = _domain(value_domain)
        components = [m.name for m in chosen]
        if k_threshold > 0 and not any(m.kind == "distinct_count" for m in chosen):
            components.append(LEARNERS_COMPONENT)
        shares = split_epsilon(components, float(release_epsilon), epsilon_split)
        if accounting not in ACCOUNTINGS:
            raise PrivacyConfigurationError(
                f"accounting must be one of {list(ACCOUNTINGS)}, got {accounting!r}"
            )
        # The release's budget (ε, or ρ under zCDP) is split in the proportions of ε.
        budget = release_budget(accounting, float(release_epsilon), delta)
        names = [PARTITIONS]
        if any(m.kind != "distinct_count" for m in chosen):
            names.append(ROWS)
        if value_measures:
            names.append(VALUES)
        return cls(
            groups=groups,
            measures=tuple(chosen),
            measure_epsilon={m.name: shares[m.name] for m in chosen},
            measure_budget={m.name: budget * shares[m.name] / release_epsilon for m in chosen},
            accounting=accounting,
            release_epsilon=float(release_epsilon),
            value_domain=value_domain if value_measures else None,
            candidate_partitions=partitions,
            candidate_rows=rows if ROWS in names else (min(rows),),
            histograms=tuple(names),
        )

    def choose(self, histograms: Sequence[Histogram], partitions: int) -> TunedBounds:
        """The candidate bounds with the least summed relative MSE over the measures."""
        stats = _Stats.of({h.name: h for h in histograms}, partitions)
        ranges = self._clamp_ranges(histograms)
        best: tuple[float, int, int, int] | None = None
        for big_l in self.candidate_partitions:
            for c in self.candidate_rows:
                objective = np.zeros(len(ranges))
                for m in self.measures:
                    bias, var, value = self._error(m, big_l, c, ranges, stats)
                    scale = max(abs(value), 1e-9)
                    objective = objective + (bias**2 + var) / scale**2
                index = int(np.argmin(objective))
                if best is None or objective[index] < best[0]:
                    best = (float(objective[index]), big_l, c, index)
        assert best is not None  # candidates are validated non-empty
        _, big_l, c, index = best
        if self.value_domain is None:
            bounds = ContributionBounds(big_l, c)
        else:
            bounds = ContributionBounds(big_l, c, float(ranges[index, 0]), float(ranges[index, 1]))
        errors = []
        for m in self.measures:
            bias, var, value = self._error(m, big_l, c, ranges[index : index + 1], stats)
            errors.append(
                MeasureError(
                    m.name,
                    m.kind,
                    self.measure_epsilon[m.name],
                    float(value),
                    float(bias[0]),
                    math.sqrt(float(var[0])),
                )
            )
        return TunedBounds(
            bounds=bounds,
            epsilon_spent=float(sum(h.epsilon for h in histograms)),
            release_epsilon=self.release_epsilon,
            partitions=partitions,
            histograms=tuple(histograms),
            errors=tuple(errors),
            accounting=self.accounting,
        )

    def _clamp_ranges(self, histograms: Sequence[Histogram]) -> npt.NDArray[np.float64]:
        """Candidate ``[lo, hi]`` pairs: value-bin edges with ``lo < hi`` (one dummy if none)."""
        values = next((h for h in histograms if h.name == VALUES), None)
        if values is None:
            return np.array([[0.0, 0.0]])
        edges = np.asarray(values.edges, dtype=np.float64)
        lo, hi = np.meshgrid(edges, edges, indexing="ij")
        keep = lo < hi
        return np.stack([lo[keep], hi[keep]], axis=1)

    def _error(
        self,
        m: Measure,
        big_l: int,
        c: int,
        ranges: npt.NDArray[np.float64],
        stats: _Stats,
    ) -> tuple[FloatArray, FloatArray, float]:
        """Bias, noise variance (one per clamp range) and expected true value of ``m``.

        The noise is what ``private_aggregate`` draws: ``ComponentNoise`` of the
        measure's share with the sensitivities of ``Sensitivities.of``.
        """
        share = self.measure_budget[m.name]
        ones = np.ones(len(ranges))
        kept_pairs = stats.kept_pairs(big_l)
        learners_var = self._variance(share, big_l, float(big_l))
        if m.kind == "distinct_count":
            learners = stats.pairs
            return (kept_pairs - learners) * ones, learners_var * ones, learners
        kept_rows = kept_pairs * stats.rows_kept(c)
        truth_rows = stats.pairs * stats.mean_rows
        if m.kind == "count":
            rows_var = self._variance(share, big_l, float(big_l * c))
            return (kept_rows - truth_rows) * ones, rows_var * ones, truth_rows
        lo, hi = ranges[:, 0], ranges[:, 1]
        mean_truth = stats.mean_value
        mean_clamped = stats.clamped_mean(lo, hi)
        caps = ContributionBounds(big_l, c)
        if m.kind == "sum":
            l1 = [Sensitivities.of(caps, a, b).sum for a, b in ranges]
            sum_var = np.array([self._variance(share, big_l, s) for s in l1])
            total = truth_rows * mean_truth
            return kept_rows * mean_clamped - total, sum_var, total
        # mean: noisy Σ(x − mid) / denominator + mid. With C = 1 and a distinct count in the
        # release the denominator is that count and the sum gets the whole share (as
        # private_aggregate does); otherwise the sum and a row count get half each.
        shares_count = c == 1 and any(x.kind == "distinct_count" for x in self.measures)
        distinct = next((x for x in self.measures if x.kind == "distinct_count"), None)
        sum_share = share if shares_count else share / 2
        l1 = [Sensitivities.of(caps, a, b).centered_sum for a, b in ranges]
        centered_var = np.array([self._variance(sum_share, big_l, s) for s in l1])
        if shares_count and distinct is not None:
            count_var = self._variance(self.measure_budget[distinct.name], big_l, float(big_l))
        else:
            count_var = self._variance(share / 2, big_l, float(big_l * c))
        rows = max(kept_rows, 1.0)
        offset = mean_clamped - (lo + hi) / 2.0
        mean_var: FloatArray = (centered_var + offset**2 * count_var) / rows**2
        return mean_clamped - mean_truth, mean_var, mean_truth

    def _variance(self, share: float, big_l: int, l1: float) -> float:
        """Noise variance of a component with L1 sensitivity ``l1`` over ``L`` partitions."""
        if l1 <= 0:
            return 0.0
        # The L partitions are disjoint, so the L2 sensitivity is l1/√L (as the engine's).
        noise = ComponentNoise(self.accounting, share, l1, l1 / math.sqrt(big_l))
        return noise.standard_deviation**2


@dataclass(frozen=True)
class _Stats:
    """Linear estimates from the noisy histograms (noise kept unbiased, not clipped)."""

    partitions: int
    pair_histogram: FloatArray  # learners per number of partitions
    pair_counts: FloatArray  # the number of partitions of each bin
    row_probabilities: FloatArray | None
    row_counts: FloatArray | None
    value_probabilities: FloatArray | None
    value_mids: FloatArray | None

    @classmethod
    def of(cls, histograms: Mapping[str, Histogram], partitions: int) -> _Stats:
        d = histograms[PARTITIONS]
        rows = histograms.get(ROWS)
        values = histograms.get(VALUES)
        return cls(
            partitions=partitions,
            pair_histogram=denoised_counts(d),
            pair_counts=d.representatives(),
            row_probabilities=_probabilities(denoised_counts(rows)) if rows else None,
            row_counts=rows.representatives() if rows else None,
            value_probabilities=_probabilities(denoised_counts(values)) if values else None,
            value_mids=values.representatives() if values else None,
        )

    @property
    def pairs(self) -> float:
        """(learner, partition) pairs per partition: the mean distinct-learner count."""
        return max(float(self.pair_histogram @ self.pair_counts), 1.0) / self.partitions

    def kept_pairs(self, big_l: int) -> float:
        """Pairs per partition left by keeping ``L`` partitions per learner."""
        kept = float(self.pair_histogram @ np.minimum(self.pair_counts, big_l)) / self.partitions
        return min(max(kept, 0.0), self.pairs)

    @property
    def mean_rows(self) -> float:
        """Mean rows of a learner in a partition."""
        assert self.row_probabilities is not None and self.row_counts is not None
        return max(float(self.row_probabilities @ self.row_counts), 1.0)

    def rows_kept(self, c: int) -> float:
        """Mean rows of a learner in a partition after keeping ``C``."""
        assert self.row_probabilities is not None and self.row_counts is not None
        kept = float(self.row_probabilities @ np.minimum(self.row_counts, c))
        return min(max(kept, 1.0), self.mean_rows)

    @property
    def mean_value(self) -> float:
        """Mean value within the declared domain."""
        assert self.value_probabilities is not None and self.value_mids is not None
        return float(self.value_probabilities @ self.value_mids)

    def clamped_mean(self, lo: FloatArray, hi: FloatArray) -> FloatArray:
        """Mean value after clamping to each ``[lo, hi]``."""
        assert self.value_probabilities is not None and self.value_mids is not None
        clamped = np.clip(self.value_mids[None, :], lo[:, None], hi[:, None])
        mean: FloatArray = clamped @ self.value_probabilities
        return mean


def denoised_counts(histogram: Histogram) -> FloatArray:
    """The counts with every bin that noise alone would likely fill set to 0.

    Post-processing of a released histogram (no ε). An empty bin's discrete
    Laplace noise of scale ``b = 1/ε`` passes ``b·ln(m)`` with probability about
    ``1/(2m)``. ``partitions`` and ``rows`` bins count with their bin's value (a
    false bin at 40 partitions adds 40 pairs per count), so they use ``m =
    10·bins``: about a 5 % chance that any empty bin survives. ``values`` bins
    are bounded by the domain and their tail matters for the clamp, so they use
    ``m = bins``: about half a false bin per histogram, fewer real bins lost. An
    exact histogram (``epsilon == 0``) is returned as it is.
    """
    counts = histogram.array()
    if histogram.epsilon <= 0:
        return counts
    spread = 1 if histogram.name == VALUES else 10
    threshold = math.log(spread * max(len(counts), 2)) / histogram.epsilon
    kept: FloatArray = np.where(counts >= threshold, counts, 0.0)
    return kept


def _probabilities(counts: FloatArray) -> FloatArray:
    """Bin shares from noisy counts; negative counts are clipped for shares (they sum to 1)."""
    clipped = np.maximum(counts, 0.0)
    total = clipped.sum()
    if total <= 0:
        return np.full(len(counts), 1.0 / len(counts))
    shares: FloatArray = clipped / total
    return shares


def _candidates(name: str, values: Sequence[int]) -> tuple[int, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
        raise PrivacyConfigurationError(f"{name} must be a non-empty sequence of integers >= 1")
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int) or v < 1]
    if bad:
        raise PrivacyConfigurationError(f"{name} must hold integers >= 1, got {bad}")
    if max(values) > MAX_CANDIDATE:
        raise PrivacyConfigurationError(
            f"{name} must not exceed {MAX_CANDIDATE}, got {max(values)}"
        )
    return tuple(sorted(set(values)))


def _domain(value_domain: tuple[float, float] | None) -> tuple[float, float]:
    if value_domain is None:
        raise PrivacyConfigurationError(
            "value_domain=(lower, upper) is needed for sum and mean measures: the range the "
            "values can take, from domain knowledge (the clamp range is chosen within it)"
        )
    try:
        lower, upper = (float(v) for v in value_domain)
    except (TypeError, ValueError):
        raise PrivacyConfigurationError(
            f"value_domain must be a pair of numbers (lower, upper), got {value_domain!r}"
        ) from None
    if not (math.isfinite(lower) and math.isfinite(upper)) or lower >= upper:
        raise PrivacyConfigurationError(
            f"value_domain must be finite with lower < upper, got {value_domain!r}"
        )
    return lower, upper


def _tunable_measures(measures: Sequence[Measure], value_col: str | None) -> list[Measure]:
    if isinstance(measures, Measure) or not measures:
        raise PrivacyConfigurationError("measures must be a non-empty sequence of Measure")
    problems = []
    for m in measures:
        if not isinstance(m, Measure):
            problems.append(f"not a Measure: {m!r}")
        elif m.kind not in TUNABLE_KINDS:
            problems.append(
                f"{m.name!r}: kind {m.kind!r} is not tunable (use {sorted(TUNABLE_KINDS)})"
            )
        elif m.value_col is not None and m.value_col != value_col:
            problems.append(f"{m.name!r} reads {m.value_col!r}, not value_col={value_col!r}")
        elif m.lower is not None or m.upper is not None:
            problems.append(
                f"{m.name!r} sets its own lower/upper; leave them to the tuned clamp range"
            )
    if problems:
        raise PrivacyConfigurationError("measures: " + "; ".join(problems))
    return list(measures)
