"""Utility benchmark: what each privacy level publishes and how far it is from the truth.

On generated districts (``jobs.generate --profile district``) it releases the whole
period through the real runner (``jobs.runner.run_release``, every job of ``run_all``)
at each level and compares every curated table with the exact values:

* ``exact``: the same runner at ``anonymized`` with k = 0 (no bounding, no noise, no
  suppression), with the same keyed pseudonyms so learner-level keys match;
* ``anonymized``, ``dp_low``, ``dp_medium``, ``dp_high``: the releases users get;
* ``bounding``: every job's transform called directly with a release context whose ε
  (or zCDP ρ) is huge (noise ~1e-3 of dp_medium's or less), so what differs from ``exact`` is the
  bias of contribution bounding (and of anything else the DP path changes, e.g. means
  computed from bounded sums). Suppression is off (k = 0) so every cell is compared.

Per table and level it reports the share of the exact table's cells (rows with data)
that are published (``insufficient_data = false``), and per metric the median relative
error ``|released - exact| / max(|exact|, 1)`` over published cells. Metric columns are
read from the curated contracts (numeric and map metrics; descriptive ones skipped), so
the script follows the tables as they change; a table that publishes nothing is
reported as such.

    .venv/bin/python bench/bench_utility.py --tenant-learners 2000,400 --start 2025-01-01 --days 90

Releases follow the documented schedule: one run per closed calendar month (so the
period must be whole months), each month's tables compared with the exact monthly
run. At DP levels the quarterly tables of the release plan (``dp_cadence``) are
released by the quarter-end month's run for the whole quarter and compared with the
exact quarter; a period without a quarter end shows them as not released.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import math
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from conf.bounds import load_job_bounds
from conf.settings import AnalyticsSettings, load_settings
from contracts.curated import CURATED_TABLES, CuratedTable
from jobs.arguments import JobArguments
from jobs.baseline import NO_SUPPRESSION, run_baseline
from jobs.delta_io import is_delta_table
from jobs.generate import GeneratorConfig, Profile, generate_raw_tables, write_raw_tables
from jobs.prepare import PreparedInputs, RawTables, Scope, keyed_pseudonym, prepare_inputs
from jobs.release import (
    LEARNER_COLUMNS,
    CuratedJob,
    ReleaseContext,
    quarter_of,
    release_refusal,
    release_scope,
)
from jobs.run_all import ALL_JOBS
from jobs.runner import read_raw_tables, run_release
from jobs.session import build_spark_session
from privacy_udfs import PrivacyLevel, PseudonymKey, load_pseudonym_key

BENCH_KEY = "benchmark-only-key-" + "9d1c5e7a3b2f4068" * 3
LEVELS: tuple[str, ...] = ("anonymized", "dp_low", "dp_medium", "dp_high")
NEGLIGIBLE_NOISE_EPSILON = 1e4  # per job, pure ε: Laplace scales ~1e-4 of dp_medium's
NEGLIGIBLE_NOISE_RHO = 1e6  # per job, zCDP: Gaussian σ ~1e-3 of dp_medium's
NUMERIC = ("long", "int", "double")
NOT_MEASURED = ("descriptive", "as is", "metadata")

Cells = dict[tuple[Any, ...], dict[str, float | None]]


@dataclass(frozen=True)
class _NegligibleNoiseContext(ReleaseContext):
    """A release context whose ε (or ρ) is huge: noise vanishes, bounding stays (bench only)."""

    @property
    def epsilon(self) -> float | None:
        return NEGLIGIBLE_NOISE_EPSILON

    @property
    def rho(self) -> float | None:
        return None if super().rho is None else NEGLIGIBLE_NOISE_RHO


@dataclass
class Comparison:
    """One table at one level against the exact values."""

    table: str
    level: str
    exact_cells: int
    published: int
    errors: dict[str, float | None]  # metric -> median relative error (None: no cell)
    note: str = ""

    @property
    def published_share(self) -> float | None:
        """Published cells over the exact table's cells with data (None: no such cell)."""
        return self.published / self.exact_cells if self.exact_cells else None


def metric_columns(table: CuratedTable) -> tuple[str, ...]:
    """The metrics worth comparing: numeric or map columns that carry measured values."""
    return tuple(
        c.name
        for c in table.metrics
        if c.treatment not in NOT_MEASURED and (c.type in NUMERIC or c.type.startswith("map<"))
    )


