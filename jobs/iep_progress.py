"""iep_progress: progress toward IEP goals per tenant, IEP category and period.

python -m jobs.iep_progress --start 2025-01-01 --end 2025-01-31 [--tenant UUID] [--privacy-level dp_medium]
"""

from __future__ import annotations

from jobs.cli import job_entry_point
from jobs.contracts.curated import IEP_PROGRESS
from jobs.release import CuratedJob
from jobs.transforms.iep_progress import iep_progress

JOB = CuratedJob(IEP_PROGRESS, iep_progress)

main = job_entry_point(JOB, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
