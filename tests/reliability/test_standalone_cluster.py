"""A DP job through spark-submit.sh on a real Spark standalone cluster, against local mode.

The master and one worker are started from the installed pyspark's own ``spark-class``,
bound to 127.0.0.1, and stopped by the process groups this test started.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pyspark
import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contracts.curated import ALL_SUBJECTS
from jobs.arguments import JobArguments
from jobs.generate import GeneratorConfig, generate_raw_tables, write_raw_tables
from jobs.registry import job_named
from jobs.runner import run_release
from jobs.transforms.session_daily import UNMEASURED
from tests.reliability.rawdata import TEST_KEY, settings_for

SESSION_DAILY_JOB = job_named("session_daily")

REPO = Path(__file__).resolve().parents[2]
SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"
CONFIG = GeneratorConfig(events=1_500, seed=3, tenants=2, learners=24, days=7, malformed_rate=0.05)
END = CONFIG.start + dt.timedelta(days=CONFIG.days - 1)
STARTUP_TIMEOUT = 180.0
JOB = "session_daily"
# Decided before any noise is drawn, so equal between two releases of the same data.
RELEASE_METADATA = ["privacy_level", "epsilon", "delta", "k_threshold", "noise_mechanism"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while text not in (log.read_text(errors="replace") if log.exists() else ""):
        if process.poll() is not None:
            pytest.fail(f"{log.name} exited: {log.read_text(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"{log.name}: no '{text}' after {STARTUP_TIMEOUT}s")
        time.sleep(0.5)


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.fixture
def standalone_cluster(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A master and one 1-core worker on 127.0.0.1; yields (master URL, worker dir)."""
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    work = tmp_path / "worker"
    work.mkdir()
    started: list[subprocess.Popen[bytes]] = []
    try:
        for name, args, ready in (
            (
                "master",
                [
                    "org.apache.spark.deploy.master.Master",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--webui-port",
                    str(_free_port()),
                ],
                "Starting Spark master",
            ),
            (
                "worker",
                [
                    "org.apache.spark.deploy.worker.Worker",
                    url,
                    "--host",
                    "127.0.0.1",
                    "--webui-port",
                    str(_free_port()),
                    "--cores",
                    "1",
                    "--memory",
                    "1g",
                    "--work-dir",
                    str(work),
                ],
                "Successfully registered with master",
            ),
        ):
            log = tmp_path / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [str(SPARK_CLASS), *args],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append(process)
            _wait_for(log, ready, process)
        yield url, work
    finally:
        for process in reversed(started):
            _stop(process)


@pytest.mark.slow
def test_dp_job_on_standalone_cluster_releases_what_local_mode_releases(
    spark: SparkSession, tmp_path: Path, standalone_cluster: tuple[str, Path]
) -> None:
    """A DP job's noise UDFs run in the worker's Python: the shipped zip and PYSPARK_PYTHON work.

    Noise differs between the runs, so the comparison is of what is released (every
    public key, the same metadata), not of the noisy values.
    """
    url, worker_dir = standalone_cluster
    cluster = settings_for(tmp_path / "cluster")
    local = settings_for(tmp_path / "local")
    write_raw_tables(generate_raw_tables(spark, CONFIG), cluster.path("raw"))
    shutil.copytree(cluster.path("raw"), local.path("raw"))

    submitted = subprocess.run(
        [
            "./spark-submit.sh",
            "--master",
            url,
            "--conf",
            "spark.driver.host=127.0.0.1",
            "--conf",
            "spark.driver.bindAddress=127.0.0.1",
            "--executor-memory",
            "1g",
            JOB,
            "--start",
            CONFIG.start.isoformat(),
            "--end",
            END.isoformat(),
            "--privacy-level",
            "dp_medium",
            "--data-root",
            cluster.data_root,
        ],
        cwd=REPO,
        env={**os.environ, "PSEUDONYM_KEY": TEST_KEY, "SPARK_LOCAL_IP": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert submitted.returncode == 0, submitted.stderr[-4000:]
    assert "run " in submitted.stdout and "succeeded" in submitted.stdout
    # The executors ran on the worker (an application directory with executor logs).
    assert any(worker_dir.glob("app-*/*/stderr")), list(worker_dir.rglob("*"))[:20]

    arguments = JobArguments(
        CONFIG.start, END, None, "dp_medium", "0" * 8 + "-0000-4000-8000-" + "0" * 12
    )
    run_release(spark, local, arguments, [SESSION_DAILY_JOB], run_name=JOB)
    on_cluster = spark.read.format("delta").load(cluster.path("curated", JOB))
    in_local = spark.read.format("delta").load(local.path("curated", JOB))
    released = ["tenant_id", "activity_date", "subject", *RELEASE_METADATA]
    assert on_cluster.count() == CONFIG.tenants * CONFIG.days * 9  # 8 subjects + 'all'
    # The release plan's mechanism (conf/bounds.toml: session_daily is zCDP, and at DP
    # levels it measures the day totals only: subject rows are "not measured").
    totals = on_cluster.where(F.col("subject") == ALL_SUBJECTS)
    assert totals.where(F.col("noise_mechanism").contains("discrete_gaussian")).count() == (
        CONFIG.tenants * CONFIG.days
    )
    subjects = on_cluster.where(F.col("subject") != ALL_SUBJECTS)
    assert subjects.where(F.col("noise_mechanism") == UNMEASURED).count() == subjects.count()
    assert_df_equality(
        on_cluster.select(*released),
        in_local.select(*released),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    charged = spark.read.format("delta").load(cluster.path("ops", "privacy_budget"))
    assert charged.select("tenant_id").distinct().count() == CONFIG.tenants
