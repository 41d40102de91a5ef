"""The privacy budget ledger: ε charged per tenant, accounting window and release, in Delta.

The rules live in the pure :mod:`privacy_udfs.accountant` (fixed calendar windows,
sequential composition within a window); this module stores charges and applies them
atomically. One ledger row per (release, window it touches).

* A batch of charges is all-or-nothing: if any would exceed its window's limit,
  :meth:`PrivacyBudget.charge` raises :class:`BudgetExceededError` and writes
  nothing. Jobs that serve several tenants call :meth:`PrivacyBudget.check`
  first and charge only the ``allowed`` ones, so one tenant's exhausted budget
  does not block the others.
* A release id already in the ledger is *published*: charging it again is a
  no-op that reports it as already published (the job must reuse the stored
  values; fresh noise on a rerun is an averaging attack), unless ``forced``,
  which draws fresh noise and charges again.
* The ledger is append-only. Corrections are compensating rows
  (:meth:`PrivacyBudget.compensate`), never a restore of an older version.

Concurrent runs may charge the same ledger. Each charge is checked against a
snapshot, appended, and then re-checked against the ledger exactly as it stood
just before its own commit: the serial order is the commit order, so a charge
that a concurrent commit made invalid (same release already charged, or the
tenant's budget now exceeded) is withdrawn and retried, and ε is never charged
twice for one release nor past a window's limit.

Reads go through delta-rs (:class:`LedgerSnapshot`: the ledger's few thousand
rows at one version, tens of milliseconds, no Spark job); Spark writes the
commits, so the ledger keeps one writer implementation.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import deltalake
from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contracts.columns import row_of
from contracts.curated import PRIVACY_BUDGET
from contracts.spark_types import spark_schema
from privacy_udfs.accountant import (
    Accountant,
    BudgetCheck,
    Charge,
    Refusal,
    WindowAccount,
    WindowKey,
    WindowSpend,
    spend_by_window,
)
from privacy_udfs.delta_commits import conflict_retrying, with_conflict_retries
from privacy_udfs.delta_reads import open_table, read_whole
from privacy_udfs.errors import PrivacyConfigurationError, PrivacyError
from privacy_udfs.windows import window_of, windows_touched

__all__ = [
    "BudgetCheck",
    "BudgetConflictError",
    "BudgetExceededError",
    "Charge",
    "ChargeOutcome",
    "LedgerSnapshot",
    "PrivacyBudget",
    "Refusal",
]


class BudgetExceededError(PrivacyError, RuntimeError):
    """Charges would exceed a tenant's window budget; nothing was written. See ``refusals``."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.refusals = tuple(refusals)
        super().__init__(
            "Privacy budget exceeded, nothing charged: " + "; ".join(str(r) for r in refusals)
        )


class _LostRaceError(PrivacyError):
    """Our charge committed, but a concurrent one made it invalid: withdrawn, try again."""


class BudgetConflictError(PrivacyError, RuntimeError):
    """Concurrent runs kept invalidating a charge; nothing of it stands. Retry the run."""


_COMMIT_ATTEMPTS = 6
# Commits to look back through for our own; more than this many concurrent charges in
# the moment between our append and the lookup counts as a lost race (withdraw, retry).
_HISTORY_DEPTH = 50


@dataclass(frozen=True)
class ChargeOutcome:
    """Outcome of :meth:`PrivacyBudget.charge`."""

    charged: tuple[Charge, ...]
    already_published: tuple[Charge, ...]


_CHARGED_AT = [c.name for c in PRIVACY_BUDGET].index("charged_at")
_SNAPSHOT_COLUMNS = (
    "tenant_id",
    "window_start",
    "release_id",
    "epsilon",
    "rho",
    "delta",
    "job_run_id",
    "charged_at",
)


