"""The utility planner: expected error bars and published share of a DP release, charging nothing.

    python -m jobs.plan --privacy-level dp_medium --start 2025-01-01 --end 2025-01-31
        [--tenant UUID]

For every table of ``run_all`` and every noised metric it prints the accounting, the
table's ε (and ρ), the noise scale and its 95 % error bar, and the expected share of
cells published and their median relative error bar. Nothing is written and no budget
is charged:

* noise scales and error bars are the release's own: each transform runs at the chosen
  level in memory (nothing written, nothing charged, the values thrown away), so the
  ``noise_scales`` are exactly what the release would carry; a count's or a sum's scale
  follows from the plan alone, a mean's is per cell (its noisy sum's scale over the
  cell's noisy count), and the median over the publishable cells is shown;
* the published share compares each cell's exact learner count (the transform at
  ``anonymized`` without suppression, seen by the operator only, as an ``anonymized``
  release would be) with the publication threshold k + the learner count's 95 % error
  bar, under the noise's distribution.

Quarterly tables of the release plan (``dp_cadence = "quarter"``) are planned over their
quarter when the period ends on a quarter's last day, with the ε they would spend there,
and listed as not released by any other period (the reason a run would record).

It reads the raw tables like a run (so it needs the pseudonym key) and prints a table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from conf.bounds import load_job_bounds
from conf.settings import AnalyticsSettings, ConfigurationError, load_settings
from jobs.arguments import (
    JobArgumentError,
    JobArguments,
    job_argument_parser,
    job_arguments_from,
)
from jobs.prepare import (
    PreparedInputs,
    Scope,
    keyed_pseudonym,
    prepare_inputs,
    with_public_dimensions_in_memory,
)
from jobs.pseudonym_key import resolve_pseudonym_key
from jobs.release import (
    LEARNER_COLUMNS,
    CuratedJob,
    ReleaseContext,
    release_refusal,
    release_scope,
)
from jobs.runner import read_raw_tables
from jobs.session import build_spark_session
from privacy_udfs import PrivacyLevel, PseudonymKey, PseudonymKeyError
from privacy_udfs.calibration import Accounting, ci95_half_width
from privacy_udfs.windows import window_of


@dataclass(frozen=True)
class MetricPlan:
    """One noised metric: its noise scale and 95 % error bar (in its own units)."""

    metric: str
    scale: float | None  # None: a per-cell scale with no publishable cell to show
    ci95: float | None
    median_relative_error: float | None


@dataclass(frozen=True)
class TablePlan:
    """What a table's DP release is expected to look like."""

    table: str
    accounting: str
    epsilon: float
    rho: float | None
    threshold: float | None
    cells: int
    expected_published_share: float | None
    metrics: tuple[MetricPlan, ...]
    note: str = ""


def _publication_probability(
    count: float, threshold: float, accounting: str, scale: float
) -> float:
    """P(count + noise ≥ threshold) for Laplace (b) or Gaussian (σ) noise."""
    gap = count - threshold
    if accounting == "zcdp":
        return 0.5 * (1.0 + math.erf(gap / (scale * math.sqrt(2.0))))
    if gap >= 0:
        return 1.0 - 0.5 * math.exp(-gap / scale)
    return 0.5 * math.exp(gap / scale)


def _accounting(context: ReleaseContext) -> Accounting:
    return "zcdp" if context.rho is not None else "pure"


def _noise_scales(df: DataFrame) -> dict[str, float]:
    """The first non-empty ``noise_scales`` of a transform's output.

    Only the scales: some transforms (public_metrics) leave ``ci95`` to the writer, which
    derives it from them (jobs/delta_io.py).
    """
    row = df.select("noise_scales").where(F.size("noise_scales") > 0).first()
    return {} if row is None else dict(row.noise_scales or {})


# Means and ratios divide a noisy sum by the cell's noisy learner count (or by their own
# noisy row count): their error bar is per cell.
PER_CELL_TREATMENTS = frozenset({"mean", "derived"})
_CELL_SCALES = "__cell_noise_scales"


