"""The one place a SparkSession with Delta Lake is built.

Jobs' ``main()``, the test suite and the notebooks all call
:func:`build_spark_session`; library code only ever receives a session.
Spark logs at WARN through ``conf/log4j2.properties`` (``SPARK_LOG4J_CONFIG``
names another file). Delta jars come from the local cache (see :mod:`jobs.delta_jars`), never
from the network at start-up. Under ``spark-submit.sh`` the jars are passed
with ``--jars`` and the environment variable ``ANALYTICS_JARS_FROM_SUBMIT``
tells the builder not to set them again.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from pyspark.sql import SparkSession

from jobs.delta_jars import delta_jar_paths

JARS_FROM_SUBMIT_ENV = "ANALYTICS_JARS_FROM_SUBMIT"
LOG4J_CONFIG_ENV = "SPARK_LOG4J_CONFIG"
# Spark at WARN: the jobs' step lines and summary are what an operator reads.
# The shipped configuration, found through the installed ``conf`` package (wheel or checkout).
DEFAULT_LOG4J_CONFIG = Path(str(resources.files("conf").joinpath("log4j2.properties")))

DELTA_SQL_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def delta_session_builder(
    app_name: str,
    *,
    master: str | None = None,
    shuffle_partitions: int = 8,
    arrow_batch_size: int = 10_000,
    ui_enabled: bool = True,
    jars_dir: Path | None = None,
    extra_conf: Mapping[str, str] | None = None,
) -> SparkSession.Builder:
    """Return a SparkSession builder configured for Delta Lake and this project.

    Args:
        app_name: Shown in the Spark UI and event logs.
        master: Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn``...);
            ``None`` leaves it to ``spark-submit`` or ``local[*]``.
        shuffle_partitions: ``spark.sql.shuffle.partitions``; small for tests.
        arrow_batch_size: Rows per Arrow batch fed to pandas UDFs.
        ui_enabled: Whether to start the Spark web UI.
        jars_dir: Directory of cached Delta jars; defaults to the project cache.
        extra_conf: Further Spark settings, applied last.

    Raises:
        ValueError: An argument is out of range.
        jobs.delta_jars.DeltaJarsMissingError: The Delta jars are not cached.
    """
    if not app_name.strip():
        raise ValueError("app_name must be a non-empty string")
    if shuffle_partitions < 1:
        raise ValueError(f"shuffle_partitions must be >= 1, got {shuffle_partitions}")
    if arrow_batch_size < 1:
        raise ValueError(f"arrow_batch_size must be >= 1, got {arrow_batch_size}")

    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    elif os.environ.get(JARS_FROM_SUBMIT_ENV) != "1":
        # Outside spark-submit nobody else chooses a master; default to all local cores.
        builder = builder.master("local[*]")
    if os.environ.get(JARS_FROM_SUBMIT_ENV) != "1":
        jars = ",".join(str(p) for p in delta_jar_paths(jars_dir))
        builder = builder.config("spark.jars", jars)
    settings = {
        "spark.sql.extensions": DELTA_SQL_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        # Delta's log replay defaults to 50 partitions, far too many for small tables.
        "spark.databricks.delta.snapshotPartitions": str(shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(arrow_batch_size),
        "spark.ui.enabled": "true" if ui_enabled else "false",
        "spark.ui.showConsoleProgress": "true",
        # Curated writes replace one (tenant, period) slice; keep overwrite dynamic-safe.
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.databricks.delta.retentionDurationCheck.enabled": "true",
        # HMAC pads (64-byte keys, 128 hex digits) are plan literals; explain() must not show them.
        "spark.sql.redaction.string.regex": "(?i)[0-9a-f]{128}",
    }
    log4j_config = os.environ.get(LOG4J_CONFIG_ENV) or str(DEFAULT_LOG4J_CONFIG)
    if os.environ.get(JARS_FROM_SUBMIT_ENV) != "1" and Path(log4j_config).exists():
        # Read when the driver JVM starts (spark-submit.sh passes the same file itself).
        settings["spark.driver.extraJavaOptions"] = (
            f"-Dlog4j2.configurationFile=file:{log4j_config}"
        )
    if "PYSPARK_PYTHON" not in os.environ:
        # Python workers must run the driver's interpreter (the project venv), not the
        # `python3` on PATH; PySpark reads only the environment variable for UDF workers.
        os.environ["PYSPARK_PYTHON"] = sys.executable
    settings.update(extra_conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder


def build_spark_session(app_name: str, **options: object) -> SparkSession:
    """Build (or reuse) the SparkSession; see :func:`delta_session_builder` for options."""
    return delta_session_builder(app_name, **options).getOrCreate()  # type: ignore[arg-type]