def to_cells(frame: DataFrame, table: CuratedTable) -> Cells:
    """Rows as {key tuple: {metric (map entries as name[key]): value}} plus ``_published``.

    Curated tables are aggregates (learner_snapshots: one row per learner and period),
    small enough to compare on the driver of a benchmark.
    """
    metrics = metric_columns(table)
    wanted = [*table.key_names, *metrics]
    flagged = "insufficient_data" in frame.columns
    if flagged:
        wanted.append("insufficient_data")
    cells: Cells = {}
    for row in frame.select(*wanted).collect():
        values: dict[str, float | None] = {}
        for name in metrics:
            value = row[name]
            if isinstance(value, dict):
                for key, entry in value.items():
                    values[f"{name}[{key}]"] = None if entry is None else float(entry)
            else:
                values[name] = None if value is None else float(value)
        suppressed = bool(row["insufficient_data"]) if flagged else False
        values["_published"] = 0.0 if suppressed else 1.0
        cells[tuple(row[k] for k in table.key_names)] = values
    return cells


def has_data(values: dict[str, float | None]) -> bool:
    """A cell with data: published, and some metric non-null and non-zero."""
    return bool(values["_published"]) and any(
        v not in (None, 0.0) for k, v in values.items() if k != "_published"
    )


def compare(table: str, level: str, exact: Cells, released: Cells, note: str = "") -> Comparison:
    """Published share of the exact cells with data, and median relative error per metric."""
    with_data = {key: values for key, values in exact.items() if has_data(values)}
    published = 0
    relative: dict[str, list[float]] = {}
    for key, truth in with_data.items():
        got = released.get(key)
        if got is None or not got["_published"]:
            continue
        published += 1
        for metric, true_value in truth.items():
            value = got.get(metric)
            if metric == "_published" or true_value is None or value is None:
                continue
            if math.isnan(true_value) or math.isnan(value):
                continue
            relative.setdefault(metric, []).append(
                abs(value - true_value) / max(abs(true_value), 1.0)
            )
    metrics = sorted({m for values in with_data.values() for m in values if m != "_published"})
    errors = {m: statistics.median(relative[m]) if m in relative else None for m in metrics}
    return Comparison(table, level, len(with_data), published, errors, note)


def curated_cells(spark: SparkSession, settings: AnalyticsSettings) -> dict[str, Cells]:
    """Every curated table written under ``settings`` (absent table: no cells)."""
    cells: dict[str, Cells] = {}
    for name, table in CURATED_TABLES.items():
        path = settings.path("curated", name)
        if is_delta_table(spark, path):
            cells[name] = to_cells(spark.read.format("delta").load(path), table)
        else:
            cells[name] = {}
    return cells


Month = tuple[dt.date, dt.date]


def calendar_months(start: dt.date, days: int) -> list[Month]:
    """The whole calendar months of [start, start + days): the documented DP schedule.

    Raises:
        SystemExit: The period does not start on a 1st or end on a month's last day.
    """
    end = start + dt.timedelta(days=days - 1)
    months: list[Month] = []
    first = start
    while first <= end:
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        months.append((first, last))
        first = last + dt.timedelta(days=1)
    if start.day != 1 or months[-1][1] != end:
        raise SystemExit(
            f"--start {start} --days {days} is not whole calendar months: releases follow the "
            "documented schedule (one run per closed month), e.g. --start 2025-01-01 --days 90"
        )
    return months


def release(
    spark: SparkSession,
    settings: AnalyticsSettings,
    months: Sequence[Month],
    jobs: Sequence[CuratedJob],
    level: str,
    *,
    exact: bool = False,
) -> dict[str, Cells]:
    """One run of every job per month (from empty outputs), as scheduled; its tables.

    At DP levels the quarter-end month's run also releases the quarterly tables for the
    quarter (``dp_cadence``); the other months' runs skip them.
    """
    for outputs in ("curated", "ops", "quarantine"):
        shutil.rmtree(settings.path(outputs), ignore_errors=True)
    for first, last in months:
        arguments = JobArguments(first, last, None, level, str(uuid.uuid4()), force=True)
        if exact:
            run_baseline(
                spark, settings, arguments, jobs, name="bench-utility", protections=NO_SUPPRESSION
            )
        else:
            run_release(spark, settings, arguments, jobs, run_name=f"bench-utility-{level}")
    return curated_cells(spark, settings)


