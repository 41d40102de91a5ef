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
import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import deltalake
import pyarrow.compute as pc
from deltalake.exceptions import TableNotFoundError
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from conf.bounds import load_job_bounds
from conf.settings import AnalyticsSettings
from contracts.curated import OPS_TENANTS, QUARANTINE
from contracts.raw import RAW_TABLES
from jobs.arguments import JobArguments
from jobs.delta_io import (
    ensure_curated_table,
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
    registry_rows,
    validate_tenants,
)
from jobs.pseudonym_key import resolve_pseudonym_key
from jobs.release import (
    LEARNER_COLUMNS,
    CuratedJob,
    ReleaseContext,
    release_refusal,
    slice_predicate,
    with_release_metadata,
)
from privacy_udfs import Charge, PrivacyBudget, PrivacyLevel, RandomSource
from privacy_udfs.accountant import WindowSpend
from privacy_udfs.budget import LedgerSnapshot
from privacy_udfs.keys import PseudonymKey
from privacy_udfs.windows import window_of


class UnknownTenantError(JobError, ValueError):
    """``--tenant`` names a tenant the registry does not hold for the period."""


@dataclass
class TableOutcome:
    """What one job did: rows written, groups suppressed, ε per tenant, tenants refused."""

    table: str
    rows_written: int = 0
    groups_suppressed: int = 0
    epsilon_by_tenant: dict[str, float] = field(default_factory=dict)
    charges: list[Charge] = field(default_factory=list)
    refused_tenants: list[str] = field(default_factory=list)
    reused_tenants: list[str] = field(default_factory=list)
    skipped_reason: str | None = None
    median_error_bar: float | None = None

    @property
    def published_share(self) -> float | None:
        """Share of written cells that carry values (not suppressed)."""
        if not self.rows_written:
            return None
        return 1.0 - self.groups_suppressed / self.rows_written


@dataclass
class RunSummary:
    """The result of a run, as printed at the end and recorded in job_runs."""

    run_id: str
    status: str
    counters: RunCounters
    tables: list[TableOutcome]
    quarantine_rows: int | None = None
    nothing_to_do: bool = False


_LOG = logging.getLogger("jobs.runner")


def log(step: str, message: str, **fields: object) -> None:
    """One progress record (logger ``jobs.runner``), the step name in ``step``.

    Formatted by :mod:`jobs.job_logging`: a text line, or JSON under ``LOG_FORMAT=json``
    with the run id bound by the caller.
    """
    _LOG.info(message, extra={"step": step, **fields})


@contextmanager
def step(name: str, message: str) -> Iterator[None]:
    """Log the start and duration of a pipeline step (``seconds`` in the closing record)."""
    log(name, message)
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    log(name, f"done in {elapsed:.1f}s", seconds=round(elapsed, 3))


def read_raw_tables(spark: SparkSession, settings: AnalyticsSettings) -> RawTables:
    """Read every raw table of the contract, failing before any write if one breaks it."""
    frames = {
        name: read_raw_table(spark, settings.path("raw", name), name, columns)
        for name, columns in RAW_TABLES.items()
    }
    return RawTables(**frames)


@dataclass(frozen=True)
class TenantDirectory:
    """The run's tenants from the registry (a public list): all, and those of platform rows.

    A tenant that joined during the period is released in its own tables but enters
    platform-wide tables at the next period, so a published platform slice never needs
    redrawing for it.
    """

    tenants: list[str]
    platform_tenants: list[str]


def tenant_directory(inputs: PreparedInputs, scope: Scope) -> TenantDirectory:
    """Read the registry rows of the run: tiny (one row per tenant), on the driver."""
    return directory_of(inputs.tenants, scope)


def registry_directory(
    spark: SparkSession, settings: AnalyticsSettings, scope: Scope
) -> TenantDirectory:
    """The run's tenants from ``raw/tenants`` alone (validated as a run does), no events read."""
    registry = read_raw_table(
        spark, settings.path("raw", "tenants"), "tenants", RAW_TABLES["tenants"]
    )
    valid = registry_rows(validate_tenants(scope.in_tenant(registry)))
    return directory_of(valid.where(F.col("joined_on") <= F.lit(scope.end)), scope)


