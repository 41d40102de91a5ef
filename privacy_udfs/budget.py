"""The privacy budget ledger: ε charged per tenant, period and release, in a Delta table.

Rules (DESIGN.md §2 "Budget"):

* A tenant's charges whose periods overlap a period all count against it
  (releases over overlapping data compose sequentially).
* A batch of charges is all-or-nothing: if any would exceed the limit,
  :meth:`PrivacyBudget.charge` raises :class:`BudgetExceededError` and writes
  nothing. Jobs that serve several tenants call :meth:`PrivacyBudget.check`
  first and charge only the ``allowed`` ones, so one tenant's exhausted budget
  does not block the others.
* A release id already in the ledger is *published*: charging it again is a
  no-op that reports it as already published (the job must reuse the stored
  values; fresh noise on a rerun is an averaging attack), unless ``forced``,
  which draws fresh noise and charges again.

Concurrent runs may charge the same ledger. Each charge is checked against a
snapshot, appended, and then re-checked against the ledger exactly as it stood
just before its own commit: the serial order is the commit order, so a charge
that a concurrent commit made invalid (same release already charged, or the
tenant's budget now exceeded) is withdrawn and retried, and ε is never charged
twice for one release nor past a tenant's limit.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.contracts.columns import spark_schema
from jobs.contracts.curated import PRIVACY_BUDGET
from privacy_udfs.errors import PrivacyConfigurationError
from privacy_udfs.levels import PrivacyLevel

# Floating-point sums of shares such as 1/3 must not refuse a release that fits exactly.
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Charge:
    """ε one release spends for one tenant and period.

    Attributes:
        tenant_id: Tenant charged.
        period_start: First day of the data released.
        period_end: Last day of the data released (``>= period_start``).
        release_id: Stable id of the release (job, level, tenant, period): reruns reuse it.
        job_name: Job making the release.
        privacy_level: Level of the release (a :class:`PrivacyLevel` or its value).
        epsilon: ε spent (``>= 0``; 0 for ``anonymized`` records publication only).
    """

    tenant_id: str
    period_start: dt.date
    period_end: dt.date
    release_id: str
    job_name: str
    privacy_level: PrivacyLevel | str
    epsilon: float

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be non-empty"
            for name in ("tenant_id", "release_id", "job_name")
            if not str(getattr(self, name)).strip()
        ]
        if self.period_start > self.period_end:
            problems.append(
                f"period_start {self.period_start} is after period_end {self.period_end}"
            )
        if str(self.privacy_level) not in {level.value for level in PrivacyLevel}:
            problems.append(f"privacy_level {self.privacy_level!r} is not a PrivacyLevel")
        if not (math.isfinite(self.epsilon) and self.epsilon >= 0):
            problems.append(f"epsilon must be finite and >= 0 (got {self.epsilon})")
        if problems:
            raise PrivacyConfigurationError(
                f"Invalid Charge {self.release_id!r}: " + "; ".join(problems)
            )

    def overlaps(self, start: dt.date, end: dt.date) -> bool:
        """Whether this charge's period shares a day with ``[start, end]``."""
        return self.period_start <= end and start <= self.period_end


@dataclass(frozen=True)
class Refusal:
    """A charge that does not fit, with the figures that explain why."""

    charge: Charge
    spent: float
    limit: float

    @property
    def tenant_id(self) -> str:
        """Tenant whose budget is exhausted."""
        return self.charge.tenant_id

    def __str__(self) -> str:
        c = self.charge
        return (
            f"tenant {c.tenant_id} period {c.period_start}..{c.period_end}: spent {self.spent:.6g} "
            f"+ requested {c.epsilon:.6g} > limit {self.limit:.6g} (release {c.release_id})"
        )


