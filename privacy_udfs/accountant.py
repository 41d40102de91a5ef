"""The pure budget accountant: what a batch of charges would spend, per tenant and window.

Spark-free and storage-free, so the rules are testable without a JVM (as PipelineDP's
budget accounting is); :mod:`privacy_udfs.budget` stores the ledger in Delta and asks
this module what fits.

Rules (DESIGN.md §2 "Budget and accounting windows"):

* ε is accounted per tenant and fixed calendar window (:mod:`privacy_udfs.windows`).
  A release is charged, in full, to every window its input touches — its period and
  any history it reads. Cutting a period into many small runs charges the same
  window many times, so it can never spend more than the window's budget.
* Releases compose within a window. A window's privacy loss is the tighter of two
  valid bounds: pure composition (the ε add up) when every release in it is pure
  ε-DP, and zCDP composition (the ρ add up; a pure ε release is ε²/2-zCDP) converted
  to (ε, δ) at ``DP_DELTA`` with the tight conversion of Canonne, Kamath and Steinke
  (2020). Many zCDP releases in a window therefore cost far less than the sum of
  their ε.
* A batch is checked in order: each charge counts the ledger plus the earlier
  accepted charges of the batch.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from contracts.levels import PrivacyLevel
from privacy_udfs.errors import PrivacyConfigurationError
from privacy_udfs.windows import AccountingWindow, validate_window_kind, windows_touched

# Floating-point sums of shares such as 1/3 must not refuse a release that fits exactly.
TOLERANCE = 1e-9

WindowKey = tuple[str, dt.date]
"""(tenant_id, window_start): the unit the budget is kept in."""


@dataclass(frozen=True)
class WindowSpend:
    """What a window holds, summed over its charges.

    Attributes:
        epsilon: Σ of each release's own ε (basic composition, always valid).
        rho: Σ of each release's ρ (zCDP releases; pure ε releases count ε²/2).
        has_zcdp: Some release is accounted in zCDP (pure composition no longer applies).
        approximate: Some release is (ε, δ)-DP without a ρ (partition selection): only
            basic composition is valid for the window.
    """

    epsilon: float = 0.0
    rho: float = 0.0
    has_zcdp: bool = False
    approximate: bool = False

    def plus(self, charge: Charge) -> WindowSpend:
        """This spend with ``charge`` added."""
        rho = charge.zcdp_rho
        return WindowSpend(
            self.epsilon + charge.epsilon,
            self.rho + (rho or 0.0),
            self.has_zcdp or charge.rho is not None,
            self.approximate or rho is None,
        )

    def epsilon_at(self, delta: float) -> float:
        """The window's privacy loss: the tightest composition bound that applies."""
        if self.approximate or self.rho <= 0.0:
            return max(self.epsilon, 0.0)
        from privacy_udfs.zcdp import epsilon_of_rho

        converted = epsilon_of_rho(self.rho, delta)
        return converted if self.has_zcdp else min(self.epsilon, converted)