def directory_of(registry: DataFrame, scope: Scope) -> TenantDirectory:
    """The tenant directory of valid registry rows (one per tenant, on the driver)."""
    rows = registry.select("tenant_id", "joined_on").collect()  # one row per tenant
    tenants = sorted(r.tenant_id for r in rows)
    platform = sorted(r.tenant_id for r in rows if r.joined_on <= scope.start)
    return TenantDirectory(tenants, platform)


def release_id(job: str, level: PrivacyLevel, tenant: str, scope: Scope) -> str:
    """Identity of one tenant's release of one table for one period and level."""
    return f"{job}:{level.value}:{tenant}:{scope.start.isoformat()}:{scope.end.isoformat()}"


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
    predicate = quarantine_slice(scope)
    overwrite_slice(rows, path, predicate)
    return spark.read.format("delta").load(path).where(predicate).count()


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


def outcomes_json(outcomes: Sequence[TableOutcome]) -> str:
    """Per-table outcomes as recorded in ``job_runs.table_outcomes`` (JSON list)."""
    return json.dumps(
        [
            {
                "table": o.table,
                "rows_written": o.rows_written,
                "groups_suppressed": o.groups_suppressed,
                "released_tenants": sorted(o.epsilon_by_tenant),
                "epsilon_per_tenant": max(o.epsilon_by_tenant.values(), default=0.0),
                "reused_tenants": sorted(o.reused_tenants),
                "refused_tenants": sorted(o.refused_tenants),
                "skipped_reason": o.skipped_reason,
            }
            for o in outcomes
        ],
        separators=(",", ":"),
    )


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


def release_charges(
    job: CuratedJob, context: ReleaseContext, tenants: Sequence[str]
) -> list[Charge]:
    """What releasing ``job`` costs each tenant (platform-wide tables charge every tenant).

    Each charge names the first day of data the release reads (its history included), so
    the ledger charges every accounting window the input touches.
    """
    scope, level = context.scope, context.level
    epsilon, delta, rho = context.epsilon or 0.0, context.delta, context.rho  # same for all
    return [
        Charge(
            tenant_id=t,
            period_start=scope.start,
            period_end=scope.end,
            release_id=release_id(job.name, level, t, scope),
            job_name=job.name,
            privacy_level=level.value,
            epsilon=epsilon,
            delta=delta,
            rho=rho,
            input_start=scope.history_start,
        )
        for t in tenants
    ]


ReleaseState = Literal["published", "unwritten", "in progress"]


def charging_run_status(
    settings: AnalyticsSettings, ledger: LedgerSnapshot, release_ids: Sequence[str]
) -> dict[str, str | None]:
    """Status in ``job_runs`` of the run that last charged each release (delta-rs, no Spark)."""
    runs = ledger.charging_runs(release_ids)
    if not runs:
        return {}
    try:
        table = deltalake.DeltaTable(settings.path("ops", "job_runs"))
    except TableNotFoundError:
        return dict.fromkeys(runs)
    found = (
        table.to_pyarrow_dataset()
        .to_table(
            columns=["run_id", "status"],
            filter=pc.field("run_id").isin(sorted(set(runs.values()))),
        )
        .to_pylist()
    )  # one row per charging run
    status = {r["run_id"]: r["status"] for r in found}
    return {release: status.get(run) for release, run in runs.items()}


def published_outcomes(
    spark: SparkSession,
    settings: AnalyticsSettings,
    budget: PrivacyBudget,
    jobs: Sequence[CuratedJob],
    contexts: Sequence[ReleaseContext],
    directory: TenantDirectory,
) -> list[TableOutcome] | None:
    """The outcomes of a DP run with nothing to do, decided from the ledgers alone; else None.

    Nothing to do: every tenant's release of every table is in the budget ledger and was
    charged by a run that succeeded (platform-wide tables: published once per period).
    Then no raw event needs reading, validating or hashing. Anything else (a release
    missing, unwritten or in progress) returns None and the run takes the full path,
    where :func:`plan_releases` decides per tenant.
    """
    tenant_run = contexts[0].scope.tenant_id is not None
    charges: dict[str, list[Charge]] = {}
    refusals: dict[str, str] = {}
    for job, context in zip(jobs, contexts, strict=True):
        refusal = release_refusal(job, context.level, context.scope)
        if refusal is not None:
            refusals[job.name] = refusal  # never released by this run: nothing to wait for
            continue
        if job.platform_wide and tenant_run:
            continue
        covered = directory.platform_tenants if job.platform_wide else directory.tenants
        charges[job.name] = release_charges(job, context, covered)
    ids = [c.release_id for cs in charges.values() for c in cs]
    if not ids:
        return None
    ledger = budget.snapshot()
    published = ledger.known(ids)
    own_tables = [c for job in jobs if not job.platform_wide for c in charges.get(job.name, [])]
    if any(c.release_id not in published for c in own_tables):
        return None
    if any(
        job.platform_wide and not any(c.release_id in published for c in charges[job.name])
        for job in jobs
        if job.name in charges
    ):
        return None
    status = charging_run_status(settings, ledger, [c.release_id for c in own_tables])
    if any(status.get(c.release_id) != "succeeded" for c in own_tables):
        return None
    outcomes = []
    for job in jobs:
        outcome = TableOutcome(job.name)
        if job.name in refusals:
            outcome.skipped_reason = refusals[job.name]
        elif job.name not in charges:
            outcome.skipped_reason = "platform-wide table: not released by a single-tenant run"
        else:
            outcome.reused_tenants = sorted(c.tenant_id for c in charges[job.name])
            outcome.skipped_reason = (
                "already published (platform-wide: once per period)"
                if job.platform_wide
                else "already published"
            )
        outcomes.append(outcome)
    return outcomes


