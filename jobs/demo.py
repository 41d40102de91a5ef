"""``make demo``: generate a demo dataset and run the whole pipeline on local Spark.

1. Creates a random pseudonym key for this installation (``.secrets/pseudonym.key`` at the
   project root, outside the data root) unless PSEUDONYM_KEY or PSEUDONYM_KEY_FILE is set.
   In development (``ANALYTICS_ENV``, the default) every job finds it there, so the
   README's commands work after ``make demo``; in production it is never used.
2. Generates raw learner-event Delta tables under ``<data_root>/raw`` (skipped when they
   exist; ``--regenerate`` forces it).
3. Runs run_all over the generated period at ``anonymized`` and at ``dp_medium``
   and prints each run's summary. Curated tables land under ``<data_root>/curated``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from conf.settings import AnalyticsSettings, ConfigurationError, load_settings
from jobs.arguments import JobArguments
from jobs.delta_io import is_delta_table
from jobs.generate import GeneratorConfig, generate_raw_tables, write_raw_tables
from jobs.job_logging import configure_job_logging
from jobs.pseudonym_key import DEV_KEY_FILE
from jobs.run_all import ALL_JOBS
from jobs.run_report import format_summary
from jobs.runner import run_release
from jobs.session import build_spark_session

DEMO_LEVELS = ("anonymized", "dp_medium")


def ensure_demo_key(settings: AnalyticsSettings) -> AnalyticsSettings:
    """Use the configured key, or create a random key file for this installation once."""
    if settings.pseudonym_key is not None or settings.pseudonym_key_file is not None:
        return settings
    if settings.environment == "production":
        raise ConfigurationError(
            "ANALYTICS_ENV=production: the demo does not create keys; set PSEUDONYM_KEY_FILE"
        )
    key_file = DEV_KEY_FILE
    legacy = Path(settings.path(".secrets", "pseudonym.key"))
    if not key_file.exists() and legacy.exists():
        # Earlier demos kept the key inside the data root; keep the same key (and so the
        # same pseudonyms) but move it out, so sharing data/ never shares the key.
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.parent.chmod(0o700)
        legacy.replace(key_file)
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.parent.chmod(0o700)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return load_settings(data_root=settings.data_root, pseudonym_key_file=key_file)


def main(argv: Sequence[str] | None = None) -> int:
    """Generate (once) and run the pipeline at each demo privacy level."""
    parser = argparse.ArgumentParser(
        prog="python -m jobs.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--events", type=int, default=200_000, help="events to generate (default 200000)"
    )
    parser.add_argument("--seed", type=int, default=7, help="generator seed")
    parser.add_argument(
        "--regenerate", action="store_true", help="regenerate raw tables even if present"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    configure_job_logging()
    try:
        settings = ensure_demo_key(load_settings())
        config = GeneratorConfig(events=args.events, seed=args.seed)
    except (ConfigurationError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    spark = build_spark_session(
        "demo", master=settings.spark_master, shuffle_partitions=settings.shuffle_partitions
    )
    raw_root = settings.path("raw")
    if args.regenerate or not is_delta_table(spark, settings.path("raw", "events")):
        print(f"generating {config.events:,} events under {raw_root} ...", flush=True)
        write_raw_tables(generate_raw_tables(spark, config), raw_root)
    start = config.start
    end = config.start + dt.timedelta(days=config.days - 1)
    for level in DEMO_LEVELS:
        arguments = JobArguments(
            start=start, end=end, tenant_id=None, privacy_level=level, run_id=str(uuid.uuid4())
        )
        summary = run_release(spark, settings, arguments, ALL_JOBS, run_name="run_all")
        print(f"\n== {level} ==\n{format_summary(summary)}", flush=True)
    print(f"\ncurated tables: {settings.path('curated')}  (serve them with `make serve`)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