def _inputs(spark: SparkSession, settings: AnalyticsSettings) -> tuple[RawTables, PseudonymKey]:
    raw = read_raw_tables(spark, settings)
    key = load_pseudonym_key(
        settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else None,
        settings.pseudonym_key_file,
        settings.pseudonym_key_version,
    )
    return raw, key


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def exact_dp_periods(
    spark: SparkSession,
    settings: AnalyticsSettings,
    months: Sequence[Month],
    jobs: Sequence[CuratedJob],
) -> dict[str, Cells]:
    """Exact cells of the quarterly tables over the quarters the DP schedule releases.

    ``anonymized`` releases these tables per closed month (the exact monthly runs give
    their reference); DP releases give one row per quarter, compared with these: each
    transform at ``anonymized``, k = 0, over the quarter (no bounding, noise, suppression).
    """
    bounds = load_job_bounds()
    quarterly = [j for j in jobs if j.dp_release and bounds[j.name].dp_cadence == "quarter"]
    raw, key = _inputs(spark, settings)
    cells: dict[str, Cells] = {j.name: {} for j in quarterly}
    for first, last in months:
        for job in quarterly:
            scope = release_scope(
                bounds[job.name], PrivacyLevel.DP_MEDIUM, Scope(first, last, None, _now())
            )
            if scope.end != quarter_of(scope.end)[1]:
                continue  # not a quarter-end month: DP releases nothing here
            inputs = prepare_inputs(raw, scope, keyed_pseudonym(key))
            context = ReleaseContext(
                PrivacyLevel.ANONYMIZED, bounds[job.name], 0, scope, str(uuid.uuid4()), key.version
            )
            cells[job.name].update(to_cells(job.transform(inputs, context), job.table))
    return cells


def bounded_without_noise(
    spark: SparkSession,
    settings: AnalyticsSettings,
    months: Sequence[Month],
    jobs: Sequence[CuratedJob],
) -> dict[str, Cells]:
    """Each job's transform at dp_medium's bounds with negligible noise and k = 0, as scheduled."""
    raw, key = _inputs(spark, settings)
    bounds = load_job_bounds()
    cells: dict[str, Cells] = {}
    for first, last in months:
        month = Scope(first, last, None, _now())
        prepared: dict[dt.date, PreparedInputs] = {}
        for job in (j for j in jobs if j.dp_release):  # learner-level rows: never at DP levels
            context = _NegligibleNoiseContext(
                level=PrivacyLevel.DP_MEDIUM,
                job_bounds=bounds[job.name],
                k_threshold=0,
                scope=release_scope(bounds[job.name], PrivacyLevel.DP_MEDIUM, month),
                run_id=str(uuid.uuid4()),
                key_version=key.version,
            )
            if release_refusal(job, context) is not None:
                continue  # a quarterly table outside its quarter-end month
            scope = context.scope
            if scope.start not in prepared:
                prepared[scope.start] = prepare_inputs(raw, scope, keyed_pseudonym(key))
            released = to_cells(job.transform(prepared[scope.start], context), job.table)
            cells.setdefault(job.name, {}).update(released)
    return cells


def detail(table: str, exact: Cells, released: Cells) -> str:
    """Every cell with data of ``table``, largest first: exact learners, published, values.

    One line per cell: each metric as released/exact (map entries left out).
    """
    learners = LEARNER_COLUMNS.get(table)
    lines = [f"{table}: cell | exact learners | published | metric released/exact ..."]
    with_data = {k: v for k, v in exact.items() if has_data(v)}
    for key in sorted(with_data, key=lambda k: -(with_data[k].get(learners or "") or 0)):
        truth, got = with_data[key], released.get(key) or {"_published": 0.0}
        shown = [
            f"{m} {got.get(m)!s:.8}/{truth[m]!s:.8}"
            for m in truth
            if m != "_published" and "[" not in m and got.get(m) is not None
        ]
        count = truth.get(learners or "")
        lines.append(
            f"  {key} | {count} | {'yes' if got['_published'] else 'no'} | {', '.join(shown)}"
        )
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 10:
        return f"{value:.0f}×"
    return f"{100 * value:.1f} %" if value < 0.1 else f"{100 * value:.0f} %"