@dataclass(frozen=True)
class LedgerSnapshot:
    """The ledger's rows at one Delta version (``version`` None: no ledger yet)."""

    version: int | None
    rows: tuple[dict[str, Any], ...]

    @classmethod
    def read(cls, path: str, version: int | None = None) -> LedgerSnapshot:
        """The ledger at ``path`` as it is now, or as it stood at ``version``."""
        table = open_table(path, version)
        if table is None:
            return cls(None, ())
        data = read_whole(table, _SNAPSHOT_COLUMNS)
        return cls(table.version(), tuple(data.to_pylist()))

    def known(self, release_ids: Iterable[str]) -> frozenset[str]:
        """The subset of ``release_ids`` with a row in the ledger."""
        wanted = set(release_ids)
        return frozenset(r["release_id"] for r in self.rows if r["release_id"] in wanted)

    def spent(self, tenants: Iterable[str]) -> dict[WindowKey, WindowSpend]:
        """What each (tenant, window) of ``tenants`` holds."""
        wanted = set(tenants)
        return spend_by_window(r for r in self.rows if r["tenant_id"] in wanted)

    def charging_runs(self, release_ids: Iterable[str]) -> dict[str, str]:
        """The ``job_run_id`` of the latest charge of each of ``release_ids`` in the ledger."""
        wanted = set(release_ids)
        latest: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            rid = row["release_id"]
            if rid in wanted and (
                rid not in latest or row["charged_at"] > latest[rid]["charged_at"]
            ):
                latest[rid] = row
        return {rid: str(row["job_run_id"]) for rid, row in latest.items()}


