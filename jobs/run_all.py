"""run_all: every curated job for one period and privacy level, in one run.

Raw events are read, validated and pseudonymized once and shared by every job.
One run_all release at a DP level charges each tenant the level's ε in total
(conf/bounds.toml splits it across the tables).

    python -m jobs.run_all --start 2025-01-06 --end 2025-03-02 --privacy-level dp_medium
"""

from __future__ import annotations

from collections.abc import Sequence

from jobs.cli import run_cli
from jobs.registry import JOBS
from jobs.release import CuratedJob

# Every curated job, in run order: the registry is the one list.
ALL_JOBS: tuple[CuratedJob, ...] = JOBS


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    return run_cli(ALL_JOBS, prog="python -m jobs.run_all", description=__doc__ or "", argv=argv)


if __name__ == "__main__":
    raise SystemExit(main())