class BudgetExceededError(RuntimeError):
    """Charges would exceed a tenant's budget; nothing was written. ``refusals`` lists them."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.refusals = tuple(refusals)
        super().__init__(
            "Privacy budget exceeded, nothing charged: " + "; ".join(str(r) for r in refusals)
        )


class BudgetConflictError(RuntimeError):
    """Concurrent runs kept invalidating a charge; nothing of it stands. Retry the run."""


class BudgetCheck(NamedTuple):
    """Outcome of :meth:`PrivacyBudget.check`; unpacks as ``allowed, refused = ...``."""

    allowed: tuple[Charge, ...]
    refused: tuple[Refusal, ...]


_COMMIT_ATTEMPTS = 6
# Commits to look back through for our own; more than this many concurrent charges in
# the moment between our append and the lookup counts as a lost race (withdraw, retry).
_HISTORY_DEPTH = 50
_CONFLICTS = (
    "ConcurrentAppend",
    "ConcurrentTransaction",
    "ConcurrentWrite",
    "ConcurrentDelete",
    "MetadataChanged",
    "ProtocolChanged",
    "DELTA_CONCURRENT",
    "DELTA_METADATA_CHANGED",
    "DELTA_PROTOCOL_CHANGED",
    "DELTA_TABLE_ALREADY_EXISTS",
    # Another run is creating the ledger right now: its log exists, its first commit not yet.
    "DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION",
)


def _is_concurrent_write(error: Exception) -> bool:
    """True for Delta's optimistic-concurrency conflicts (a retry can succeed)."""
    text = f"{type(error).__name__} {error}"
    return any(name in text for name in _CONFLICTS)


@dataclass(frozen=True)
class ChargeOutcome:
    """Outcome of :meth:`PrivacyBudget.charge`."""

    charged: tuple[Charge, ...]
    already_published: tuple[Charge, ...]


