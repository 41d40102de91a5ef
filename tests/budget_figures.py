"""What one job's DP release costs, computed from the release plan as the runner does.

Tests compare ledger rows and row metadata with these instead of hard-coding ε values
that change whenever ``conf/bounds.toml`` does.
"""

from __future__ import annotations

from conf.bounds import load_job_bounds
from privacy_udfs import PrivacyLevel
from privacy_udfs.zcdp import epsilon_of_rho, rho_for_epsilon


def job_rho(job: str, level: str = "dp_medium") -> float:
    """ρ of one job's release at ``level``: its share of the run's ρ (zCDP jobs).

    A quarterly job's release carries three monthly shares.
    """
    bounds = load_job_bounds()[job]
    epsilon = PrivacyLevel(level).epsilon
    assert epsilon is not None and bounds.accounting == "zcdp"
    share = bounds.epsilon_share * bounds.dp_budget_multiple
    return rho_for_epsilon(epsilon, bounds.delta) * share


def job_epsilon(job: str, level: str = "dp_medium") -> float:
    """ε of one job's release on its own (what its rows and ledger rows say)."""
    bounds = load_job_bounds()[job]
    if bounds.accounting == "zcdp":
        return epsilon_of_rho(job_rho(job, level), bounds.delta)
    epsilon = PrivacyLevel(level).epsilon
    assert epsilon is not None
    return epsilon * bounds.epsilon_share * bounds.dp_budget_multiple
