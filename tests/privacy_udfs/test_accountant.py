"""The pure accountant and calendar windows: no JVM, the budget rules themselves."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy_udfs.accountant import Accountant, Charge, WindowSpend, epsilon_per_year
from privacy_udfs.errors import PrivacyConfigurationError
from privacy_udfs.windows import window_of, windows_per_year, windows_touched

Q1_START = dt.date(2026, 1, 1)


def _daily(day: dt.date, epsilon: float, tenant: str = "t") -> Charge:
    return Charge(tenant, day, day, f"r-{tenant}-{day}", "session_daily", "dp_low", epsilon)


def test_windows_are_fixed_calendar_months_and_quarters() -> None:
    assert window_of(dt.date(2026, 2, 14), "quarter").label == "2026-Q1"
    assert window_of(dt.date(2026, 12, 31), "quarter").end == dt.date(2026, 12, 31)
    assert window_of(dt.date(2024, 2, 10), "month").end == dt.date(2024, 2, 29)
    spans = windows_touched(dt.date(2025, 12, 20), dt.date(2026, 4, 2), "quarter")
    assert [w.label for w in spans] == ["2025-Q4", "2026-Q1", "2026-Q2"]
    assert windows_per_year("month") == 12 and windows_per_year("quarter") == 4
    with pytest.raises(PrivacyConfigurationError, match="DP_BUDGET_WINDOW"):
        window_of(Q1_START, "week")


def test_cutting_a_month_into_daily_releases_cannot_exceed_the_window() -> None:
    # The attack of the old per-period ledger: 31 one-day dp_low releases of one tenant.
    accountant = Accountant(limit_per_window=6.0, window_kind="quarter")
    days = [Q1_START + dt.timedelta(days=i) for i in range(31)]
    allowed, refused = accountant.check([_daily(d, 2.0) for d in days], spent={})
    assert len(allowed) == 3 and len(refused) == 28
    assert sum(c.epsilon for c in allowed) == 6.0
    assert {r.window.label for r in refused} == {"2026-Q1"}
    # Another tenant's budget is its own.
    other, _ = accountant.check(
        [_daily(days[0], 2.0, tenant="u")], spent={("t", Q1_START): WindowSpend(6.0, 18.0)}
    )
    assert len(other) == 1


def test_what_the_ledger_already_holds_counts() -> None:
    accountant = Accountant(limit_per_window=1.0, window_kind="month")
    allowed, refused = accountant.check(
        [_daily(Q1_START, 0.5), _daily(dt.date(2026, 2, 1), 0.5)],
        spent={("t", Q1_START): WindowSpend(0.75, 0.75**2 / 2)},
    )
    assert [c.period_start.month for c in allowed] == [2]
    assert refused[0].spent == 0.75 and "window 2026-01" in str(refused[0])


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=364),
            st.integers(min_value=0, max_value=40),
            st.sampled_from([0.25, 0.5, 1.0, 2.0]),
        ),
        max_size=60,
    ),
    st.sampled_from(["month", "quarter"]),
)
def test_no_window_is_ever_charged_past_its_limit(
    releases: list[tuple[int, int, float]], kind: str
) -> None:
    """Property: whatever the periods, accepted charges never sum past a window's limit."""
    accountant = Accountant(limit_per_window=3.0, window_kind=kind)
    charges = [
        Charge(
            "t",
            Q1_START + dt.timedelta(days=offset),
            Q1_START + dt.timedelta(days=offset + length),
            f"r{i}",
            "job",
            "dp_low",
            epsilon,
        )
        for i, (offset, length, epsilon) in enumerate(releases)
    ]
    allowed, refused = accountant.check(charges, spent={})
    assert len(allowed) + len(refused) == len(charges)
    per_window: dict[dt.date, float] = {}
    for charge in allowed:
        for window in charge.windows(kind):
            per_window[window.start] = per_window.get(window.start, 0.0) + charge.epsilon
    assert all(total <= 3.0 + 1e-9 for total in per_window.values())
    # Per learner and year: at most the window budget times the windows of a year.
    year = [total for start, total in per_window.items() if start.year == 2026]
    assert sum(year) <= epsilon_per_year(3.0, kind) + 1e-9


def test_zcdp_releases_compose_in_rho_and_far_below_the_sum_of_their_epsilons() -> None:
    from privacy_udfs.zcdp import epsilon_of_rho, rho_for_epsilon

    accountant = Accountant(limit_per_window=3.0, window_kind="quarter", delta=1e-6)
    rho = rho_for_epsilon(1.0, 1e-6)  # one monthly dp_medium release of zCDP tables
    months = [dt.date(2026, m, 1) for m in (1, 2, 3)]
    charges = [
        Charge("t", d, d, f"r{d}", "weekly_active", "dp_medium", 1.0, 1e-6, rho) for d in months
    ]
    allowed, refused = accountant.check(charges, spent={})
    assert len(allowed) == 3 and not refused  # Σε = 3 by basic composition, far less in ρ
    spend = WindowSpend()
    for charge in allowed:
        spend = spend.plus(charge)
    assert spend.epsilon_at(1e-6) == pytest.approx(epsilon_of_rho(3 * rho, 1e-6))
    assert spend.epsilon_at(1e-6) < 2.2
    # Pure releases keep the tighter pure composition: two ε=1 releases cost ε=2, not more.
    pure = WindowSpend().plus(_daily(Q1_START, 1.0)).plus(_daily(months[1], 1.0))
    assert pure.epsilon_at(1e-6) == pytest.approx(2.0)
    # A release without a ρ (partition selection, (ε, δ)) falls back to basic composition.
    approx = Charge("t", Q1_START, Q1_START, "sel", "iep_progress", "dp_low", 0.5, delta=1e-6)
    assert spend.plus(approx).epsilon_at(1e-6) == pytest.approx(3.5)


def test_accountant_arguments_are_validated() -> None:
    with pytest.raises(PrivacyConfigurationError, match="DP_EPSILON_BUDGET"):
        Accountant(0.0, "quarter")
    with pytest.raises(PrivacyConfigurationError, match="DP_BUDGET_WINDOW"):
        Accountant(1.0, "decade")
    with pytest.raises(PrivacyConfigurationError, match="delta"):
        Charge("t", Q1_START, Q1_START, "r", "job", "dp_low", 1.0, delta=1.5)