@dataclass(frozen=True)
class Charge:
    """ε one release spends for one tenant.

    Attributes:
        tenant_id: Tenant charged.
        period_start: First day of the data released.
        period_end: Last day of the data released (``>= period_start``).
        release_id: Stable id of the release (job, level, tenant, period): reruns reuse it.
        job_name: Job making the release.
        privacy_level: Level of the release (a :class:`PrivacyLevel` or its value).
        epsilon: ε spent (``>= 0``; 0 for ``anonymized`` records publication only).
        delta: δ of the release (0 for pure ε-DP).
        rho: zCDP ρ of the release when it is accounted in zCDP (shown beside ε).
        input_start: First day of data the release *reads*, when it reads history
            before its period (defaults to ``period_start``); every window from here
            to ``period_end`` is charged.
    """

    tenant_id: str
    period_start: dt.date
    period_end: dt.date
    release_id: str
    job_name: str
    privacy_level: PrivacyLevel | str
    epsilon: float
    delta: float = 0.0
    rho: float | None = None
    input_start: dt.date | None = field(default=None)

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
        if self.input_start is not None and self.input_start > self.period_start:
            problems.append(
                f"input_start {self.input_start} is after period_start {self.period_start}"
            )
        if str(self.privacy_level) not in {level.value for level in PrivacyLevel}:
            problems.append(f"privacy_level {self.privacy_level!r} is not a PrivacyLevel")
        if not (math.isfinite(self.epsilon) and self.epsilon >= 0):
            problems.append(f"epsilon must be finite and >= 0 (got {self.epsilon})")
        if not (math.isfinite(self.delta) and 0 <= self.delta < 1):
            problems.append(f"delta must be in [0, 1) (got {self.delta})")
        if self.rho is not None and not (math.isfinite(self.rho) and self.rho >= 0):
            problems.append(f"rho must be finite and >= 0 (got {self.rho})")
        if problems:
            raise PrivacyConfigurationError(
                f"Invalid Charge {self.release_id!r}: " + "; ".join(problems)
            )

    @property
    def zcdp_rho(self) -> float | None:
        """The charge in ρ (None for an (ε, δ) release that has no ρ).

        Its own ρ under zCDP; ε²/2 for a pure ε-DP release, signed like ε on
        compensating rows.
        """
        if self.rho is not None:
            return self.rho
        if self.delta > 0:
            return None
        return math.copysign(self.epsilon**2 / 2.0, self.epsilon)

    @property
    def first_day_read(self) -> dt.date:
        """The first day of data the release reads (its history included)."""
        return self.input_start or self.period_start

    def windows(self, kind: str) -> tuple[AccountingWindow, ...]:
        """Every accounting window of ``kind`` this charge is counted in."""
        return windows_touched(self.first_day_read, self.period_end, kind)


@dataclass(frozen=True)
class Refusal:
    """A charge that does not fit, with the window and figures that explain why."""

    charge: Charge
    window: AccountingWindow
    spent: float
    limit: float
    after: float | None = None

    @property
    def tenant_id(self) -> str:
        """Tenant whose budget is exhausted."""
        return self.charge.tenant_id

    def __str__(self) -> str:
        c = self.charge
        reach = "" if self.after is None else f" (window would reach ε={self.after:.6g})"
        return (
            f"tenant {c.tenant_id} window {self.window.label}: spent {self.spent:.6g} "
            f"+ requested {c.epsilon:.6g}{reach} > limit {self.limit:.6g} "
            f"(release {c.release_id})"
        )


class BudgetCheck(NamedTuple):
    """Outcome of a check; unpacks as ``allowed, refused = ...``."""

    allowed: tuple[Charge, ...]
    refused: tuple[Refusal, ...]


@dataclass(frozen=True)
class WindowAccount:
    """One tenant's window: what was charged and what is left."""

    tenant_id: str
    window: AccountingWindow
    spent: float
    limit: float
    rho: float = 0.0

    @property
    def remaining(self) -> float:
        """ε still available in the window (never negative)."""
        return max(0.0, self.limit - self.spent)


