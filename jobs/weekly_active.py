"""weekly_active: active, new, returning and churned learners per tenant and ISO week.

python -m jobs.weekly_active --start 2025-01-06 --end 2025-02-02 [--tenant UUID] [--privacy-level dp_medium]
"""

from __future__ import annotations

from jobs.cli import job_entry_point
from jobs.contracts.curated import WEEKLY_ACTIVE
from jobs.release import CuratedJob
from jobs.transforms.weekly_active import weekly_active

JOB = CuratedJob(WEEKLY_ACTIVE, weekly_active)

main = job_entry_point(JOB, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