def release_states(
    spark: SparkSession,
    settings: AnalyticsSettings,
    job: CuratedJob,
    context: ReleaseContext,
    ledgered: Sequence[Charge],
    ledger: LedgerSnapshot,
) -> dict[str, ReleaseState]:
    """What became of releases already charged in the budget ledger, per tenant.

    ``published``: the charging run succeeded (an empty release is still a release),
    or rows are in the curated slice. ``unwritten``: the charging run failed or was
    abandoned before writing, so its noise was never seen. ``in progress``: the
    charging run is still running. The curated slice is read (Spark) only for
    releases whose charging run did not succeed; a rerun of a published period
    reads the ledgers alone.
    """
    if not ledgered:
        return {}
    by_release = charging_run_status(settings, ledger, [c.release_id for c in ledgered])
    status = {c.tenant_id: by_release.get(c.release_id) for c in ledgered}
    unsure = [c.tenant_id for c in ledgered if status.get(c.tenant_id) != "succeeded"]
    present: set[str] = set()
    if unsure:
        slice_rows = (
            spark.read.format("delta")
            .load(settings.path("curated", job.name))
            .where(slice_predicate(job.table, context.scope, context.level, unsure))
        )
        if "tenant_id" in job.table.key_names:
            present = {
                r.tenant_id for r in slice_rows.select("tenant_id").distinct().collect()
            }  # tenants
        else:
            present = set(unsure) if slice_rows.limit(1).count() else set()
    states: dict[str, ReleaseState] = {}
    for tenant in (c.tenant_id for c in ledgered):
        if tenant in present or status.get(tenant) == "succeeded":
            states[tenant] = "published"
        elif status.get(tenant) in ("failed", "abandoned"):
            states[tenant] = "unwritten"
        else:
            states[tenant] = "in progress"
    return states


@dataclass
class ReleasePlan:
    """What one job of a run may write, decided before anything is computed."""

    outcome: TableOutcome
    write_tenants: list[str]