def _per_cell_metric(
    name: str, accounting: Accounting, cells: Sequence[Row], value_of: Sequence[float | None]
) -> MetricPlan:
    """A mean's plan: the median of its cells' own scales and error bars (None: no cell)."""
    scales = [
        float(r[_CELL_SCALES][name]) for r in cells if (r[_CELL_SCALES] or {}).get(name) is not None
    ]
    relative = [
        ci95_half_width(accounting, float(r[_CELL_SCALES][name])) / abs(value)
        for r, value in zip(cells, value_of, strict=True)
        if value not in (None, 0) and (r[_CELL_SCALES] or {}).get(name) is not None
    ]
    scale = statistics.median(scales) if scales else None
    return MetricPlan(
        name,
        scale,
        None if scale is None else ci95_half_width(accounting, scale),
        statistics.median(relative) if relative else None,
    )


# Tables with one row per metric (public_metrics) name the metric in this key column and
# hold its value in METRIC_VALUE.
METRIC_KEY = "metric_key"
METRIC_VALUE = "metric_value"


def _metric_row_plan(row: Row, accounting: Accounting) -> MetricPlan:
    """The plan of one metric row: its own scale against its exact value."""
    scale = (row[_CELL_SCALES] or {}).get(METRIC_VALUE)
    if scale is None:
        return MetricPlan(row[METRIC_KEY], None, None, None)
    ci95 = ci95_half_width(accounting, float(scale))
    exact = row[METRIC_VALUE]
    relative = None if exact in (None, 0) else ci95 / abs(float(exact))
    return MetricPlan(row[METRIC_KEY], float(scale), ci95, relative)


def plan_table(
    job: CuratedJob, inputs: PreparedInputs, context: ReleaseContext, exact_context: ReleaseContext
) -> TablePlan:
    """Plan one table: the release's error bars, published share from exact counts."""
    bounds = context.job_bounds
    if not bounds.epsilon_share:
        return TablePlan(
            job.name, bounds.accounting, 0.0, None, None, 0, None, (), "not released at DP"
        )
    # The release computed in memory (never written, nothing charged): its noise scales
    # are the ones a release carries, a mean's per cell over the cell's noisy count.
    noised = job.transform(inputs, context)
    scales = _noise_scales(noised)
    # Error bars from the final scales (transforms rename and rescale some metrics).
    ci95 = {name: ci95_half_width(_accounting(context), scale) for name, scale in scales.items()}
    learner_col = LEARNER_COLUMNS.get(job.name)
    metric_names = [m for m in scales if m in job.table.metric_names]
    keys = list(job.table.key_names)
    cell_scales = noised.select(
        *[F.col(k).alias(f"__key_{k}") for k in keys], F.col("noise_scales").alias(_CELL_SCALES)
    )
    exact = job.transform(inputs, exact_context).select(
        *keys, *[c for c in {learner_col, *metric_names} if c]
    )
    same_cell = [F.col(k).eqNullSafe(F.col(f"__key_{k}")) for k in keys]
    rows = exact.join(cell_scales, same_cell, "left").collect()  # one row per cell (aggregates)
    threshold = None
    share = None
    publishable = rows
    if learner_col and learner_col in ci95:
        threshold = context.k_threshold + math.ceil(ci95[learner_col])
        # Cells the release plan does not measure (dp_withheld: no noise scales) never publish.
        probabilities = [
            _publication_probability(
                float(r[learner_col] or 0), threshold, bounds.accounting, scales[learner_col]
            )
            if r[_CELL_SCALES]
            else 0.0
            for r in rows
        ]
        share = statistics.fmean(probabilities) if probabilities else None
        publishable = [r for r in rows if r[_CELL_SCALES] and (r[learner_col] or 0) >= threshold]
    treatments = {c.name: c.treatment for c in job.table.columns}
    metrics: list[MetricPlan] = []
    if METRIC_KEY in keys:  # one row per metric (public_metrics): one plan line per row
        metrics = [_metric_row_plan(r, _accounting(context)) for r in rows]
    else:  # one column per metric: one plan line per column
        for name in metric_names:
            if treatments.get(name) in PER_CELL_TREATMENTS:
                values = [None if r[name] is None else float(r[name]) for r in publishable]
                metrics.append(_per_cell_metric(name, _accounting(context), publishable, values))
                continue
            relative = [
                ci95[name] / abs(float(r[name])) for r in publishable if r[name] not in (None, 0)
            ]
            median = statistics.median(relative) if relative else None
            metrics.append(MetricPlan(name, scales[name], ci95[name], median))
    return TablePlan(
        job.name,
        bounds.accounting,
        context.epsilon or 0.0,
        context.rho,
        threshold,
        len(rows),
        share,
        tuple(metrics),
    )


