"""course_metrics: course effectiveness per tenant, course and period.

Seed 003 analytics_course_metrics.

    python -m jobs.course_metrics --start 2025-01-01 --end 2025-01-31
        [--tenant UUID] [--privacy-level dp_medium]

How each metric is computed and protected: see jobs/transforms/course_metrics.py.
"""

from __future__ import annotations

from jobs.cli import job_entry_point
from jobs.contracts.curated import COURSE_METRICS
from jobs.release import CuratedJob
from jobs.transforms.course_metrics import course_metrics

JOB = CuratedJob(COURSE_METRICS, course_metrics)

main = job_entry_point(JOB, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
