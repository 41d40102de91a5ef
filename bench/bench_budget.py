"""The budget step of a run on a 10,000-row privacy-budget ledger (target: under 2 s).

Run: ``.venv/bin/python bench/bench_budget.py --tenants 125 --periods 10``

Seeds ``ops/privacy_budget`` with ``tenants x 8 tables x periods`` charges (10,000 rows
by default: one run_all at dp_medium per quarter, each charged by a succeeded run in
``ops/job_runs``), then times on local[2]:

- ``plan (new period)``: :func:`jobs.release_planning.plan_releases` for every table and tenant of
  a period not yet released: one ledger lookup, one budget check, one charge commit;
- ``plan (rerun)``: the same for a period already published (every release reused);
- ``no-op decision``: :func:`jobs.release_planning.published_outcomes`, the ledger-only check
  with which a rerun of a published release ends before reading any raw data.

Each figure is the median of ``--repeats`` runs (a fresh period for every "new period"
run), after one warm-up; the machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid

from _privacy_bench import bench_session, machine_load, median_seconds

from conf.bounds import load_job_bounds
from conf.settings import load_settings
from jobs.job_runs import JobRunLedger, RunCounters
from jobs.prepare import Scope
from jobs.release import ReleaseContext
from jobs.release_planning import (
    TenantDirectory,
    plan_releases,
    published_outcomes,
    release_charges,
)
from jobs.run_all import ALL_JOBS
from privacy_udfs import PrivacyBudget, PrivacyLevel
from privacy_udfs.windows import window_of

LEVEL = PrivacyLevel.DP_MEDIUM


def quarter_start(index: int) -> dt.date:
    """First day of the ``index``-th quarter from 2020-Q1."""
    return dt.date(2020 + index // 4, 1 + 3 * (index % 4), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=125)
    parser.add_argument("--periods", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    spark = bench_session("bench-budget")
    root = tempfile.mkdtemp(prefix="bench-budget-")
    settings = load_settings(data_root=root, dp_epsilon_budget=2.0, dp_budget_window="quarter")
    budget = PrivacyBudget(
        spark,
        settings.path("ops", "privacy_budget"),
        settings.dp_epsilon_budget,
        settings.dp_budget_window,
        settings.dp_delta,
    )
    ledger = JobRunLedger(spark, settings.path("ops", "job_runs"))
    tenants = sorted(str(uuid.UUID(int=i + 1)) for i in range(args.tenants))
    directory = TenantDirectory(tenants, tenants)
    bounds = load_job_bounds()

    def contexts_for(start: dt.date, run_id: str) -> list[ReleaseContext]:
        end = start + dt.timedelta(days=27)
        scope = Scope(
            start,
            end,
            None,
            dt.datetime(2030, 1, 1),
            history_start=window_of(start, "quarter").start,
        )
        return [ReleaseContext(LEVEL, bounds[job.name], 5, scope, run_id, "v1") for job in ALL_JOBS]

    def release(start: dt.date) -> float:
        """Seconds of the budget step (plan_releases) of one run_all at ``start``."""
        run_id = str(uuid.uuid4())
        contexts = contexts_for(start, run_id)
        scope = contexts[0].scope
        ledger.start(run_id, "run_all", None, (scope.start, scope.end), LEVEL.value)
        began = time.perf_counter()
        plan_releases(spark, settings, budget, ALL_JOBS, contexts, tenants, False, tenants)
        elapsed = time.perf_counter() - began
        ledger.finish(run_id, "succeeded", RunCounters())
        return elapsed

    for index in range(args.periods):
        release(quarter_start(index))
    rows = spark.read.format("delta").load(settings.path("ops", "privacy_budget")).count()
    per_run = sum(
        len(release_charges(job, c, tenants))
        for job, c in zip(ALL_JOBS, contexts_for(quarter_start(0), "x"), strict=True)
    )
    print(
        f"ledger rows: {rows:,} ({args.tenants} tenants x {len(ALL_JOBS)} tables x "
        f"{args.periods} periods; {per_run:,} charges per run)"
    )

    fresh = iter(range(args.periods, args.periods + args.repeats + 1))
    release(quarter_start(next(fresh)))  # warm-up
    new_period = statistics.median(release(quarter_start(next(fresh))) for _ in range(args.repeats))
    published = quarter_start(0)
    rerun = statistics.median(release(published) for _ in range(args.repeats))
    noop = median_seconds(
        lambda: published_outcomes(
            spark, settings, budget, ALL_JOBS, contexts_for(published, "rerun"), directory
        ),
        args.repeats,
    )
    assert (
        published_outcomes(
            spark, settings, budget, ALL_JOBS, contexts_for(published, "rerun"), directory
        )
        is not None
    ), "a published period must be recognised as nothing to do"
    print(f"load average: {machine_load()}")
    print(f"plan (new period): {new_period:.2f} s")
    print(f"plan (rerun):      {rerun:.2f} s")
    print(f"no-op decision:    {noop:.2f} s")


if __name__ == "__main__":
    main()