class Accountant:
    """Checks charges against per-(tenant, window) budgets. Pure: holds no ledger."""

    def __init__(self, limit_per_window: float, window_kind: str, delta: float = 1e-6) -> None:
        """Budget ``limit_per_window`` ε per tenant and window of ``window_kind``.

        Args:
            limit_per_window: ε a tenant's window may reach (``DP_EPSILON_BUDGET``).
            window_kind: ``month`` or ``quarter`` (``DP_BUDGET_WINDOW``).
            delta: δ at which a window's zCDP composition is stated (``DP_DELTA``).

        Raises:
            PrivacyConfigurationError: The limit is not positive, the kind unknown or
                δ not in (0, 1).
        """
        if not (math.isfinite(delta) and 0.0 < delta < 1.0):
            raise PrivacyConfigurationError(f"DP_DELTA must be in (0, 1), got {delta}")
        self.delta = float(delta)
        if not (math.isfinite(limit_per_window) and limit_per_window > 0):
            raise PrivacyConfigurationError(
                f"the ε budget per window must be positive (DP_EPSILON_BUDGET), "
                f"got {limit_per_window}"
            )
        self.limit = float(limit_per_window)
        self.window_kind = validate_window_kind(window_kind)

    def __repr__(self) -> str:
        return (
            f"Accountant(limit={self.limit}, window_kind={self.window_kind!r}, delta={self.delta})"
        )

    def keys(self, charge: Charge) -> list[tuple[WindowKey, AccountingWindow]]:
        """The (tenant, window) budgets ``charge`` counts against."""
        return [((charge.tenant_id, w.start), w) for w in charge.windows(self.window_kind)]

    def check(
        self, charges: Sequence[Charge], spent: Mapping[WindowKey, WindowSpend]
    ) -> BudgetCheck:
        """Split ``charges`` into those that fit and those that would exceed a window.

        Args:
            charges: In order; each counts ``spent`` plus the earlier accepted charges.
            spent: What the ledger holds per (tenant, window start).
        """
        running: dict[WindowKey, WindowSpend] = defaultdict(WindowSpend, spent)
        accepted: list[Charge] = []
        refused: list[Refusal] = []
        for charge in charges:
            keys = self.keys(charge)
            over = []
            for key, window in keys:
                after = running[key].plus(charge).epsilon_at(self.delta)
                if after > self.limit + TOLERANCE:
                    before = running[key].epsilon_at(self.delta)
                    zcdp = running[key].has_zcdp or charge.rho is not None
                    over.append(
                        Refusal(charge, window, before, self.limit, after if zcdp else None)
                    )
            if over:
                refused.append(over[0])
                continue
            for key, _ in keys:
                running[key] = running[key].plus(charge)
            accepted.append(charge)
        return BudgetCheck(tuple(accepted), tuple(refused))

    def accounts(
        self,
        tenant_id: str,
        spent: Mapping[WindowKey, WindowSpend],
        windows: Iterable[AccountingWindow],
    ) -> list[WindowAccount]:
        """The budget of ``tenant_id`` in each of ``windows``."""
        accounts = []
        for window in windows:
            spend = spent.get((tenant_id, window.start), WindowSpend())
            accounts.append(
                WindowAccount(
                    tenant_id, window, spend.epsilon_at(self.delta), self.limit, spend.rho
                )
            )
        return accounts


def spend_by_window(rows: Iterable[Mapping[str, Any]]) -> dict[WindowKey, WindowSpend]:
    """Fold ledger rows (``contracts.curated.PRIVACY_BUDGET``) into what each window holds.

    One definition of how stored rows compose, for the jobs' ledger, the ops CLI and
    anything else reading ``ops/privacy_budget``. A row is zCDP-accounted when it
    carries a ρ and a positive δ; a row without ρ is (ε, δ)-DP and leaves only basic
    composition valid for its window.
    """
    spent: dict[WindowKey, WindowSpend] = {}
    for row in rows:
        key = (str(row["tenant_id"]), row["window_start"])
        before = spent.get(key, WindowSpend())
        rho = row["rho"]
        spent[key] = WindowSpend(
            before.epsilon + float(row["epsilon"] or 0.0),
            before.rho + float(rho or 0.0),
            before.has_zcdp or (rho is not None and float(row["delta"] or 0.0) > 0),
            before.approximate or rho is None,
        )
    return spent


def epsilon_per_year(limit_per_window: float, window_kind: str) -> float:
    """The most ε one learner can lose in a calendar year under these settings."""
    from privacy_udfs.windows import windows_per_year

    return limit_per_window * windows_per_year(window_kind)
