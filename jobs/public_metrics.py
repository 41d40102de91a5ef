"""public_metrics: platform-wide totals for the public page, no drill-down.

Seed 003 analytics_public_metrics.

    python -m jobs.public_metrics --start 2025-01-06 --end 2025-02-02
        [--tenant UUID] [--privacy-level dp_medium]

How each metric is computed and protected: see jobs/transforms/public_metrics.py.
"""

from __future__ import annotations

from jobs.cli import job_entry_point
from jobs.contracts.curated import PUBLIC_METRICS
from jobs.release import CuratedJob
from jobs.transforms.public_metrics import public_metrics

JOB = CuratedJob(PUBLIC_METRICS, public_metrics, platform_wide=True)

main = job_entry_point(JOB, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
