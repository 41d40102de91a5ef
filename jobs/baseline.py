"""Baselines for benchmarks: the pipeline with some protections off, recorded as such.

A privacy officer asking "what do the protections cost?" needs the same pipeline
measured without them: ``bench/bench_pipeline.py`` times it without keyed pseudonyms
and without cohort suppression; ``bench/bench_utility.py`` measures noise against
exact cells (no suppression). Production entry points (:func:`jobs.runner.run_release`,
the CLI, the scheduler, the run queue) cannot turn protections off; this module can,
and only for the ``anonymized`` level (a DP release is never published unprotected),
and every baseline run is named ``baseline/...`` in ``ops/job_runs``.

Write baselines to a scratch data root, never to one that readers are served from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import SparkSession

from conf.settings import AnalyticsSettings
from contracts.levels import PrivacyLevel
from jobs.arguments import JobArguments
from jobs.errors import JobError
from jobs.release import CuratedJob
from jobs.run_report import RunSummary
from jobs.runner import Protections, execute_run
from privacy_udfs.randomness import RandomSource

NO_PROTECTIONS = Protections(keyed_pseudonyms=False, cohort_suppression=False)
"""Raw ids and k = 0: the plain pipeline whose cost the protections add to."""

NO_SUPPRESSION = Protections(cohort_suppression=False)
"""Every cell, exactly (keyed pseudonyms kept): the reference noise is measured against."""


class BaselineError(JobError, ValueError):
    """A baseline run was asked for something it must not do."""


def run_baseline(
    spark: SparkSession,
    settings: AnalyticsSettings,
    arguments: JobArguments,
    jobs: Sequence[CuratedJob],
    *,
    name: str,
    protections: Protections,
    random_source: RandomSource | None = None,
    now: dt.datetime | None = None,
) -> RunSummary:
    """One run of ``jobs`` at the ``anonymized`` level with ``protections``.

    Args:
        spark: The session to run on.
        settings: Settings of a scratch data root (benchmarks: a temporary directory).
        arguments: Period, tenant, run id; the privacy level must be ``anonymized``.
        jobs: The curated jobs to run.
        name: What the baseline measures; recorded as ``baseline/<name>`` in job_runs.
        protections: Which protections stay on (:data:`NO_PROTECTIONS`,
            :data:`NO_SUPPRESSION`, or your own).
        random_source: Passed to the runner (unused without noise).
        now: The run's clock.

    Raises:
        BaselineError: The level is not ``anonymized``, or every protection is on
            (use :func:`jobs.runner.run_release`).
    """
    if PrivacyLevel(arguments.privacy_level) is not PrivacyLevel.ANONYMIZED:
        raise BaselineError(
            f"a baseline runs at the anonymized level only, got {arguments.privacy_level!r}: "
            "DP releases are never computed with protections off"
        )
    if protections == Protections():
        raise BaselineError("every protection is on: that is run_release, not a baseline")
    return execute_run(
        spark,
        settings,
        arguments,
        jobs,
        run_name=f"baseline/{name}",
        random_source=random_source,
        now=now,
        key=None,
        protections=protections,
    )
