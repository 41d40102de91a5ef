"""session_daily: learning sessions per tenant, day and subject.

python -m jobs.session_daily --start 2025-01-06 --end 2025-02-02 [--tenant UUID] [--privacy-level dp_medium]
"""

from __future__ import annotations

from jobs.cli import job_entry_point
from jobs.contracts.curated import SESSION_DAILY
from jobs.release import CuratedJob
from jobs.transforms.session_daily import session_daily

JOB = CuratedJob(SESSION_DAILY, session_daily)

main = job_entry_point(JOB, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
