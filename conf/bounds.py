"""Per-job contribution bounds and ε shares, read from ``conf/bounds.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


class BoundsConfigError(ValueError):
    """The bounds file is missing a job or holds an invalid value (named in the message)."""


@dataclass(frozen=True)
class JobBounds:
    """Contribution bounds and the share of a release's ε one job spends."""

    max_partitions: int
    max_rows_per_partition: int
    lower: float
    upper: float
    epsilon_share: float

    def __post_init__(self) -> None:
        if self.max_partitions < 1:
            raise BoundsConfigError(f"max_partitions must be >= 1, got {self.max_partitions}")
        if self.max_rows_per_partition < 1:
            raise BoundsConfigError(
                f"max_rows_per_partition must be >= 1, got {self.max_rows_per_partition}"
            )
        if not self.lower <= self.upper:
            raise BoundsConfigError(f"lower ({self.lower}) must be <= upper ({self.upper})")
        if not 0.0 < self.epsilon_share <= 1.0:
            raise BoundsConfigError(f"epsilon_share must be in (0, 1], got {self.epsilon_share}")


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