class PrivacyBudget:
    """ε ledger at a Delta path (schema ``jobs.contracts.curated.PRIVACY_BUDGET``)."""

    def __init__(self, spark: SparkSession, path: str, limit_per_period: float) -> None:
        """Open the ledger at ``path`` (created on the first charge).

        Raises:
            PrivacyConfigurationError: ``path`` is empty or the limit is not positive.
        """
        if not isinstance(spark, SparkSession):
            raise PrivacyConfigurationError("PrivacyBudget needs a SparkSession as first argument")
        if not str(path).strip():
            raise PrivacyConfigurationError("PrivacyBudget path must be non-empty")
        if not (math.isfinite(limit_per_period) and limit_per_period > 0):
            raise PrivacyConfigurationError(
                f"limit_per_period must be positive (DP_EPSILON_BUDGET), got {limit_per_period}"
            )
        self._spark = spark
        self._path = str(path)
        self.limit_per_period = float(limit_per_period)

    def __repr__(self) -> str:
        return f"PrivacyBudget(path={self._path!r}, limit_per_period={self.limit_per_period})"

    def _ledger(self, version: int | None = None) -> DataFrame | None:
        """The ledger as it is now, or as it stood at ``version``; None before the first charge."""
        if not DeltaTable.isDeltaTable(self._spark, self._path):
            return None
        reader = self._spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self._path)

    def spent(self, tenant_id: str, period_start: dt.date, period_end: dt.date) -> float:
        """ε already charged to ``tenant_id`` by releases overlapping the period."""
        ledger = self._ledger()
        if ledger is None:
            return 0.0
        total = (
            ledger.where(
                (F.col("tenant_id") == tenant_id)
                & (F.col("period_start") <= F.lit(period_end))
                & (F.col("period_end") >= F.lit(period_start))
            )
            .agg(F.sum("epsilon"))
            .first()
        )
        return float(total[0]) if total is not None and total[0] is not None else 0.0

    def remaining(self, tenant_id: str, period_start: dt.date, period_end: dt.date) -> float:
        """ε still available to ``tenant_id`` for the period (never negative)."""
        return max(0.0, self.limit_per_period - self.spent(tenant_id, period_start, period_end))

    def published(self, release_id: str) -> bool:
        """Whether ``release_id`` is in the ledger (its values must be reused, not redrawn)."""
        return release_id in self.published_releases([release_id])

    def published_releases(self, release_ids: Sequence[str]) -> frozenset[str]:
        """The subset of ``release_ids`` already in the ledger, in one query."""
        ledger = self._ledger()
        if ledger is None or not release_ids:
            return frozenset()
        rows = (
            ledger.where(F.col("release_id").isin(list(release_ids)))
            .select("release_id")
            .distinct()
            .collect()  # at most len(release_ids) ids
        )
        return frozenset(row.release_id for row in rows)

    def check(self, charges: Sequence[Charge], *, forced: bool = False) -> BudgetCheck:
        """Split ``charges`` into those that fit and those that would exceed the limit.

        Charges are taken in order; each counts the ledger plus the earlier
        allowed charges of the same tenant with overlapping periods. Already
        published releases are allowed at no cost unless ``forced``.
        """
        return self._check(charges, forced, self._ledger())[1]

    def _check(
        self, charges: Sequence[Charge], forced: bool, ledger: DataFrame | None
    ) -> tuple[list[Charge], BudgetCheck]:
        """:meth:`check` against a given state of the ledger, with the charges it would spend."""
        pending = self._pending(charges, forced, ledger)
        spent_before = self._spent_per_charge(pending, ledger)
        allowed: list[Charge] = [c for c in charges if c not in pending]
        accepted: list[Charge] = []
        refused: list[Refusal] = []
        for charge, ledger_spent in zip(pending, spent_before, strict=True):
            spent = ledger_spent + sum(
                a.epsilon
                for a in accepted
                if a.tenant_id == charge.tenant_id
                and a.overlaps(charge.period_start, charge.period_end)
            )
            if spent + charge.epsilon > self.limit_per_period + _TOLERANCE:
                refused.append(Refusal(charge, spent, self.limit_per_period))
            else:
                accepted.append(charge)
        return pending, BudgetCheck(tuple(allowed + accepted), tuple(refused))

    def charge(
        self, charges: Sequence[Charge], *, job_run_id: str, forced: bool = False
    ) -> ChargeOutcome:
        """Record ``charges`` atomically (one Delta commit) or refuse them all.

        Args:
            charges: Releases to charge; release ids must be unique within the batch.
            job_run_id: The ``job_runs`` row making the charges.
            forced: Charge already published releases again (a deliberate fresh draw).

        Returns:
            What was charged and what was already published (and so not charged).

        Raises:
            BudgetExceededError: Some charge would exceed its tenant's limit; nothing written.
            BudgetConflictError: Concurrent runs invalidated the charge on every attempt;
                nothing written.
            PrivacyConfigurationError: ``job_run_id`` is empty or release ids repeat.
        """
        if not job_run_id.strip():
            raise PrivacyConfigurationError("job_run_id must be non-empty")
        for attempt in range(_COMMIT_ATTEMPTS):
            pending, result = self._check(charges, forced, self._ledger())
            if result.refused:
                raise BudgetExceededError(result.refused)
            published = tuple(c for c in charges if c not in pending)
            if not pending:
                return ChargeOutcome(charged=(), already_published=published)
            try:
                version, stamp = self._append(pending, job_run_id=job_run_id, forced=forced)
            except Exception as error:  # py4j wraps Delta's concurrency exceptions
                if not _is_concurrent_write(error) or attempt == _COMMIT_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * 2**attempt)
                continue
            # The check above read a snapshot; another run may have committed since. What
            # counts is the ledger just before our own commit (commit order = serial order).
            if version is not None and self._still_valid(pending, forced, version - 1):
                return ChargeOutcome(charged=tuple(pending), already_published=published)
            self._withdraw(pending, job_run_id=job_run_id, stamp=stamp)
            time.sleep(0.2 * 2**attempt)
        raise BudgetConflictError(
            f"could not charge {len(charges)} release(s) after {_COMMIT_ATTEMPTS} attempts: "
            "other runs kept charging the same tenants; retry the run"
        )

    def _append(
        self, pending: Sequence[Charge], *, job_run_id: str, forced: bool
    ) -> tuple[int | None, dt.datetime]:
        """Append ``pending`` in one commit; return its version (None if not found) and stamp."""
        now = dt.datetime.now(dt.UTC)
        rows = [
            (
                c.tenant_id,
                c.period_start,
                c.period_end,
                c.release_id,
                c.job_name,
                str(c.privacy_level),
                float(c.epsilon),
                forced,
                job_run_id,
                now,
            )
            for c in pending
        ]
        (
            DeltaTable.createIfNotExists(self._spark)
            .location(self._path)
            .addColumns(spark_schema(PRIVACY_BUDGET))
            .comment("ε charged per tenant, period and release")
            .execute()
        )
        marker = f"privacy-budget-charge {job_run_id} {uuid.uuid4()}"
        (
            self._spark.createDataFrame(rows, spark_schema(PRIVACY_BUDGET))
            .write.format("delta")
            .mode("append")
            .option("userMetadata", marker)
            .save(self._path)
        )
        commit = (
            DeltaTable.forPath(self._spark, self._path)
            .history(_HISTORY_DEPTH)
            .where(F.col("userMetadata") == marker)
            .select("version")
            .first()
        )
        return (int(commit["version"]) if commit else None), now

    def _still_valid(self, pending: Sequence[Charge], forced: bool, version: int) -> bool:
        """Whether ``pending`` was still publishable and within budget at ``version``."""
        still_pending, result = self._check(pending, forced, self._ledger(version))
        return len(still_pending) == len(pending) and not result.refused

    def _withdraw(self, pending: Sequence[Charge], *, job_run_id: str, stamp: dt.datetime) -> None:
        """Delete the rows of a charge that lost a race (they were never acted on)."""
        ours = (
            (F.col("job_run_id") == job_run_id)
            & (F.col("charged_at") == F.lit(stamp))
            & F.col("release_id").isin([c.release_id for c in pending])
        )
        for attempt in range(_COMMIT_ATTEMPTS):
            try:
                DeltaTable.forPath(self._spark, self._path).delete(ours)
                return
            except Exception as error:
                if not _is_concurrent_write(error) or attempt == _COMMIT_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * 2**attempt)

    def _pending(
        self, charges: Sequence[Charge], forced: bool, ledger: DataFrame | None
    ) -> list[Charge]:
        """Charges that will spend ε: all if forced, else those not yet published."""
        ids = [c.release_id for c in charges]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise PrivacyConfigurationError(f"release ids repeat within one batch: {repeated}")
        if forced or not charges or ledger is None:
            return list(charges)
        known = {
            row[0]
            for row in ledger.where(F.col("release_id").isin(ids))
            .select("release_id")
            .distinct()
            .toLocalIterator()
        }
        return [c for c in charges if c.release_id not in known]

    def _spent_per_charge(self, charges: Sequence[Charge], ledger: DataFrame | None) -> list[float]:
        """Ledger ε overlapping each charge's tenant and period, in one Spark query."""
        if ledger is None or not charges:
            return [0.0] * len(charges)
        wanted = self._spark.createDataFrame(
            [(i, c.tenant_id, c.period_start, c.period_end) for i, c in enumerate(charges)],
            "i int, tenant_id string, start date, end date",
        )
        overlap = (F.col("l.period_start") <= F.col("w.end")) & (
            F.col("w.start") <= F.col("l.period_end")
        )
        sums = (
            wanted.alias("w")
            .join(ledger.alias("l"), (F.col("w.tenant_id") == F.col("l.tenant_id")) & overlap)
            .groupBy("w.i")
            .agg(F.sum("l.epsilon").alias("spent"))
        )  # shape: at most one row per charge
        spent = {row["i"]: float(row["spent"]) for row in sums.toLocalIterator()}
        return [spent.get(i, 0.0) for i in range(len(charges))]