def plan_release(
    spark: SparkSession,
    settings: AnalyticsSettings,
    arguments: JobArguments,
    jobs: Sequence[CuratedJob],
    *,
    key: PseudonymKey | None = None,
) -> list[TablePlan]:
    """Plan every table of ``jobs`` for the arguments' level and period; writes nothing.

    ``key`` is the pseudonym key (resolved from ``settings`` when not given).
    """
    level = PrivacyLevel(arguments.privacy_level)
    if not level.is_dp:
        raise JobArgumentError("the planner plans DP releases: pick dp_low, dp_medium or dp_high")
    scope = Scope(
        arguments.start,
        arguments.end,
        arguments.tenant_id,
        _now(),
        history_start=window_of(arguments.start, settings.dp_budget_window).start,
    )
    raw = read_raw_tables(spark, settings)
    key = key if key is not None else resolve_pseudonym_key(settings)
    pseudonym = keyed_pseudonym(key)
    inputs: dict[dt.date, PreparedInputs] = {}
    all_bounds = load_job_bounds()
    plans = []
    for job in jobs:
        if job.platform_wide and scope.tenant_id is not None:
            continue
        context = ReleaseContext(
            level,
            all_bounds[job.name],
            settings.min_cohort_size,
            release_scope(all_bounds[job.name], level, scope),
            arguments.run_id,
            key.version,
        )
        refusal = release_refusal(job, context)
        if refusal is not None:
            plans.append(
                TablePlan(
                    job.name,
                    context.job_bounds.accounting,
                    0.0,
                    None,
                    None,
                    0,
                    None,
                    (),
                    f"not released by this run: {refusal}",
                )
            )
            continue
        period = context.scope
        if period.start not in inputs:  # quarterly tables cover the quarter up to the end
            # As in a run: the registry and catalogue read once, the events validated once.
            prepared = with_public_dimensions_in_memory(prepare_inputs(raw, period, pseudonym))
            prepared.events.persist()
            inputs[period.start] = prepared
        exact = dataclasses.replace(context, level=PrivacyLevel.ANONYMIZED, k_threshold=0)
        plans.append(plan_table(job, inputs[period.start], context, exact))
    for prepared in inputs.values():
        prepared.events.unpersist()
    return plans


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def format_plan(plans: Sequence[TablePlan], level: str) -> str:
    """The planner's table: one line per table, one per noised metric under it."""
    lines = [
        f"plan for {level} (nothing charged)",
        f"{'table / metric':<34}{'acct':>6}{'ε':>8}{'scale':>11}{'±95 %':>11}"
        f"{'published':>11}{'median rel. ±':>15}",
    ]
    for p in plans:
        threshold = "" if p.threshold is None else f"  (published when learners ≥ {p.threshold:g})"
        lines.append(
            f"{p.table:<34}{p.accounting:>6}{p.epsilon:>8.3g}{'':>11}{'':>11}"
            f"{_pct(p.expected_published_share):>11}{'':>15}{threshold}{p.note}"
        )
        for m in p.metrics:
            lines.append(
                f"  {m.metric:<32}{'':>6}{'':>8}{_number(m.scale):>11}{_number(m.ci95):>11}"
                f"{'':>11}{_pct(m.median_relative_error):>15}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: exit 0 on a printed plan, 2 on bad flags or settings."""
    from jobs.run_all import ALL_JOBS

    parser = job_argument_parser("python -m jobs.plan", __doc__ or "")
    namespace = parser.parse_args(list(argv) if argv is not None else None)
    try:
        overrides = {"data_root": namespace.data_root} if namespace.data_root else {}
        settings = load_settings(**overrides)
        arguments = job_arguments_from(namespace, settings.default_privacy_level)
        key = resolve_pseudonym_key(settings)  # before Spark starts: fails in seconds
    except (ConfigurationError, JobArgumentError, PseudonymKeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    spark = build_spark_session(
        "python -m jobs.plan",
        master=namespace.master or settings.spark_master,
        shuffle_partitions=settings.shuffle_partitions,
        arrow_batch_size=settings.etl_batch_size,
    )
    try:
        plans = plan_release(spark, settings, arguments, ALL_JOBS, key=key)
    except JobArgumentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_plan(plans, arguments.privacy_level))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