class PrivacyBudget:
    """ε ledger at a Delta path (schema ``contracts.curated.PRIVACY_BUDGET``)."""

    def __init__(
        self,
        spark: SparkSession,
        path: str,
        limit_per_window: float,
        window_kind: str = "quarter",
        delta: float = 1e-6,
    ) -> None:
        """Open the ledger at ``path`` (created on the first charge).

        Args:
            spark: The session to read and write the ledger with.
            path: Delta location of the ledger.
            limit_per_window: ε a tenant may be charged per window (``DP_EPSILON_BUDGET``).
            window_kind: ``month`` or ``quarter`` (``DP_BUDGET_WINDOW``).
            delta: δ at which a window's zCDP composition is stated (``DP_DELTA``).

        Raises:
            PrivacyConfigurationError: ``path`` is empty, the limit is not positive or
                the window kind is unknown.
        """
        if not isinstance(spark, SparkSession):
            raise PrivacyConfigurationError("PrivacyBudget needs a SparkSession as first argument")
        if not str(path).strip():
            raise PrivacyConfigurationError("PrivacyBudget path must be non-empty")
        self.accountant = Accountant(limit_per_window, window_kind, delta)
        self._spark = spark
        self._path = str(path)

    @property
    def limit_per_window(self) -> float:
        """ε a tenant may be charged per accounting window."""
        return self.accountant.limit

    @property
    def window_kind(self) -> str:
        """``month`` or ``quarter``."""
        return self.accountant.window_kind

    @property
    def path(self) -> str:
        """Delta location of the ledger."""
        return self._path

    def __repr__(self) -> str:
        return (
            f"PrivacyBudget(path={self._path!r}, limit_per_window={self.limit_per_window}, "
            f"window_kind={self.window_kind!r})"
        )

    def snapshot(self, version: int | None = None) -> LedgerSnapshot:
        """The ledger as it is now, or as it stood at ``version`` (read with delta-rs)."""
        return LedgerSnapshot.read(self._path, version)

    def spent_in_window(self, tenant_id: str, day: dt.date) -> float:
        """ε charged to ``tenant_id`` in the accounting window containing ``day``."""
        window = window_of(day, self.window_kind)
        spend = self.snapshot().spent([tenant_id]).get((tenant_id, window.start))
        return 0.0 if spend is None else spend.epsilon_at(self.accountant.delta)

    def remaining_in_window(self, tenant_id: str, day: dt.date) -> float:
        """ε still available to ``tenant_id`` in the window containing ``day`` (never < 0)."""
        return max(0.0, self.limit_per_window - self.spent_in_window(tenant_id, day))

    def accounts(self, tenant_id: str, start: dt.date, end: dt.date) -> list[WindowAccount]:
        """The budget of ``tenant_id`` in every window touching ``[start, end]``."""
        spent = self.snapshot().spent([tenant_id])
        return self.accountant.accounts(
            tenant_id, spent, windows_touched(start, end, self.window_kind)
        )

    def published(self, release_id: str) -> bool:
        """Whether ``release_id`` is in the ledger (its values must be reused, not redrawn)."""
        return release_id in self.published_releases([release_id])

    def published_releases(self, release_ids: Sequence[str]) -> frozenset[str]:
        """The subset of ``release_ids`` already in the ledger, in one query."""
        return self.snapshot().known(release_ids)

    def check(self, charges: Sequence[Charge], *, forced: bool = False) -> BudgetCheck:
        """Split ``charges`` into those that fit and those that would exceed a window.

        Charges are taken in order; each counts the ledger plus the earlier allowed
        charges of the same tenant and window. Already published releases are allowed
        at no cost unless ``forced``.
        """
        return self._check(charges, forced, self.snapshot())[1]

    def _check(
        self, charges: Sequence[Charge], forced: bool, ledger: LedgerSnapshot
    ) -> tuple[list[Charge], BudgetCheck]:
        """:meth:`check` against a given state of the ledger, with the charges it would spend."""
        pending = self._pending(charges, forced, ledger)
        spent = ledger.spent({c.tenant_id for c in pending})
        verdict = self.accountant.check(pending, spent)
        free = tuple(c for c in charges if c not in pending)
        return pending, BudgetCheck(free + verdict.allowed, verdict.refused)

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
            BudgetExceededError: Some charge would exceed its tenant's window; nothing written.
            BudgetConflictError: Concurrent runs invalidated the charge on every attempt;
                nothing written.
            PrivacyConfigurationError: ``job_run_id`` is empty or release ids repeat.
        """
        if not job_run_id.strip():
            raise PrivacyConfigurationError("job_run_id must be non-empty")

        def attempt() -> ChargeOutcome:
            ledger = self.snapshot()
            pending, result = self._check(charges, forced, ledger)
            if result.refused:
                raise BudgetExceededError(result.refused)
            published = tuple(c for c in charges if c not in pending)
            if not pending:
                return ChargeOutcome(charged=(), already_published=published)
            rows = self._rows(pending, job_run_id, forced)
            version, stamp = self._append(rows, exists=ledger.version is not None)
            # The check above read a snapshot; another run may have committed since. What
            # counts is the ledger just before our own commit (commit order = serial order).
            if version is not None and self._still_valid(pending, forced, version - 1):
                return ChargeOutcome(charged=tuple(pending), already_published=published)
            self._withdraw(pending, job_run_id=job_run_id, stamp=stamp)
            raise _LostRaceError

        retrying = conflict_retrying(
            attempts=_COMMIT_ATTEMPTS,
            base_delay=0.2,
            also=lambda error: isinstance(error, _LostRaceError),
        )
        try:
            return retrying(attempt)
        except _LostRaceError:
            raise BudgetConflictError(
                f"could not charge {len(charges)} release(s) after {_COMMIT_ATTEMPTS} attempts: "
                "other runs kept charging the same tenants; retry the run"
            ) from None

    def compensate(self, charge: Charge, *, job_run_id: str, reason: str) -> None:
        """Append a compensating row (negative ε) that cancels ``charge`` in its windows.

        The ledger is append-only: a correction never deletes or restores history. Use it
        only for a charge whose release provably never reached any reader (say why in
        ``reason``; it is recorded as the row's job name suffix and in the commit).
        """
        if not reason.strip():
            raise PrivacyConfigurationError("a compensating row needs a reason")
        if not self.published(charge.release_id):
            raise PrivacyConfigurationError(
                f"release {charge.release_id!r} is not in the ledger: nothing to compensate"
            )
        rows = self._rows([charge], job_run_id, forced=False, sign=-1.0)
        self._append(rows, note=f"compensation: {reason.strip()}", exists=True)

    def _rows(
        self, charges: Sequence[Charge], job_run_id: str, forced: bool, sign: float = 1.0
    ) -> list[tuple[object, ...]]:
        """Ledger rows: one per (charge, accounting window it touches)."""
        now = dt.datetime.now(dt.UTC)
        return [
            row_of(
                PRIVACY_BUDGET,
                {
                    "tenant_id": c.tenant_id,
                    "period_start": c.period_start,
                    "period_end": c.period_end,
                    "window_start": window.start,
                    "window_end": window.end,
                    "release_id": c.release_id,
                    "job_name": c.job_name,
                    "privacy_level": str(c.privacy_level),
                    "epsilon": sign * float(c.epsilon),
                    "delta": float(c.delta),
                    "rho": None if c.zcdp_rho is None else sign * abs(c.zcdp_rho),
                    "forced": forced,
                    "job_run_id": job_run_id,
                    "charged_at": now,
                },
            )
            for c in charges
            for window in c.windows(self.window_kind)
        ]

    def _append(
        self, rows: Sequence[tuple[object, ...]], note: str = "", *, exists: bool = False
    ) -> tuple[int | None, dt.datetime]:
        """Append ``rows`` in one commit; return its version (None if not found) and stamp."""
        if not exists:
            with_conflict_retries(
                DeltaTable.createIfNotExists(self._spark)
                .location(self._path)
                .addColumns(spark_schema(PRIVACY_BUDGET))
                .comment("ε charged per tenant, accounting window and release (append-only)")
                .execute,
                attempts=_COMMIT_ATTEMPTS,
                base_delay=0.2,
            )
        stamp = rows[0][_CHARGED_AT] if rows else dt.datetime.now(dt.UTC)
        marker = f"privacy-budget-charge {uuid.uuid4()} {note}".strip()
        (
            self._spark.createDataFrame(list(rows), spark_schema(PRIVACY_BUDGET))
            .write.format("delta")
            .mode("append")
            .option("userMetadata", marker)
            .save(self._path)
        )
        history = deltalake.DeltaTable(self._path).history(_HISTORY_DEPTH)
        version = next((c["version"] for c in history if c.get("userMetadata") == marker), None)
        assert isinstance(stamp, dt.datetime)
        return (None if version is None else int(version)), stamp

    def _still_valid(self, pending: Sequence[Charge], forced: bool, version: int) -> bool:
        """Whether ``pending`` was still publishable and within budget at ``version``."""
        still_pending, result = self._check(pending, forced, self.snapshot(version))
        return len(still_pending) == len(pending) and not result.refused

    def _withdraw(self, pending: Sequence[Charge], *, job_run_id: str, stamp: dt.datetime) -> None:
        """Delete the rows of a charge that lost a race (they were never acted on)."""
        ours = (
            (F.col("job_run_id") == job_run_id)
            & (F.col("charged_at") == F.lit(stamp))
            & F.col("release_id").isin([c.release_id for c in pending])
        )
        with_conflict_retries(
            lambda: DeltaTable.forPath(self._spark, self._path).delete(ours),
            attempts=_COMMIT_ATTEMPTS,
            base_delay=0.2,
        )

    def _pending(
        self, charges: Sequence[Charge], forced: bool, ledger: LedgerSnapshot
    ) -> list[Charge]:
        """Charges that will spend ε: all if forced, else those not yet published."""
        ids = [c.release_id for c in charges]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise PrivacyConfigurationError(f"release ids repeat within one batch: {repeated}")
        if forced or not charges:
            return list(charges)
        known = ledger.known(ids)
        return [c for c in charges if c.release_id not in known]
