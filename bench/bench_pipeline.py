"""End-to-end pipeline benchmark: run_all with privacy on vs the same pipeline with privacy off.

For each size it generates raw tables (once, cached under --out), then times:

* ``private``: the real ``run_release`` at ``dp_medium`` (HMAC pseudonyms, validation,
  quarantine, contribution bounding, noise UDFs, suppression, budget ledger, slice writes);
* ``baseline``: the same runner with privacy off: identity instead of HMAC,
  ``anonymized`` (no bounding, no noise, no budget ledger) and k = 0 (no suppression);
  job ledger, validation, quarantine, slice writes and the summary statistics are the same.

Each phase starts from empty curated tables and ledgers (the raw tables are kept).

It reports wall time, events/s, the private/baseline ratio and peak memory (driver
process plus the JVM it started), and appends a Markdown row per size to stdout.

    .venv/bin/python bench/bench_pipeline.py --events 1000000 --events 10000000
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shutil
import threading
import time
import uuid
from pathlib import Path

import psutil

from conf.settings import load_settings
from jobs.arguments import JobArguments
from jobs.baseline import NO_PROTECTIONS, run_baseline
from jobs.delta_io import is_delta_table
from jobs.generate import GeneratorConfig, generate_raw_tables, write_raw_tables
from jobs.job_logging import configure_job_logging
from jobs.run_all import ALL_JOBS
from jobs.runner import run_release
from jobs.session import build_spark_session

BENCH_KEY = "benchmark-only-key-" + "5f3a9c1e7b2d4086" * 3


class PeakMemory:
    """Samples the RSS of this process and its children (the JVM) every 0.5 s."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = me.memory_info().rss
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += child.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(0.5)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_pipeline(spark, settings, config: GeneratorConfig, private: bool) -> None:  # type: ignore[no-untyped-def]
    """One ``run_release`` of every job over the whole generated period, from empty outputs.

    Both phases go through the same runner (job ledger, validation, quarantine, slice
    writes, summary statistics); the baseline turns privacy off through the documented
    :func:`jobs.baseline.run_baseline` with ``NO_PROTECTIONS``: identity pseudonyms,
    the ``anonymized`` level (no bounding, no noise, no budget ledger) and k = 0.
    """
    for outputs in ("curated", "ops", "quarantine"):
        shutil.rmtree(settings.path(outputs), ignore_errors=True)
    end = config.start + dt.timedelta(days=config.days - 1)
    level = "dp_medium" if private else "anonymized"
    arguments = JobArguments(config.start, end, None, level, str(uuid.uuid4()), force=True)
    if private:
        run_release(spark, settings, arguments, ALL_JOBS, run_name="bench")
    else:
        run_baseline(
            spark, settings, arguments, ALL_JOBS, name="bench-pipeline", protections=NO_PROTECTIONS
        )


def event_log_conf(directory: Path | None) -> dict[str, str]:
    """Spark settings writing an uncompressed event log to ``directory`` (none if None)."""
    if directory is None:
        return {}
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": str(directory.resolve()),
        "spark.eventLog.compress": "false",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, action="append", required=True)
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    parser.add_argument("--master", default="local[2]")
    parser.add_argument(
        "--driver-memory",
        default="8g",
        help="JVM heap of the local driver, as spark-submit --driver-memory (default 8g)",
    )
    parser.add_argument(
        "--release-threads",
        type=int,
        help="tables released at the same time (RELEASE_THREADS; default: the setting's)",
    )
    parser.add_argument(
        "--event-log",
        type=Path,
        help="write Spark's event log (jobs, stages, task metrics) to this directory",
    )
    parser.add_argument(
        "--steps",
        action="store_true",
        help="print every run's progress lines with their durations (the per-step profile)",
    )
    args = parser.parse_args()
    if args.steps:
        configure_job_logging()
    spark = build_spark_session(
        "bench-pipeline",
        master=args.master,
        shuffle_partitions=8,
        ui_enabled=False,
        extra_conf={
            "spark.driver.memory": args.driver_memory,
            "spark.ui.showConsoleProgress": "false",
            **event_log_conf(args.event_log),
        },
    )
    spark.sparkContext.setLogLevel("ERROR")
    rows = []
    for events in args.events:
        root = (args.out / f"events-{events}").resolve()
        threads = {} if args.release_threads is None else {"release_threads": args.release_threads}
        settings = load_settings(
            data_root=str(root), pseudonym_key=BENCH_KEY, dp_epsilon_budget=1e9, **threads
        )
        config = GeneratorConfig(events=events, seed=7)
        if not is_delta_table(spark, settings.path("raw", "events")):
            started = time.monotonic()
            write_raw_tables(generate_raw_tables(spark, config), settings.path("raw"))
            print(f"generated {events:,} events in {time.monotonic() - started:.0f}s", flush=True)
        timings = {}
        peaks = {}
        for name in ("baseline", "private"):
            with PeakMemory() as memory:
                started = time.monotonic()
                run_pipeline(spark, settings, config, private=name == "private")
                timings[name] = time.monotonic() - started
            peaks[name] = memory.peak
            print(
                f"{events:,} events {name}: {timings[name]:.1f}s, peak {peaks[name] / 2**30:.2f} GiB",
                flush=True,
            )
        rows.append((events, timings, peaks))
    print("\n| events | baseline s | private s | private events/s | ratio | peak GiB (private) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for events, timings, peaks in rows:
        print(
            f"| {events:,} | {timings['baseline']:.1f} | {timings['private']:.1f} | "
            f"{events / timings['private']:,.0f} | {timings['private'] / timings['baseline']:.2f} | "
            f"{peaks['private'] / 2**30:.2f} |"
        )


if __name__ == "__main__":
    main()