def plan_releases(
    spark: SparkSession,
    settings: AnalyticsSettings,
    budget: PrivacyBudget,
    jobs: Sequence[CuratedJob],
    contexts: Sequence[ReleaseContext],
    tenants: Sequence[str],
    force: bool,
    platform_tenants: Sequence[str] | None = None,
) -> list[ReleasePlan]:
    """Decide, for every job at once, which tenants each release writes, and reserve their ε.

    Platform-wide tables charge ``platform_tenants`` (the tenants whose learners their
    rows cover; default: every tenant).

    One ledger lookup, one budget check and one charge (a single Delta commit) cover the
    whole run, so the budget costs the same few queries however many tables are released.
    A tenant is released in full or refused in full, never left with half a release.
    ε is reserved before anything is computed: a crash later wastes budget but can never
    spend it twice, and a concurrent run releasing the same data finds it published.
    """
    plans = []
    for job, context in zip(jobs, contexts, strict=True):
        plan = ReleasePlan(TableOutcome(job.name), list(tenants))
        if job.platform_wide and context.scope.tenant_id is not None:
            plan.outcome.skipped_reason = "platform-wide table: not released by a single-tenant run"
            plan.write_tenants = []
        else:
            ensure_curated_table(
                spark, settings.path("curated", job.name), job.table, context.k_threshold
            )
            refusal = release_refusal(job, context.level, context.scope)
            if refusal is not None:  # cadence and level rules, in one place (jobs.release)
                plan.outcome.skipped_reason = refusal
                plan.write_tenants = []
        plans.append(plan)
    dp = [
        (job, context, plan)
        for job, context, plan in zip(jobs, contexts, plans, strict=True)
        if context.level.is_dp and plan.outcome.skipped_reason is None
    ]
    if not dp:
        return plans

    covered = tenants if platform_tenants is None else platform_tenants
    charges = {
        job.name: release_charges(job, context, covered if job.platform_wide else tenants)
        for job, context, _ in dp
    }
    ledger = budget.snapshot()
    published = (
        frozenset()
        if force
        else ledger.known([c.release_id for cs in charges.values() for c in cs])
    )
    resumed: dict[str, list[str]] = {}
    for job, context, plan in dp:
        ledgered = [c for c in charges[job.name] if c.release_id in published]
        if job.platform_wide and ledgered and not force:
            # One platform slice per (level, period): once any tenant's share of it is in
            # the ledger, the slice is published. A tenant added since enters at the next
            # period; its new charge must not redraw the noise everyone has seen.
            plan.outcome.reused_tenants = sorted(c.tenant_id for c in charges[job.name])
            plan.outcome.skipped_reason = "already published (platform-wide: once per period)"
            charges[job.name] = []
            resumed[job.name] = []
            continue
        state = release_states(spark, settings, job, context, ledgered, ledger)
        plan.outcome.reused_tenants = sorted(t for t, s in state.items() if s == "published")
        resumed[job.name] = sorted(t for t, s in state.items() if s == "unwritten")
        busy = sorted(t for t, s in state.items() if s == "in progress")
        if busy:
            plan.outcome.skipped_reason = f"being released by another run for {len(busy)} tenant(s)"
        charges[job.name] = [c for c in charges[job.name] if c.tenant_id not in state]

    _, refusals = budget.check([c for cs in charges.values() for c in cs], forced=force)
    refused = sorted({r.tenant_id for r in refusals})
    to_charge: list[Charge] = []
    for job, _, plan in dp:
        plan.outcome.refused_tenants = list(refused)
        if job.platform_wide and refused:
            # Platform rows mix every tenant's learners: one tenant over budget blocks them.
            plan.outcome.skipped_reason = "refused: a tenant is over its privacy budget"
            charges[job.name] = []
        to_charge += [c for c in charges[job.name] if c.tenant_id not in refused]

    reserved = budget.charge(to_charge, job_run_id=contexts[0].run_id, forced=force)
    charged = {c.release_id for c in reserved.charged}
    raced = {c.release_id for c in reserved.already_published}
    for job, _, plan in dp:
        plan.outcome.reused_tenants += [
            c.tenant_id for c in charges[job.name] if c.release_id in raced
        ]
        # Charged by a run that died before writing: that draw was never seen, so the
        # release is computed now under the same charge.
        plan.write_tenants = [
            c.tenant_id for c in charges[job.name] if c.release_id in charged
        ] + resumed[job.name]
        if not plan.write_tenants and plan.outcome.skipped_reason is None:
            plan.outcome.skipped_reason = (
                "already published"
                if plan.outcome.reused_tenants and not plan.outcome.refused_tenants
                else "over budget"
                if plan.outcome.refused_tenants and not plan.outcome.reused_tenants
                else "already published or over budget for every tenant"
            )
    return plans


