"""mastery_progress: assessment mastery per tenant, subject and period.

python -m jobs.mastery_progress --start 2025-01-01 --end 2025-01-31 [--tenant UUID] [--privacy-level dp_medium]
"""

from __future__ import annotations

from jobs.cli import job_entry_point
from jobs.contracts.curated import MASTERY_PROGRESS
from jobs.release import CuratedJob
from jobs.transforms.mastery_progress import mastery_progress

JOB = CuratedJob(MASTERY_PROGRESS, mastery_progress)

main = job_entry_point(JOB, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
