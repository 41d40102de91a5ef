"""platform_daily: platform-wide daily rollup, every tenant together.

Seed 003 analytics_daily_rollup.

    python -m jobs.platform_daily --start 2025-01-06 --end 2025-02-02
        [--tenant UUID] [--privacy-level dp_medium]

How each metric is computed and protected: see jobs/transforms/platform_daily.py.
"""

from __future__ import annotations

from jobs.cli import job_entry_point
from jobs.contracts.curated import PLATFORM_DAILY
from jobs.release import CuratedJob
from jobs.transforms.platform_daily import platform_daily

JOB = CuratedJob(PLATFORM_DAILY, platform_daily, platform_wide=True)

main = job_entry_point(JOB, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
