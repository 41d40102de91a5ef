"""Extract -> transform -> load for one run of one or more curated jobs.

``run_release`` is the wiring every ``main()`` calls: it records the run in
``job_runs``, reads and checks the raw tables, prepares pseudonymous inputs
once, checks and reserves the privacy budget of every table in one commit
(:func:`plan_releases`), then for each job computes the release, replaces
exactly the run's slice of the curated table, and finally records the
counts. Nothing here is job-specific.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from conf.bounds import load_job_bounds
from conf.settings import AnalyticsSettings
from contracts.curated import OPS_TENANTS, QUARANTINE
from contracts.raw import RAW_TABLES
from jobs.arguments import JobArguments
from jobs.delta_io import (
    ensure_ledger_table,
    overwrite_slice,
    read_raw_table,
    with_retries,
)
from jobs.errors import JobError
from jobs.job_runs import JobRunLedger, RunCounters
from jobs.prepare import (
    PreparedInputs,
    RawTables,
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
    release_scope,
    slice_predicate,
    with_release_metadata,
)
from jobs.release_planning import (
    ReleasePlan,
    plan_releases,
    published_outcomes,
    registry_directory,
    release_charges,
    tenant_directory,
)
from jobs.run_report import (
    RunSummary,
    TableOutcome,
    epsilon_per_tenant,
    log,
    outcomes_json,
    step,
)
from privacy_udfs import PrivacyBudget, PrivacyLevel, RandomSource
from privacy_udfs.keys import PseudonymKey
from privacy_udfs.windows import window_of


class UnknownTenantError(JobError, ValueError):
    """``--tenant`` names a tenant the registry does not hold for the period."""


@contextmanager
def _step(spark: SparkSession, name: str, message: str) -> Iterator[None]:
    """A logged step (:func:`jobs.run_report.step`) whose Spark jobs carry its name.

    The description is a thread-local property, so each table released in parallel
    labels its own jobs in the Spark UI and the event log ("session_daily: aggregate,
    ..."), where an operator profiling a run finds which step a slow job belongs to.
    """
    context = spark.sparkContext
    context.setJobDescription(f"{name}: {message}")
    try:
        with step(name, message):
            yield
    finally:
        context.setJobDescription(None)  # type: ignore[arg-type]


def read_raw_tables(spark: SparkSession, settings: AnalyticsSettings) -> RawTables:
    """Read every raw table of the contract, failing before any write if one breaks it."""
    frames = {
        name: read_raw_table(spark, settings.path("raw", name), name, columns)
        for name, columns in RAW_TABLES.items()
    }
    return RawTables(**frames)


QUARANTINE_SOURCES = ("events", "learners", "tenants")


def quarantine_slice(scope: Scope) -> str:
    """The quarantine rows a run owns: its period, its scope (tenant or all), its sources.

    Built only from validated dates and a UUID.
    """
    sources = ", ".join(f"'{s}'" for s in QUARANTINE_SOURCES)
    return (
        f"period_start = DATE'{scope.start.isoformat()}' "
        f"AND period_end = DATE'{scope.end.isoformat()}' "
        f"AND run_scope = '{scope.tenant_id or 'all'}' AND source_table IN ({sources})"
    )


def _write_quarantine(
    spark: SparkSession, settings: AnalyticsSettings, rejected: DataFrame, run_id: str, scope: Scope
) -> int:
    """Replace the run's quarantine slice with its rejected rows; return how many it holds.

    A rerun of the same period and scope replaces its own rows instead of adding copies
    (each copy would be one more copy of the PII), so the slice holds each rejected raw
    row once (a redelivered event's extra copies are distinct rejected rows).
    """
    path = settings.path("quarantine", "rows")
    ensure_ledger_table(
        spark, path, QUARANTINE, "Rejected raw rows with reasons. Contains PII: raw access only."
    )
    rows = rejected.select(
        "source_table",
        "tenant_id",
        "reason",
        "raw_row",
        F.lit(run_id).alias("job_run_id"),
        F.current_timestamp().alias("quarantined_at"),
        F.lit(scope.start).cast("date").alias("period_start"),
        F.lit(scope.end).cast("date").alias("period_end"),
        F.lit(scope.tenant_id or "all").alias("run_scope"),
    )
    # Cached: the write and the count read the rejected rows once (the slice holds
    # exactly what the write wrote: replaceWhere replaces it whole).
    rows = rows.persist()
    try:
        overwrite_slice(rows, path, quarantine_slice(scope))
        return rows.count()
    finally:
        rows.unpersist()


def _publish_tenants(
    spark: SparkSession, settings: AnalyticsSettings, inputs: PreparedInputs, scope: Scope
) -> None:
    """Write ``ops/tenants``: the registry with learner counts, for operators and the API.

    The API never reads raw/; this small table (one row per tenant, no PII) is what its
    root-only tenant list and unknown-tenant check read. A single-tenant run replaces
    only its tenant's row.
    """
    path = settings.path("ops", "tenants")
    ensure_ledger_table(
        spark, path, OPS_TENANTS, "The tenant registry with learner counts (no PII)."
    )
    learners = inputs.learners.groupBy("tenant_id").agg(F.count(F.lit(1)).alias("learners"))
    rows = (
        inputs.tenants.select("tenant_id", "name", "state_province", "joined_on")
        .join(learners, "tenant_id", "left")
        .select(
            "tenant_id",
            "name",
            "state_province",
            "joined_on",
            F.coalesce(F.col("learners"), F.lit(0)).cast("long").alias("learners"),
            F.current_timestamp().alias("updated_at"),
        )
    )
    if scope.tenant_id is None:
        with_retries(lambda: rows.write.format("delta").mode("overwrite").save(path))
    else:
        predicate = f"tenant_id = '{scope.tenant_id}'"
        overwrite_slice(rows.where(F.col("tenant_id") == scope.tenant_id), path, predicate)


def _count_inputs(inputs: PreparedInputs) -> tuple[int, int, int]:
    """(rows read, rows used, rows quarantined) of the events, in one pass."""
    counts = (
        inputs.checked_events.groupBy(F.col("rejection_reason").isNull().alias("valid"))
        .count()
        .collect()  # two rows: valid and rejected counts
    )
    valid = sum(r["count"] for r in counts if r.valid)
    rejected = sum(r["count"] for r in counts if not r.valid)
    return valid + rejected, valid, rejected


def _release_statistics(released: DataFrame, learners: str | None) -> Row | None:
    """Rows, suppressed rows and the median relative error bar of the learner count."""
    error_bar = (
        F.percentile_approx(
            F.when(~F.col("insufficient_data"), F.col("ci95")[learners] / F.col(learners)), 0.5
        )
        if learners
        else F.lit(None)
    )
    return released.agg(
        F.count(F.lit(1)).alias("rows"),
        F.sum(F.col("insufficient_data").cast("int")).alias("suppressed"),
        error_bar.cast("double").alias("error_bar"),
    ).first()


def _release_table(
    settings: AnalyticsSettings,
    job: CuratedJob,
    inputs: PreparedInputs,
    context: ReleaseContext,
    plan: ReleasePlan,
) -> TableOutcome:
    """Compute the planned release, replace its slice and count what was written."""
    outcome, write_tenants = plan.outcome, plan.write_tenants
    if not write_tenants:
        return outcome
    path = settings.path("curated", job.name)
    released = job.transform(inputs, context).transform(with_release_metadata(job.table, context))
    has_tenant = "tenant_id" in job.table.key_names
    if has_tenant:
        released = released.where(F.col("tenant_id").isin(write_tenants))
    predicate = slice_predicate(
        job.table, context.scope, context.level, write_tenants if has_tenant else None
    )
    # Cached for the write, so the statistics below read the rows the write read instead
    # of reading the table back (a Delta snapshot and scan per table). The noised
    # aggregates under ``released`` are checkpointed (one draw each), so even a
    # recomputation would count the published values.
    released = released.persist()
    try:
        overwrite_slice(released, path, predicate)
        if context.level.is_dp:
            outcome.epsilon_by_tenant = {t: context.epsilon or 0.0 for t in write_tenants}
            outcome.charges = release_charges(job, context, write_tenants)
        stats = _release_statistics(released, LEARNER_COLUMNS.get(job.name))
    finally:
        released.unpersist()
    outcome.rows_written = int(stats["rows"] or 0) if stats else 0
    outcome.groups_suppressed = int(stats["suppressed"] or 0) if stats else 0
    outcome.median_error_bar = stats["error_bar"] if stats else None
    return outcome


def _release_tables(
    spark: SparkSession,
    settings: AnalyticsSettings,
    releases: Sequence[tuple[CuratedJob, ReleaseContext, ReleasePlan]],
    inputs: dict[dt.date, PreparedInputs],
    outcomes: list[TableOutcome],
) -> None:
    """Release every table, ``settings.release_threads`` at a time, into ``outcomes``.

    Each table is a chain of small Spark jobs (aggregates, checkpoints, one slice write)
    over the shared cached inputs and its own curated table, so tables are independent
    and running a few at once keeps the cores busy between one table's jobs. The seeded
    noise streams are named per measure, so the draws do not depend on the order.
    ``outcomes`` receives each table's outcome as it completes (in job order), so a
    failure records the tables already written; the first failure is re-raised after
    the tables already running have finished, and the tables not yet started are not.
    ``inputs`` holds the prepared inputs of each release period by its first day.
    """

    def release(job: CuratedJob, context: ReleaseContext, plan: ReleasePlan) -> TableOutcome:
        if not plan.write_tenants:  # skipped, reused or refused: nothing to compute
            return plan.outcome
        with _step(spark, job.name, "aggregate, bound, noise, suppress, write"):
            period_inputs = inputs[context.scope.start]
            return _release_table(settings, job, period_inputs, context, plan)

    with ThreadPoolExecutor(settings.release_threads, thread_name_prefix="release") as pool:
        futures = [pool.submit(release, *item) for item in releases]
        try:
            for future in futures:
                outcomes.append(future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _identity(learner_id: Column) -> Column:
    """Learner ids as they are (a :class:`Protections` baseline without keyed pseudonyms)."""
    return learner_id


def run_release(
    spark: SparkSession,
    settings: AnalyticsSettings,
    arguments: JobArguments,
    jobs: Sequence[CuratedJob],
    *,
    run_name: str,
    random_source: RandomSource | None = None,
    now: dt.datetime | None = None,
    key: PseudonymKey | None = None,
) -> RunSummary:
    """Run ``jobs`` for one scope and privacy level, end to end, recording everything.

    Every protection applies: keyed pseudonyms and ``MIN_COHORT_SIZE`` suppression at
    every level, plus bounding, noise and the budget ledger at DP levels. (Benchmarks
    measure what the protections cost through :func:`jobs.baseline.run_baseline`.)
    Failures are recorded in job_runs (status ``failed`` with the message) and re-raised.

    Args:
        spark: The session to run on (built by the caller, see :mod:`jobs.session`).
        settings: Paths, key and privacy settings.
        arguments: Period, tenant, level, run id and ``force`` from the command line.
        jobs: The curated jobs to release, in order.
        run_name: Name recorded in ``job_runs`` (the job or ``run_all``).
        random_source: Noise source; ``None`` is the OS CSPRNG (tests pass a seeded one).
        now: The run's clock (tests pin it).
        key: The pseudonym key, resolved by the caller before Spark started; ``None``
            resolves it here (:func:`jobs.pseudonym_key.resolve_pseudonym_key`).
    """
    return execute_run(
        spark,
        settings,
        arguments,
        jobs,
        run_name=run_name,
        random_source=random_source,
        now=now,
        key=key,
        protections=Protections(),
    )


@dataclass(frozen=True)
class Protections:
    """The protections a run applies besides its privacy level's own (bounding, noise).

    Production runs apply all of them (``Protections()``, the only value
    :func:`run_release` uses). Turning one off exists for measurement only, through
    :func:`jobs.baseline.run_baseline`: the cost of the pipeline without them, or
    exact reference cells to measure the noise against.

    Attributes:
        keyed_pseudonyms: Learner ids are HMAC pseudonyms; off: ids pass unchanged.
        cohort_suppression: Groups under ``MIN_COHORT_SIZE`` are suppressed; off: k = 0.
    """

    keyed_pseudonyms: bool = True
    cohort_suppression: bool = True


def execute_run(
    spark: SparkSession,
    settings: AnalyticsSettings,
    arguments: JobArguments,
    jobs: Sequence[CuratedJob],
    *,
    run_name: str,
    random_source: RandomSource | None,
    now: dt.datetime | None,
    key: PseudonymKey | None,
    protections: Protections,
) -> RunSummary:
    """:func:`run_release` with the protections given (see :class:`Protections`)."""
    level = PrivacyLevel(arguments.privacy_level)
    # A missing or weak key fails here, before the run is recorded or anything is read.
    key = key or resolve_pseudonym_key(settings)
    scope = Scope(
        arguments.start,
        arguments.end,
        arguments.tenant_id,
        now or dt.datetime.now(dt.UTC).replace(tzinfo=None),
        history_start=(
            window_of(arguments.start, settings.dp_budget_window).start if level.is_dp else None
        ),
    )
    ledger = JobRunLedger(spark, settings.path("ops", "job_runs"))
    abandoned = ledger.mark_abandoned_runs()
    if abandoned:
        log("ledger", f"marked {abandoned} stale run(s) as abandoned")
    ledger.start(arguments.run_id, run_name, scope.tenant_id, (scope.start, scope.end), level.value)
    counters = RunCounters()
    outcomes: list[TableOutcome] = []
    try:
        budget = PrivacyBudget(
            spark,
            settings.path("ops", "privacy_budget"),
            settings.dp_epsilon_budget,
            settings.dp_budget_window,
            settings.dp_delta,
        )
        all_bounds = load_job_bounds()
        contexts = [
            ReleaseContext(
                level=level,
                job_bounds=all_bounds[job.name],
                k_threshold=settings.min_cohort_size if protections.cohort_suppression else 0,
                scope=release_scope(all_bounds[job.name], level, scope),
                run_id=arguments.run_id,
                key_version=key.version,
                random_source=random_source,
            )
            for job in jobs
        ]
        if level.is_dp and not arguments.force:
            with _step(spark, "ledger", "is every release of the run already published?"):
                known = registry_directory(spark, settings, scope)
                done = published_outcomes(spark, settings, budget, jobs, contexts, known)
            if done is not None:
                counters.tenants = list(known.tenants)
                log("ledger", "every release is already published: raw data not read")
                ledger.finish(
                    arguments.run_id,
                    "succeeded",
                    counters,
                    "already published: nothing to do",
                    outcomes_json(done),
                )
                return RunSummary(arguments.run_id, "succeeded", counters, done, None, True)
        with _step(spark, "read", "raw tables (contract check)"):
            raw = read_raw_tables(spark, settings)
        with _step(spark, "validate", f"events {scope.start}..{scope.end}, pseudonymize"):
            pseudonym = keyed_pseudonym(key) if protections.keyed_pseudonyms else _identity
            inputs = with_public_dimensions_in_memory(prepare_inputs(raw, scope, pseudonym))
            # Every job reads these; cache them so raw events are validated and hashed once.
            shared: tuple[DataFrame, ...] = (
                inputs.checked_events,
                inputs.events,
                inputs.history,
                inputs.learners,
                inputs.iep_goals,
            )
            for frame in shared:
                frame.persist()
            period_inputs = {scope.start: inputs}
            counters.rows_read, _, counters.rows_quarantined = _count_inputs(inputs)
            quarantined = _write_quarantine(
                spark, settings, inputs.rejected, arguments.run_id, scope
            )
            directory = tenant_directory(inputs, scope)
            tenants = directory.tenants
            if scope.tenant_id is not None and scope.tenant_id not in tenants:
                raise UnknownTenantError(
                    f"tenant {scope.tenant_id} is not in the tenant registry (raw/tenants) "
                    f"by {scope.end}: check the id against raw/tenants"
                )
            counters.tenants = list(tenants)
            _publish_tenants(spark, settings, inputs, scope)
        with _step(spark, "budget", "check and reserve ε for every release of the run"):
            plans = plan_releases(
                spark,
                settings,
                budget,
                jobs,
                contexts,
                tenants,
                arguments.force,
                platform_tenants=directory.platform_tenants,
            )
        refused = {t for plan in plans for t in plan.outcome.refused_tenants}
        if refused:
            log("budget", f"over budget, not released: {', '.join(sorted(refused))}")
        for context, plan in zip(contexts, plans, strict=True):
            period = context.scope
            if plan.write_tenants and period.start not in period_inputs:
                with _step(
                    spark, "validate", f"events {period.start}..{period.end} (quarterly tables)"
                ):
                    longer = with_public_dimensions_in_memory(
                        prepare_inputs(raw, period, pseudonym)
                    )
                    for frame in (longer.events, longer.iep_goals, longer.learners):
                        frame.persist()
                        shared += (frame,)
                    period_inputs[period.start] = longer
        _release_tables(
            spark, settings, list(zip(jobs, contexts, plans, strict=True)), period_inputs, outcomes
        )
        for outcome in outcomes:
            counters.rows_written += outcome.rows_written
            counters.groups_suppressed += outcome.groups_suppressed
            counters.refused_tenants.extend(
                t for t in outcome.refused_tenants if t not in counters.refused_tenants
            )
        counters.epsilon_charged = epsilon_per_tenant(outcomes, settings.dp_delta)
        for frame in shared:
            frame.unpersist()
    except Exception as error:
        ledger.finish(
            arguments.run_id,
            "failed",
            counters,
            f"{type(error).__name__}: {error}",
            outcomes_json(outcomes),
        )
        raise
    status = "refused" if counters.refused_tenants and not counters.rows_written else "succeeded"
    message = (
        f"over budget, not released: {', '.join(counters.refused_tenants)}"
        if counters.refused_tenants
        else None
    )
    ledger.finish(arguments.run_id, status, counters, message, outcomes_json(outcomes))
    return RunSummary(arguments.run_id, status, counters, outcomes, quarantined)
