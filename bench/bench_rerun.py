"""A rerun of a published DP release against the full run, end to end through spark-submit.

Issue 16: a rerun with nothing to do (every release of the period already published)
must take at most a quarter of the full run, Spark start-up included, because it is
decided from the ledgers before any raw data is read or validated.

For each size it generates raw tables once (cached under ``--out``, shared with
``bench_pipeline.py``), empties the curated tables and ledgers, then times two
``./spark-submit.sh run_all`` commands over the whole generated period at ``--level``,
each in its own process as a scheduled run would start:

* ``full``: the first release (read, validate, pseudonymize, bound, noise, write);
* ``rerun``: the same command again; it must report "already published".

    .venv/bin/python bench/bench_rerun.py --events 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import time
from pathlib import Path

from bench_pipeline import BENCH_KEY

from conf.settings import load_settings
from jobs.delta_io import is_delta_table
from jobs.generate import GeneratorConfig, generate_raw_tables, write_raw_tables
from jobs.session import build_spark_session

REPO = Path(__file__).resolve().parent.parent
NO_OP = "every release is already published"


def ensure_raw_tables(root: Path, config: GeneratorConfig) -> None:
    """Generate the raw tables under ``root`` unless they are there (Spark stops after)."""
    settings = load_settings(data_root=str(root), pseudonym_key=BENCH_KEY)
    spark = build_spark_session("bench-rerun-generate", master="local[2]", ui_enabled=False)
    try:
        if not is_delta_table(spark, settings.path("raw", "events")):
            write_raw_tables(generate_raw_tables(spark, config), settings.path("raw"))
    finally:
        spark.stop()


def timed_submit(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall-clock seconds of one spark-submit command and its combined output."""
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{output[-3000:]}")
    return seconds, output


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, action="append", required=True)
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    parser.add_argument("--level", default="dp_medium", choices=["dp_low", "dp_medium", "dp_high"])
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    rows = []
    for events in args.events:
        root = (args.out / f"events-{events}").resolve()
        config = GeneratorConfig(events=events, seed=7)
        ensure_raw_tables(root, config)
        for outputs in ("curated", "ops", "quarantine"):
            shutil.rmtree(root / outputs, ignore_errors=True)
        end = config.start + dt.timedelta(days=config.days - 1)
        command = [
            str(REPO / "spark-submit.sh"),
            "--master",
            args.master,
            "run_all",
            "--start",
            config.start.isoformat(),
            "--end",
            end.isoformat(),
            "--privacy-level",
            args.level,
        ]
        env = {
            **os.environ,
            "DATA_ROOT": str(root),
            "PSEUDONYM_KEY": BENCH_KEY,
            "DP_EPSILON_BUDGET": "1000000000",
        }
        load = os.getloadavg()[0]  # how quiet the machine was before the runs
        full, _ = timed_submit(command, env)
        rerun, output = timed_submit(command, env)
        if NO_OP not in output:
            raise SystemExit(f"the rerun did not report {NO_OP!r}:\n{output[-3000:]}")
        print(f"{events:,} events: full {full:.1f}s, no-op rerun {rerun:.1f}s", flush=True)
        rows.append((events, full, rerun, load))
    print(
        "\n| events | full run s | no-op rerun s | rerun / full (target <= 0.25) | load1 before |"
    )
    print("|---:|---:|---:|---:|---:|")
    for events, full, rerun, load in rows:
        print(f"| {events:,} | {full:.1f} | {rerun:.1f} | {rerun / full:.2f} | {load:.1f} |")


if __name__ == "__main__":
    main()