def _release_table(
    spark: SparkSession,
    settings: AnalyticsSettings,
    job: CuratedJob,
    inputs: PreparedInputs,
    context: ReleaseContext,
    plan: ReleasePlan,
) -> TableOutcome:
    """Compute the planned release, replace its slice and read back what was written."""
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
    overwrite_slice(released, path, predicate)
    if context.level.is_dp:
        outcome.epsilon_by_tenant = {t: context.epsilon or 0.0 for t in write_tenants}
        outcome.charges = release_charges(job, context, write_tenants)

    # Read back what was written: the published draw, not a recomputation.
    learners = LEARNER_COLUMNS.get(job.name)
    error_bar = (
        F.percentile_approx(
            F.when(~F.col("insufficient_data"), F.col("ci95")[learners] / F.col(learners)), 0.5
        )
        if learners
        else F.lit(None)
    )
    stats = (
        spark.read.format("delta")
        .load(path)
        .where(predicate)
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.sum(F.col("insufficient_data").cast("int")).alias("suppressed"),
            error_bar.cast("double").alias("error_bar"),
        )
        .first()
    )
    outcome.rows_written = int(stats["rows"] or 0) if stats else 0
    outcome.groups_suppressed = int(stats["suppressed"] or 0) if stats else 0
    outcome.median_error_bar = stats["error_bar"] if stats else None
    return outcome


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
                scope=scope,
                run_id=arguments.run_id,
                key_version=key.version,
                random_source=random_source,
            )
            for job in jobs
        ]
        if level.is_dp and not arguments.force:
            with step("ledger", "is every release of the run already published?"):
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
        with step("read", "raw tables (contract check)"):
            raw = read_raw_tables(spark, settings)
        with step("validate", f"events {scope.start}..{scope.end}, pseudonymize"):
            pseudonym = keyed_pseudonym(key) if protections.keyed_pseudonyms else _identity
            inputs = prepare_inputs(raw, scope, pseudonym)
            # Every job reads these; cache them so raw events are validated and hashed once.
            shared = (inputs.checked_events, inputs.events, inputs.history, inputs.learners)
            for frame in shared:
                frame.persist()
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
        with step("budget", "check and reserve ε for every release of the run"):
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
        for job, context, plan in zip(jobs, contexts, plans, strict=True):
            with step(job.name, "aggregate, bound, noise, suppress, write"):
                outcome = _release_table(spark, settings, job, inputs, context, plan)
            outcomes.append(outcome)
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


def epsilon_per_tenant(outcomes: Sequence[TableOutcome], delta: float) -> float:
    """The most ε the run cost any one tenant, its tables composed, without float dust.

    Composition as the ledger does it: zCDP tables add their ρ (stated at ``delta``),
    pure ones their ε (see :class:`privacy_udfs.accountant.WindowSpend`).
    """
    spends: dict[str, WindowSpend] = {}
    for outcome in outcomes:
        for charge in outcome.charges:
            spends[charge.tenant_id] = spends.get(charge.tenant_id, WindowSpend()).plus(charge)
    return round(max((s.epsilon_at(delta) for s in spends.values()), default=0.0), 9)


def format_summary(summary: RunSummary) -> str:
    """The end-of-run table: rows, published share, error bar and ε per tenant per table."""
    counters = summary.counters
    lines = [
        f"run {summary.run_id}: {summary.status}"
        + (
            " (nothing to do: every release is already published; raw data not read)"
            if summary.nothing_to_do
            else ""
        ),
        f"events read {counters.rows_read:,}  used {counters.rows_read - counters.rows_quarantined:,}"
        f"  quarantined {counters.rows_quarantined:,}",
        *(
            []
            if summary.quarantine_rows is None
            else [
                f"quarantine: {summary.quarantine_rows:,} distinct rejected rows "
                "(events, learners, tenants) for this period and scope; a rerun replaces them"
            ]
        ),
        f"tenants {len(counters.tenants)}  ε per tenant (tables composed) "
        f"{counters.epsilon_charged:.4g}",
        f"{'table':<20}{'rows':>9}{'suppressed':>11}{'published':>10}{'±95 %':>8}"
        f"{'ε/tenant':>10}{'tenants':>8}  note",
    ]
    for t in summary.tables:
        per_tenant = max(t.epsilon_by_tenant.values(), default=0.0)
        notes = [t.skipped_reason or ""]
        if t.refused_tenants:
            notes.append(f"over budget, refused: {len(t.refused_tenants)} tenant(s)")
        if t.reused_tenants:
            notes.append(f"already published, reused: {len(t.reused_tenants)} tenant(s)")
        share = "–" if t.published_share is None else f"{100 * t.published_share:.0f} %"
        bar = "–" if t.median_error_bar is None else f"{100 * t.median_error_bar:.0f} %"
        lines.append(
            f"{t.table:<20}{t.rows_written:>9,}{t.groups_suppressed:>11,}{share:>10}{bar:>8}"
            f"{per_tenant:>10.4g}{len(t.epsilon_by_tenant):>8}  {'; '.join(n for n in notes if n)}"
        )
    lines.append("±95 %: median over published cells of the learner count's 95 % error bar")
    return "\n".join(lines)
