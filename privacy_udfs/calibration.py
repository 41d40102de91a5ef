"""How much noise each component of a release gets, and the error bar it implies (Spark-free).

A release spends a total budget across its components (measures, the suppression
count). Two accountings are offered:

* ``pure``: pure ε-DP, discrete Laplace noise calibrated to L1 sensitivities;
  components compose by adding their ε.
* ``zcdp``: ρ-zero-concentrated DP, discrete Gaussian noise calibrated to L2
  sensitivities; components compose by adding their ρ, and the release's ρ is the
  one whose tight (ε, δ) conversion equals the release's (ε, δ). With many
  components per learner (a learner in L partitions, several measures) the
  Gaussian's error grows like √m instead of m, so it wins for wide releases.

The same calibration serves the engine (which noise to draw), the published
metadata (``noise_scales``, ``ci95``) and the planner (expected error before any
budget is spent), so the three cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from privacy_udfs.errors import PrivacyConfigurationError

Accounting = Literal["pure", "zcdp"]
ACCOUNTINGS: tuple[str, ...] = get_args(Accounting)
# ln(1/0.05): the two-sided 95 % half-width of a Laplace variable is b·ln 20.
_LAPLACE_95 = math.log(20.0)
_GAUSSIAN_95 = 1.959963984540054


@dataclass(frozen=True)
class ComponentNoise:
    """The noise of one component: its mechanism, privacy parameter and sensitivity.

    Attributes:
        accounting: ``pure`` (discrete Laplace) or ``zcdp`` (discrete Gaussian).
        budget: ε of the component under ``pure``, ρ under ``zcdp``.
        l1: L1 sensitivity (used under ``pure``).
        l2: L2 sensitivity (used under ``zcdp``).
    """

    accounting: Accounting
    budget: float
    l1: float
    l2: float

    def __post_init__(self) -> None:
        if self.accounting not in ACCOUNTINGS:
            raise PrivacyConfigurationError(
                f"accounting must be one of {list(ACCOUNTINGS)}, got {self.accounting!r}"
            )
        for name in ("budget", "l1", "l2"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise PrivacyConfigurationError(f"{name} must be positive, got {value}")

    @property
    def mechanism(self) -> str:
        """Name of the noise distribution."""
        return "discrete_laplace" if self.accounting == "pure" else "discrete_gaussian"

    @property
    def scale(self) -> float:
        """Laplace scale ``b = Δ1/ε`` or Gaussian ``σ = Δ2/√(2ρ)``, in value units."""
        if self.accounting == "pure":
            return self.l1 / self.budget
        return self.l2 / math.sqrt(2.0 * self.budget)

    @property
    def standard_deviation(self) -> float:
        """Standard deviation of the noise (√2·b for Laplace, σ for Gaussian)."""
        return self.scale * (math.sqrt(2.0) if self.accounting == "pure" else 1.0)

    @property
    def ci95(self) -> float:
        """Half-width of the noise's two-sided 95 % interval, in value units."""
        return self.scale * (_LAPLACE_95 if self.accounting == "pure" else _GAUSSIAN_95)

    def describe(self) -> str:
        """``discrete_laplace ε=0.1`` or ``discrete_gaussian ρ=0.002``."""
        symbol = "ε" if self.accounting == "pure" else "ρ"
        return f"{self.mechanism} {symbol}={self.budget:.6g}"


def ci95_half_width(accounting: Accounting, scale: float) -> float:
    """The 95 % half-width of noise with ``scale`` (Laplace b or Gaussian σ)."""
    return scale * (_LAPLACE_95 if accounting == "pure" else _GAUSSIAN_95)


def release_budget(accounting: Accounting, epsilon: float, delta: float) -> float:
    """The budget a release of (ε, δ) splits across its components: ε, or ρ.

    Under ``zcdp`` the release is ρ-zCDP with the largest ρ whose tight conversion
    gives (ε, δ)-DP (Canonne, Kamath & Steinke 2020), so its published ε and δ hold.

    Raises:
        PrivacyConfigurationError: ``epsilon`` is not positive, or ``delta`` is not in
            (0, 1) under ``zcdp``.
    """
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise PrivacyConfigurationError(f"epsilon must be positive, got {epsilon}")
    if accounting == "pure":
        return epsilon
    if accounting != "zcdp":
        raise PrivacyConfigurationError(
            f"accounting must be one of {list(ACCOUNTINGS)}, got {accounting!r}"
        )
    if not (0.0 < delta < 1.0):
        raise PrivacyConfigurationError(f"zCDP releases need delta in (0, 1), got {delta}")
    from privacy_udfs.zcdp import rho_for_epsilon

    return rho_for_epsilon(epsilon, delta)


def epsilon_of_component(accounting: Accounting, budget: float) -> float:
    """The pure ε a component may spend on a pure-DP mechanism (exponential mechanism).

    Under zCDP an ε-DP mechanism is (ε²/2)-zCDP, so a component of ρ gets ε = √(2ρ).
    """
    return budget if accounting == "pure" else math.sqrt(2.0 * budget)
