"""Planning a run from the ledgers: which tenants each release writes, reused or refused.

Decided before anything is computed, from ``ops/privacy_budget`` and ``ops/job_runs``
(read with delta-rs) and the tenant registry: a DP rerun whose releases are all
published ends here without reading raw data (:func:`published_outcomes`), and a new
release reserves its ε before it is computed (:func:`plan_releases`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from conf.settings import AnalyticsSettings
from contracts.raw import RAW_TABLES
from jobs.delta_io import (
    ensure_curated_table,
    read_raw_table,
)
from jobs.prepare import (
    PreparedInputs,
    Scope,
    registry_rows,
    validate_tenants,
)
from jobs.release import (
    CuratedJob,
    ReleaseContext,
    release_refusal,
    slice_predicate,
)
from jobs.run_report import TableOutcome
from privacy_udfs import Charge, PrivacyBudget, PrivacyLevel
from privacy_udfs.budget import LedgerSnapshot
from privacy_udfs.delta_reads import open_table, read_whole


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
    table = open_table(settings.path("ops", "job_runs"))
    if table is None:
        return dict.fromkeys(runs)
    wanted = set(runs.values())
    found = [
        r for r in read_whole(table, ["run_id", "status"]).to_pylist() if r["run_id"] in wanted
    ]  # the ledger is small: one row per run
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
        refusal = release_refusal(job, context)
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
            refusal = release_refusal(job, context)
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
