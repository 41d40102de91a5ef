"""Fixed calendar accounting windows for the privacy budget (Spark-free).

ε is accounted per tenant and per fixed calendar window (a month or a quarter),
never per run period: a release is charged to every window its input touches, in
full. Cutting a month into 31 one-day runs therefore charges the same window 31
times and is refused once the window's budget is spent, however the runs are cut.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

from privacy_udfs.errors import PrivacyConfigurationError

WindowKind = Literal["month", "quarter"]
WINDOW_KINDS: tuple[str, ...] = get_args(WindowKind)
_MONTHS: dict[str, int] = {"month": 1, "quarter": 3}


@dataclass(frozen=True, order=True)
class AccountingWindow:
    """One fixed calendar window: ``[start, end]``, both inclusive."""

    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        """``2025-Q1`` for a quarter, ``2025-01`` for a month."""
        months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
        if months == 3:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"

    def contains(self, day: dt.date) -> bool:
        """Whether ``day`` falls in the window."""
        return self.start <= day <= self.end


def validate_window_kind(kind: str) -> WindowKind:
    """``kind`` as a :data:`WindowKind`, or a guiding error."""
    if kind not in _MONTHS:
        raise PrivacyConfigurationError(
            f"DP_BUDGET_WINDOW must be one of {list(WINDOW_KINDS)}, got {kind!r}"
        )
    return kind  # type: ignore[return-value]


def window_of(day: dt.date, kind: str) -> AccountingWindow:
    """The window of ``kind`` that contains ``day``."""
    months = _MONTHS[validate_window_kind(kind)]
    first_month = (day.month - 1) // months * months + 1
    start = dt.date(day.year, first_month, 1)
    next_month = first_month + months
    after = dt.date(day.year + (next_month > 12), (next_month - 1) % 12 + 1, 1)
    return AccountingWindow(start, after - dt.timedelta(days=1))


def windows_touched(start: dt.date, end: dt.date, kind: str) -> tuple[AccountingWindow, ...]:
    """Every window of ``kind`` that shares a day with ``[start, end]``, in order."""
    if start > end:
        raise PrivacyConfigurationError(f"period start {start} is after its end {end}")
    windows = [window_of(start, kind)]
    while windows[-1].end < end:
        windows.append(window_of(windows[-1].end + dt.timedelta(days=1), kind))
    return tuple(windows)


def windows_per_year(kind: str) -> int:
    """How many windows of ``kind`` a calendar year has (12 or 4)."""
    return 12 // _MONTHS[validate_window_kind(kind)]
