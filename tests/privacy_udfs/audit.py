"""An approximate-DP statistical test (in the spirit of Google's DP stochastic tester).

Given N outputs of a mechanism on neighbouring datasets D and D', and a family of
events fixed in advance, it estimates for each event S

    δ̂_S = P̂[M(D) ∈ S] − e^ε · P̂[M(D') ∈ S]      (and with D, D' swapped)

with its standard error. (ε, δ)-DP implies δ_S ≤ δ for every S, so a δ̂_S more
than ``Z_CRITICAL`` standard errors above δ rejects the claim (δ = 0 unless given). The events are
superlevel and sublevel sets ``{score ≥ c}`` / ``{score ≤ c}`` of a score
computed from the *published* output; with the score equal to the (model)
privacy loss they are the events where a violation would show first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z_CRITICAL = 4.0


@dataclass(frozen=True)
class AuditResult:
    """Outcome for one claimed (ε, δ): the largest δ̂ and the largest z-score over events.

    z is ``(δ̂_S − δ)/SE`` for each event; ``rejects`` when some z exceeds ``Z_CRITICAL``.
    """

    epsilon: float
    delta_hat: float
    max_z: float

    @property
    def rejects(self) -> bool:
        """Whether some event shows a significant violation of the claimed (ε, δ)."""
        return self.max_z > Z_CRITICAL


def audit(
    scores_d: np.ndarray,
    scores_d_prime: np.ndarray,
    epsilon: float,
    thresholds: np.ndarray,
    delta: float = 0.0,
) -> AuditResult:
    """Test the claim that the mechanism behind the scores is (ε, δ)-DP on this pair."""
    delta_hat, max_z = -math.inf, -math.inf
    cuts = np.asarray(thresholds, dtype=float)
    for first, second in ((scores_d, scores_d_prime), (scores_d_prime, scores_d)):
        for upper in (True, False):
            in_first = _share(first, cuts, upper)
            in_second = _share(second, cuts, upper)
            estimate = in_first - math.exp(epsilon) * in_second
            variance = in_first * (1 - in_first) / len(first) + math.exp(
                2 * epsilon
            ) * in_second * (1 - in_second) / len(second)
            error = np.maximum(np.sqrt(variance), 1.0 / len(first))
            delta_hat = max(delta_hat, float(estimate.max()))
            max_z = max(max_z, float(((estimate - delta) / error).max()))
    return AuditResult(epsilon, max(delta_hat, 0.0), max_z)


def _share(scores: np.ndarray, cuts: np.ndarray, upper: bool) -> np.ndarray:
    """Share of ``scores`` ≥ each cut (``upper``) or ≤ each cut, by binary search."""
    ordered = np.sort(np.asarray(scores, dtype=float))
    if upper:
        counts = len(ordered) - np.searchsorted(ordered, cuts, side="left")
    else:
        counts = np.searchsorted(ordered, cuts, side="right")
    share: np.ndarray = counts / len(ordered)
    return share
