"""Shared set-up of the privacy_udfs benchmarks: local[2] session, timing, machine load."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import SparkSession

REPO = str(Path(__file__).resolve().parents[1])
if REPO not in sys.path:
    # Import this checkout's packages, whatever the virtualenv's editable install points at.
    sys.path.insert(0, REPO)


def bench_session(app_name: str) -> SparkSession:
    """local[2] with Python workers on this interpreter and the repository importable."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)
    from jobs.session import build_spark_session

    spark = build_spark_session(
        app_name,
        master="local[2]",
        shuffle_partitions=2,
        ui_enabled=False,
        extra_conf={"spark.driver.memory": "4g", "spark.ui.showConsoleProgress": "false"},
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    """Median wall-clock seconds of ``repeats`` runs of ``action``."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def machine_load() -> str:
    """The 1-minute load average, to judge how quiet the machine was."""
    return f"{os.getloadavg()[0]:.1f}"
