"""Shared fixtures (one session-scoped SparkSession with Delta Lake) and the test tiers.

Tiers are markers applied from what a test uses, so nobody has to remember them:

- ``browser``: drives headless Chromium (the ``browser`` fixture);
- ``spark``: starts the JVM (the ``spark`` fixture, or marked ``slow``: end-to-end runs
  start Spark in subprocesses);
- ``slow``: end to end, reliability, cluster, notebooks (marked in the test modules);
- ``unit``: everything else, no JVM. ``make test-fast`` runs only this tier and makes any
  JVM start fail loudly, so a test that needs Java cannot hide in it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from jobs.session import build_spark_session
from tests.pipeline import CuratedPipeline, build_pipeline

JVM_TIERS = ("spark", "slow", "image")


# The modules whose tests use the shared end-to-end pipeline (``curated_pipeline``).
PIPELINE_MODULES = frozenset(
    {
        "tests/jobs/test_end_to_end.py",
        "tests/jobs/test_ops_cli.py",
        "tests/notebooks/test_notebooks.py",
        "tests/readers/test_deltalake_matches_spark.py",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if "browser" in used:
            item.add_marker(pytest.mark.browser)
        if "spark" in used:
            item.add_marker(pytest.mark.spark)
        if not any(item.get_closest_marker(tier) for tier in JVM_TIERS):
            item.add_marker(pytest.mark.unit)
        module = item.nodeid.split("::", 1)[0]
        if "curated_pipeline" in used and module not in PIPELINE_MODULES:
            raise pytest.UsageError(
                f"{module} uses the curated_pipeline fixture: add it to PIPELINE_MODULES in "
                "tests/conftest.py, so that one pytest-xdist worker runs all its users"
            )


# optionalhook: a checkout without pytest-xdist still loads this conftest.
@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`TEST_WORKERS=2 make test` (pytest-xdist) schedules whole modules, not single tests.

    A module's tests stay on one worker, so its module-scoped fixtures (a generated
    district, a live server) are built once; the modules of the shared end-to-end
    pipeline (minutes to build) form one unit, so one worker builds it. (pytest-xdist's
    own ``--dist loadgroup`` cannot do this under pytest 9: it renames node ids through
    an attribute pytest no longer reads.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "curated_pipeline" if module in PIPELINE_MODULES else module

    return ModuleScheduling(config, log)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("markexpr", "") == "unit":
        # The unit tier promises no JVM: a Java start (in this process or a child) fails
        # with a pointer to the fix instead of silently costing seconds.
        os.environ["JAVA_HOME"] = "/nonexistent-unit-tier-starts-no-jvm"
        from pyspark import context, java_gateway

        def refuse(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError(
                "a test of the unit tier started a JVM: give it the `spark` fixture "
                "or mark it `slow`"
            )

        java_gateway.launch_gateway = refuse  # type: ignore[assignment]
        context.launch_gateway = refuse  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """The one SparkSession of the test run: local[2], UI off, 2 shuffle partitions."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    session = build_spark_session(
        "privacy-analytics-tests",
        master="local[2]",
        shuffle_partitions=2,
        ui_enabled=False,
        extra_conf={
            "spark.sql.warehouse.dir": str(warehouse),
            "spark.default.parallelism": "2",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.memory": "2g",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def curated_pipeline(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CuratedPipeline]:
    """A generated dataset released by run_all at anonymized and dp_medium (built once)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PRIVACY_UDFS_ALLOW_SEEDED_RANDOMNESS", "1")
        yield build_pipeline(spark, tmp_path_factory.mktemp("pipeline"))
