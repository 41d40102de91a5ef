"""platform_daily: platform-wide daily rollup, every tenant together.

Seed 003 analytics_daily_rollup.

    python -m jobs.platform_daily --start 2025-01-06 --end 2025-02-02
        [--tenant UUID] [--privacy-level dp_medium]

How each metric is computed and protected: see jobs/transforms/platform_daily.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from jobs.cli import run_cli
from jobs.contracts.curated import PLATFORM_DAILY
from jobs.release import CuratedJob
from jobs.transforms.platform_daily import platform_daily

JOB = CuratedJob(PLATFORM_DAILY, platform_daily, platform_wide=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    return run_cli(
        [JOB], prog="python -m jobs.platform_daily", description=__doc__ or "", argv=argv
    )


if __name__ == "__main__":
    raise SystemExit(main())