def markdown(comparisons: Sequence[Comparison]) -> str:
    """One Markdown row per table and level: cells, published share, error per metric."""
    lines = [
        "| table | level | cells | published | median relative error per metric |",
        "|---|---|---:|---:|---|",
    ]
    for c in comparisons:
        share = "–" if c.published_share is None else f"{100 * c.published_share:.0f} %"
        errors = ", ".join(f"{m} {_percent(e)}" for m, e in c.errors.items() if e is not None)
        detail = errors or c.note or ("nothing published" if not c.published else "")
        lines.append(f"| {c.table} | {c.level} | {c.exact_cells:,} | {share} | {detail} |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tenant-learners",
        default="2000,400",
        help="learners per generated district, comma-separated (default 2000,400)",
    )
    parser.add_argument(
        "--start",
        type=dt.date.fromisoformat,
        default=dt.date(2025, 1, 1),
        help="first day (default 2025-01-01): exact period tables need one whole calendar month",
    )
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--events", type=int, default=None, help="default: derived by profile")
    parser.add_argument("--out", type=Path, default=Path("data/bench-utility"))
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument(
        "--shuffle-partitions",
        type=int,
        default=4,
        help="spark.sql.shuffle.partitions (the curated tables are small; default 4)",
    )
    parser.add_argument(
        "--levels", default=",".join(LEVELS), help=f"comma-separated subset of {LEVELS}"
    )
    parser.add_argument("--skip-bounding", action="store_true", help="no bias-only release")
    parser.add_argument(
        "--detail",
        default=None,
        help="comma-separated tables whose every cell is printed per DP level (exact vs released)",
    )
    parser.add_argument(
        "--tables",
        default=None,
        help="comma-separated subset of the curated tables (default: every job of run_all)",
    )
    args = parser.parse_args(argv)
    # Checked before any data is generated or Spark starts: a typo fails in a second.
    known_tables = {j.name for j in ALL_JOBS}
    for flag, value, known in (
        ("--levels", args.levels, set(LEVELS)),
        ("--tables", args.tables, known_tables),
        ("--detail", args.detail, known_tables),
    ):
        unknown = sorted(set([] if value is None else value.split(",")) - known)
        if unknown:
            choices = ", ".join(sorted(known))
            parser.error(f"{flag}: unknown {', '.join(unknown)}; choose from {choices}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from jobs.generate import district_events

    months = calendar_months(args.start, args.days)
    sizes = tuple(int(n) for n in args.tenant_learners.split(","))
    learners = sum(sizes)
    config = GeneratorConfig(
        events=args.events or district_events(learners, args.days),
        seed=args.seed,
        days=args.days,
        start=args.start,
        profile=Profile.DISTRICT,
        tenant_learners=sizes,
    )
    spark = build_spark_session(
        "bench-utility",
        master=args.master,
        shuffle_partitions=args.shuffle_partitions,
        ui_enabled=False,
        extra_conf={
            "spark.driver.memory": args.driver_memory,
            "spark.ui.showConsoleProgress": "false",
        },
    )
    spark.sparkContext.setLogLevel("ERROR")
    name = f"district-{'-'.join(map(str, sizes))}-{args.start}-{args.days}d-s{args.seed}"
    root = (args.out / name).resolve()
    settings = load_settings(data_root=str(root), pseudonym_key=BENCH_KEY, dp_epsilon_budget=1e9)
    started = time.monotonic()
    if not is_delta_table(spark, settings.path("raw", "events")):
        write_raw_tables(generate_raw_tables(spark, config), settings.path("raw"))
        print(f"generated {config.events:,} events in {time.monotonic() - started:.0f}s")

    def log(what: str) -> None:
        print(f"[{time.monotonic() - started:6.0f}s] {what}", file=sys.stderr, flush=True)

    jobs = [j for j in ALL_JOBS if args.tables is None or j.name in args.tables.split(",")]
    names = [j.name for j in jobs]
    exact = release(spark, settings, months, jobs, "anonymized", exact=True)
    # DP releases of quarterly tables are compared with the exact quarter.
    exact_dp = {**exact, **exact_dp_periods(spark, settings, months, jobs)}
    log("exact release done")
    comparisons: list[Comparison] = []
    for level in args.levels.split(","):
        released = release(spark, settings, months, jobs, level)
        log(f"{level} release done")
        reference = exact if level == "anonymized" else exact_dp
        for name in names:
            comparisons.append(compare(name, level, reference[name], released[name]))
        for name in (args.detail or "").split(","):
            if name in names:
                print(f"\n[{level}] {detail(name, reference[name], released[name])}")
    if not args.skip_bounding:
        try:
            bounded = bounded_without_noise(spark, settings, months, jobs)
        except Exception as error:  # the engine changes; report, do not lose the rest
            print(f"bounding-only release failed: {type(error).__name__}: {error}", file=sys.stderr)
        else:
            log("bounding-only release done")
            for name in names:
                if name in bounded:  # learner-level tables have no DP release
                    comparisons.append(
                        compare(name, "bounding only", exact_dp[name], bounded[name])
                    )
    print(
        f"\nDistricts of {', '.join(f'{n:,}' for n in sizes)} learners, {config.days} days "
        f"from {config.start}, {config.events:,} events, seed {config.seed}; "
        f"{time.monotonic() - started:.0f}s on {args.master}.\n"
    )
    print(markdown(sorted(comparisons, key=lambda c: list(CURATED_TABLES).index(c.table))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
