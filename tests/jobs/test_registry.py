"""The job registry is the one list of jobs; ``python -m jobs.<table>`` is built from it."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from contracts.curated import CURATED_TABLES
from jobs.entrypoint import RUNNABLE_JOBS
from jobs.registry import JOBS, JOBS_BY_NAME, UnknownJobError, job_named
from jobs.run_all import ALL_JOBS


def test_every_curated_table_has_exactly_one_job_in_contract_order() -> None:
    assert [job.name for job in JOBS] == list(CURATED_TABLES)
    assert all(job.table is CURATED_TABLES[job.name] for job in JOBS)
    assert ALL_JOBS is JOBS
    assert set(CURATED_TABLES) < set(RUNNABLE_JOBS)


@pytest.mark.parametrize("name", list(CURATED_TABLES))
def test_each_job_module_is_the_registry_entry(name: str) -> None:
    module = importlib.import_module(f"jobs.{name}")
    assert module.JOB is JOBS_BY_NAME[name]
    assert callable(module.main) and CURATED_TABLES[name].description in (module.__doc__ or "")


def test_only_curated_tables_become_job_modules() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("jobs.no_such_table")
    with pytest.raises(
        UnknownJobError, match="jobs are session_daily, session_summary, mastery_progress"
    ):
        job_named("no_such_table")


def test_python_dash_m_runs_a_registered_job() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jobs.weekly_active", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "python -m jobs.weekly_active" in result.stdout and "--privacy-level" in result.stdout
