"""run_all: every curated job for one period and privacy level, in one run.

Raw events are read, validated and pseudonymized once and shared by every job.
One run_all release at a DP level charges each tenant the level's ε in total
(conf/bounds.toml splits it across the tables).

    python -m jobs.run_all --start 2025-01-06 --end 2025-03-02 --privacy-level dp_medium
"""

from __future__ import annotations

from collections.abc import Sequence

from jobs.cli import run_cli
from jobs.course_metrics import JOB as COURSE_METRICS_JOB
from jobs.iep_progress import JOB as IEP_PROGRESS_JOB
from jobs.learner_snapshots import JOB as LEARNER_SNAPSHOTS_JOB
from jobs.mastery_progress import JOB as MASTERY_PROGRESS_JOB
from jobs.platform_daily import JOB as PLATFORM_DAILY_JOB
from jobs.public_metrics import JOB as PUBLIC_METRICS_JOB
from jobs.release import CuratedJob
from jobs.session_daily import JOB as SESSION_DAILY_JOB
from jobs.weekly_active import JOB as WEEKLY_ACTIVE_JOB

ALL_JOBS: tuple[CuratedJob, ...] = (
    SESSION_DAILY_JOB,
    MASTERY_PROGRESS_JOB,
    WEEKLY_ACTIVE_JOB,
    IEP_PROGRESS_JOB,
    COURSE_METRICS_JOB,
    PLATFORM_DAILY_JOB,
    PUBLIC_METRICS_JOB,
    LEARNER_SNAPSHOTS_JOB,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    return run_cli(ALL_JOBS, prog="python -m jobs.run_all", description=__doc__ or "", argv=argv)


if __name__ == "__main__":
    raise SystemExit(main())
