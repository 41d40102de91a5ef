"""Per-job contribution bounds and ε shares, read from ``conf/bounds.toml``."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

ACCOUNTINGS = ("pure", "zcdp")
# How often a job's DP release is taken, and how many monthly releases' shares of ρ (ε)
# one release of it spends: "run" is every run; "quarter" is once per calendar quarter,
# by the run that ends on the quarter's last day, spending the shares of the three
# monthly releases it replaces (a quarter's total spend is unchanged).
DP_CADENCES: dict[str, int] = {"run": 1, "quarter": 3}


class BoundsConfigError(ValueError):
    """The bounds file is missing a job or holds an invalid value (named in the message)."""


@dataclass(frozen=True)
class JobBounds:
    """One job's contribution bounds and its part of the release plan.

    Attributes:
        max_partitions: L, groups one learner may touch.
        max_rows_per_partition: C, rows one learner may contribute to a group.
        lower: Clamp lower bound of the job's main value.
        upper: Clamp upper bound of the job's main value.
        epsilon_share: Fraction of a release's ε this job spends (shares sum to 1).
        accounting: ``zcdp`` (discrete Gaussian, composed in ρ) or ``pure`` (discrete
            Laplace, composed in ε) for this job's DP releases.
        delta: δ of a ``zcdp`` job's (ε, δ) guarantee.
        dp_withheld: Measures a DP release does not compute (published as null at DP
            levels: not worth their share of ε, e.g. percentiles of daily cells).
        dp_cadence: ``run`` (every DP run releases the job) or ``quarter`` (released once
            per calendar quarter, see :data:`DP_CADENCES`).
    """

    max_partitions: int
    max_rows_per_partition: int
    lower: float
    upper: float
    epsilon_share: float
    accounting: str = "pure"
    delta: float = 1e-6
    dp_withheld: tuple[str, ...] = ()
    dp_cadence: str = "run"

    @property
    def dp_budget_multiple(self) -> int:
        """How many monthly shares of the run's budget one DP release of this job spends."""
        return DP_CADENCES[self.dp_cadence]

    def releases_at_dp(self, measure: str) -> bool:
        """Whether a DP release of this job computes ``measure``."""
        return measure not in self.dp_withheld

    def __post_init__(self) -> None:
        object.__setattr__(self, "dp_withheld", tuple(self.dp_withheld))
        if self.accounting not in ACCOUNTINGS:
            raise BoundsConfigError(
                f"accounting must be one of {list(ACCOUNTINGS)}, got {self.accounting!r}"
            )
        if self.dp_cadence not in DP_CADENCES:
            raise BoundsConfigError(
                f"dp_cadence must be one of {list(DP_CADENCES)}, got {self.dp_cadence!r}"
            )
        if not (math.isfinite(self.delta) and 0.0 < self.delta < 1e-3):
            raise BoundsConfigError(f"delta must be in (0, 0.001), got {self.delta}")
        if self.max_partitions < 1:
            raise BoundsConfigError(f"max_partitions must be >= 1, got {self.max_partitions}")
        if self.max_rows_per_partition < 1:
            raise BoundsConfigError(
                f"max_rows_per_partition must be >= 1, got {self.max_rows_per_partition}"
            )
        if not self.lower <= self.upper:
            raise BoundsConfigError(f"lower ({self.lower}) must be <= upper ({self.upper})")
        if not 0.0 <= self.epsilon_share <= 1.0:
            raise BoundsConfigError(f"epsilon_share must be in [0, 1], got {self.epsilon_share}")


def load_job_bounds(path: Path | None = None) -> dict[str, JobBounds]:
    """Read every job's bounds; the ε shares must sum to 1.

    Args:
        path: A bounds file; defaults to the packaged ``conf/bounds.toml`` (read through
            importlib.resources so it also works from the zip spark-submit ships).

    Raises:
        BoundsConfigError: Naming the job and key at fault.
    """
    if path is None:
        raw = tomllib.loads(resources.files("conf").joinpath("bounds.toml").read_text("utf-8"))
    else:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    bounds: dict[str, JobBounds] = {}
    for job, values in raw.items():
        try:
            bounds[job] = JobBounds(**values)
        except TypeError as error:
            raise BoundsConfigError(f"[{job}] in {path or 'conf/bounds.toml'}: {error}") from None
        except BoundsConfigError as error:
            raise BoundsConfigError(f"[{job}] in {path or 'conf/bounds.toml'}: {error}") from None
    total = sum(b.epsilon_share for b in bounds.values())
    if abs(total - 1.0) > 1e-9:
        raise BoundsConfigError(
            f"epsilon_share values in {path or 'conf/bounds.toml'} sum to {total}, not 1"
        )
    return bounds
