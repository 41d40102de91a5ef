"""The shared end-to-end pipeline: a small generated dataset run through run_all.

Built once per test session (the ``curated_pipeline`` fixture in ``tests/conftest.py``)
and used by the end-to-end, notebook and reader tests, so the suite pays for the
full pipeline once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from conf.settings import AnalyticsSettings, load_settings
from contracts.curated import CURATED_TABLES
from jobs.arguments import JobArguments
from jobs.generate import GeneratorConfig, generate_raw_tables, write_raw_tables
from jobs.run_all import ALL_JOBS
from jobs.run_report import RunSummary
from jobs.runner import run_release
from privacy_udfs import seeded_random_source_for_tests

TEST_KEY = "end-to-end-test-key-" + "0123456789abcdef" * 3
# One whole calendar month: anonymized period tables are released per closed month only.
CONFIG = GeneratorConfig(
    events=6_000,
    seed=11,
    tenants=4,
    learners=160,
    start=dt.date(2025, 1, 1),
    days=31,
    malformed_rate=0.03,
)
START = CONFIG.start
END = CONFIG.start + dt.timedelta(days=CONFIG.days - 1)
NOW = dt.datetime(2026, 1, 1)
BUDGET = 1.5  # dp_medium (ε=1) fits, dp_low (ε=2) does not


@dataclass
class CuratedPipeline:
    """A data root with raw tables and releases at anonymized and dp_medium."""

    settings: AnalyticsSettings
    root: Path
    anonymized: RunSummary
    dp_first: RunSummary
    dp_tables_after_first: dict[str, DataFrame]


def run(
    spark: SparkSession, settings: AnalyticsSettings, level: str, seed: int | None = None
) -> RunSummary:
    """One run_all over the generated period (seeded noise when ``seed`` is given)."""
    arguments = JobArguments(START, END, None, level, str(uuid.uuid4()))
    source = seeded_random_source_for_tests(seed) if seed is not None else None
    return run_release(
        spark, settings, arguments, ALL_JOBS, run_name="run_all", random_source=source, now=NOW
    )


def curated(spark: SparkSession, settings: AnalyticsSettings, name: str, level: str) -> DataFrame:
    """A curated table's rows at one privacy level."""
    return (
        spark.read.format("delta")
        .load(settings.path("curated", name))
        .where(F.col("privacy_level") == level)
    )


def build_pipeline(spark: SparkSession, root: Path) -> CuratedPipeline:
    """Generate raw data under ``root`` and release it at anonymized and dp_medium."""
    settings = load_settings(data_root=str(root), pseudonym_key=TEST_KEY, dp_epsilon_budget=BUDGET)
    write_raw_tables(generate_raw_tables(spark, CONFIG), settings.path("raw"))
    anonymized = run(spark, settings, "anonymized")
    dp_first = run(spark, settings, "dp_medium", seed=5)
    snapshot = {
        name: curated(spark, settings, name, "dp_medium").localCheckpoint()
        for name in CURATED_TABLES
    }
    return CuratedPipeline(settings, root, anonymized, dp_first, snapshot)


def comparable(frame: DataFrame) -> DataFrame:
    """``frame`` with map columns as sorted JSON strings, so chispa can sort and compare rows."""
    maps = [f.name for f in frame.schema.fields if f.dataType.typeName() == "map"]
    return frame.withColumns(
        {name: F.to_json(F.array_sort(F.map_entries(F.col(name)))) for name in maps}
    )
