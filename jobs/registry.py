"""The job registry: every curated job once, in run order.

A job pairs a table contract (``contracts.curated``) with the transform that produces it,
plus two release facts: whether it is released at DP levels and whether it is
platform-wide. ``run_all``, the command line, ``spark-submit.sh``'s job list and the
``python -m jobs.<table>`` commands are all derived from :data:`JOBS`:

    python -m jobs.session_daily --start 2025-01-06 --end 2025-02-02 --privacy-level dp_medium

(there is no file per job: ``jobs/__init__.py`` answers ``jobs.<table>`` for every table
of ``contracts.curated.CURATED_TABLES`` with a module built from this registry).
"""

from __future__ import annotations

from contracts.curated import (
    COURSE_METRICS,
    CURATED_TABLES,
    IEP_PROGRESS,
    LEARNER_SNAPSHOTS,
    MASTERY_PROGRESS,
    PLATFORM_DAILY,
    PUBLIC_METRICS,
    SESSION_DAILY,
    SESSION_SUMMARY,
    WEEKLY_ACTIVE,
)
from jobs.errors import JobError
from jobs.release import CuratedJob
from jobs.transforms.course_metrics import course_metrics
from jobs.transforms.iep_progress import iep_progress
from jobs.transforms.learner_snapshots import learner_snapshots
from jobs.transforms.mastery_progress import mastery_progress
from jobs.transforms.platform_daily import platform_daily
from jobs.transforms.public_metrics import public_metrics
from jobs.transforms.session_daily import session_daily
from jobs.transforms.session_summary import session_summary
from jobs.transforms.weekly_active import weekly_active

JOBS: tuple[CuratedJob, ...] = (
    CuratedJob(SESSION_DAILY, session_daily),
    CuratedJob(SESSION_SUMMARY, session_summary),
    CuratedJob(MASTERY_PROGRESS, mastery_progress),
    CuratedJob(WEEKLY_ACTIVE, weekly_active),
    CuratedJob(IEP_PROGRESS, iep_progress),
    CuratedJob(COURSE_METRICS, course_metrics),
    CuratedJob(PLATFORM_DAILY, platform_daily, platform_wide=True),
    CuratedJob(PUBLIC_METRICS, public_metrics, platform_wide=True),
    # Learner-level rows: pseudonymous personal data, never released at DP levels.
    CuratedJob(LEARNER_SNAPSHOTS, learner_snapshots, dp_release=False),
)
JOBS_BY_NAME: dict[str, CuratedJob] = {job.name: job for job in JOBS}

if tuple(JOBS_BY_NAME) != tuple(CURATED_TABLES):
    raise ImportError(
        "jobs.registry must list every curated table of contracts.curated once, in the "
        f"same order: registry {list(JOBS_BY_NAME)}, contracts {list(CURATED_TABLES)}"
    )


class UnknownJobError(JobError, KeyError):
    """No job has this name; the message lists the ones that exist."""


def job_named(name: str) -> CuratedJob:
    """The registered job called ``name`` (a curated table name)."""
    try:
        return JOBS_BY_NAME[name]
    except KeyError:
        raise UnknownJobError(
            f"no job named {name!r}; jobs are {', '.join(JOBS_BY_NAME)}"
        ) from None
