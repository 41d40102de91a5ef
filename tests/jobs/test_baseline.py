"""Benchmarks' baselines: protections off only through jobs.baseline, and recorded as such."""

from __future__ import annotations

import dataclasses
import inspect
import uuid
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from jobs.arguments import JobArguments
from jobs.baseline import NO_PROTECTIONS, NO_SUPPRESSION, BaselineError, run_baseline
from jobs.runner import Protections, run_release
from tests.reliability.rawdata import (
    END,
    NOW,
    SESSION_DAILY_JOB,
    START,
    RawData,
    job_run,
    session_totals,
    settings_for,
    tenant_id,
    write_raw,
)


def _arguments(level: str = "anonymized") -> JobArguments:
    return JobArguments(START, END, None, level, str(uuid.uuid4()), False)


@pytest.mark.parametrize(
    ("level", "protections", "named"),
    [
        ("dp_medium", NO_SUPPRESSION, "anonymized level only"),
        ("anonymized", Protections(), "every protection is on"),
    ],
)
def test_a_baseline_refuses_dp_levels_and_full_protection(
    tmp_path: Path, level: str, protections: Protections, named: str
) -> None:
    settings = settings_for(tmp_path)
    with pytest.raises(BaselineError, match=named):
        run_baseline(
            None,  # type: ignore[arg-type]  # refused before any Spark work
            settings,
            _arguments(level),
            [SESSION_DAILY_JOB],
            name="refused",
            protections=protections,
        )


def test_the_production_entry_point_cannot_turn_protections_off() -> None:
    parameters = set(inspect.signature(run_release).parameters)
    assert not parameters & {"protections", "pseudonymizer", "k_threshold"}
    assert {f.name for f in dataclasses.fields(Protections)} == {
        "keyed_pseudonyms",
        "cohort_suppression",
    }
    assert Protections(keyed_pseudonyms=False, cohort_suppression=False) == NO_PROTECTIONS


def test_a_baseline_without_suppression_publishes_the_small_cohort_run_release_hides(
    spark: SparkSession, tmp_path: Path
) -> None:
    data = RawData.for_tenants([1])
    assert data.events is not None
    data.events = data.events[:3]  # three learners: under k = 5
    settings = settings_for(tmp_path)
    write_raw(spark, settings, data)

    released = run_release(
        spark, settings, _arguments(), [SESSION_DAILY_JOB], run_name="session_daily", now=NOW
    )
    assert session_totals(spark, settings, "anonymized") == {tenant_id(1): None}

    arguments = _arguments()
    baseline = run_baseline(
        spark,
        settings,
        arguments,
        [SESSION_DAILY_JOB],
        name="test",
        protections=NO_SUPPRESSION,
        now=NOW,
    )
    assert released.status == baseline.status == "succeeded"
    assert session_totals(spark, settings, "anonymized") == {tenant_id(1): 3}
    assert job_run(spark, settings, arguments.run_id).job_name == "baseline/test"
