"""course_metrics: course effectiveness per tenant, course and period.

Seed 003 analytics_course_metrics.

    python -m jobs.course_metrics --start 2025-01-06 --end 2025-02-02
        [--tenant UUID] [--privacy-level dp_medium]

How each metric is computed and protected: see jobs/transforms/course_metrics.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from jobs.cli import run_cli
from jobs.contracts.curated import COURSE_METRICS
from jobs.release import CuratedJob
from jobs.transforms.course_metrics import course_metrics

JOB = CuratedJob(COURSE_METRICS, course_metrics)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    return run_cli(
        [JOB], prog="python -m jobs.course_metrics", description=__doc__ or "", argv=argv
    )


if __name__ == "__main__":
    raise SystemExit(main())
