"""Synthetic raw ("bronze") data, generated in Spark and written as Delta tables.

Everything is computed from ``spark.range`` with deterministic column
expressions: every random choice is a hash of (seed, salt, row key), so the
same :class:`GeneratorConfig` gives identical tables however Spark partitions
the work, and nothing event-level ever passes through the driver.

Usage::

    python -m jobs.generate --events 1000000 --seed 7 --out ./data/raw

Library use::

    tables = generate_raw_tables(spark, GeneratorConfig(events=20_000))
    write_raw_tables(tables, "./data/raw")
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts.columns import Column
from contracts.raw import RAW_TABLES
from contracts.spark_types import spark_schema, spark_type
from jobs.generator.config import GeneratorConfig
from jobs.generator.courses import RARE_SUBJECT, courses_table
from jobs.generator.events import (
    UNKNOWN_EVENT_TYPE,
    MalformedKind,
    events_table,
    planned_malformed_counts,
)
from jobs.generator.layout import plan_layout
from jobs.generator.learners import RARE_CATEGORY, LearnerModel, iep_goals_table, learners_table
from jobs.generator.pii import CANARY_PREFIX
from jobs.generator.profiles import Profile, district_events
from jobs.generator.tenants import tenants_table

__all__ = [
    "CANARY_PREFIX",
    "RARE_CATEGORY",
    "RARE_SUBJECT",
    "UNKNOWN_EVENT_TYPE",
    "GeneratorConfig",
    "MalformedKind",
    "Profile",
    "district_events",
    "generate_raw_tables",
    "main",
    "planned_malformed_counts",
    "write_raw_tables",
]


def generate_raw_tables(spark: SparkSession, config: GeneratorConfig) -> dict[str, DataFrame]:
    """Build the raw tables as lazy DataFrames with exactly the contract's schemas.

    Args:
        spark: The session to build on (see :func:`jobs.session.build_spark_session`).
        config: What to generate.

    Returns:
        ``tenants``, ``learners``, ``events``, ``iep_goals`` and ``courses``, not yet computed.

    Raises:
        TypeError: ``spark`` is not a SparkSession or ``config`` not a GeneratorConfig.
    """
    if not isinstance(spark, SparkSession):
        raise TypeError(f"spark must be a SparkSession, got {type(spark).__name__}")
    if not isinstance(config, GeneratorConfig):
        raise TypeError(
            f"config must be a GeneratorConfig, got {type(config).__name__}; "
            "build one with GeneratorConfig(events=...)"
        )
    model = LearnerModel(config=config, layout=plan_layout(config))
    tables = {
        "tenants": tenants_table(spark, model),
        "learners": learners_table(spark, model),
        "events": events_table(spark, model),
        "iep_goals": iep_goals_table(spark, model),
        "courses": courses_table(spark, model),
    }
    return {name: conform_to_contract(df, RAW_TABLES[name]) for name, df in tables.items()}


_NEVER_USED: dict[str, object] = {
    "string": "",
    "long": 0,
    "int": 0,
    "double": 0.0,
    "boolean": False,
    "date": dt.date(1970, 1, 1),
    "timestamp": dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
}


def conform_to_contract(df: DataFrame, columns: tuple[Column, ...]) -> DataFrame:
    """Cast ``df`` to the contract's schema: column order, types, comments and nullability.

    Spark infers some never-null expressions (``element_at``, ``timestamp_seconds``) as
    nullable. For required columns they are wrapped in ``coalesce`` with a typed
    placeholder that the generator's logic never reaches (the tests check every
    required column's values), only so that Spark records them as NOT NULL.
    Conversely, optional columns that happen to be never null are declared nullable.
    """
    inferred = {field.name: field.nullable for field in df.schema.fields}
    conformed = []
    for c in columns:
        column = F.col(c.name)
        if not c.nullable and inferred[c.name]:
            column = F.coalesce(column, F.lit(_NEVER_USED[c.type]).cast(spark_type(c)))
        elif c.nullable and not inferred[c.name]:
            column = F.when(column.isNotNull(), column)  # declared nullable, as contracted
        conformed.append(column.alias(c.name))
    return df.select(*conformed).to(spark_schema(columns))


def write_raw_tables(tables: Mapping[str, DataFrame], raw_root: str) -> None:
    """Write each table as Delta to ``<raw_root>/<table>``, replacing what is there.

    Each table is replaced (a new Delta version, history kept) with the contract's
    schema, column comments and NOT NULL constraints, then the rows are appended.

    Args:
        tables: Exactly the raw tables of the contract, as returned by :func:`generate_raw_tables`.
        raw_root: Directory or URI of the raw zone, e.g. ``./data/raw``.

    Raises:
        ValueError: Tables are missing or unknown, or ``raw_root`` is empty.
    """
    if set(tables) != set(RAW_TABLES):
        raise ValueError(
            f"tables must be exactly {sorted(RAW_TABLES)}, got {sorted(tables)}; "
            "pass the mapping generate_raw_tables returns"
        )
    if not raw_root.strip():
        raise ValueError("raw_root must be a non-empty path or URI")
    root = raw_root.rstrip("/")
    if "://" not in root and not root.startswith("/"):
        # Delta's table builder rejects relative locations such as ./data/raw.
        root = str(Path(root).resolve())
    for name, columns in RAW_TABLES.items():
        df = tables[name]
        path = f"{root}/{name}"
        # Replacing the table from the contract (not from the DataFrame) keeps NOT NULL
        # columns NOT NULL in Delta, which a plain DataFrame overwrite would relax.
        (
            DeltaTable.createOrReplace(df.sparkSession)
            .location(path)
            .addColumns(spark_schema(columns))
            .comment(f"Raw {name} (synthetic, from jobs.generate). Holds PII: raw access only.")
            .execute()
        )
        df.write.format("delta").mode("append").save(path)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (``None`` reads ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        prog="python -m jobs.generate",
        description="Generate the synthetic raw Delta tables (tenants, learners, events, "
        "iep_goals, courses) under OUT/<table>.",
    )
    parser.add_argument(
        "--events",
        type=int,
        default=None,
        help="exact rows in events (required, except with --profile district, which "
        "derives ~6 events per learner's active week)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", required=True, help="raw root, e.g. ./data/raw")
    parser.add_argument("--malformed-rate", type=float, default=0.01)
    parser.add_argument("--no-canaries", action="store_true", help="plain PII, no markers")
    parser.add_argument("--tenants", type=int, default=None)
    parser.add_argument("--learners", type=int, default=None)
    parser.add_argument(
        "--start", type=dt.date.fromisoformat, default=dt.date(2025, 1, 6), help="YYYY-MM-DD"
    )
    parser.add_argument("--days", type=int, default=56)
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument(
        "--profile",
        choices=[p.value for p in Profile],
        default=Profile.DEFAULT.value,
        help="default: Zipf tenants with a tiny one; district: realistic districts of "
        "200-20,000 learners (docs/raw_data.md)",
    )
    parser.add_argument(
        "--tenant-learners",
        type=_sizes,
        default=None,
        help="district profile: learners per tenant, e.g. 2000,400 (default: --tenants "
        "tenants, 3 if not given, from 200 to 20,000)",
    )
    parser.add_argument("--master", default=None, help="Spark master; default local[*]")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> GeneratorConfig:
    """The :class:`GeneratorConfig` the command-line arguments describe.

    Raises:
        ValueError: An argument is out of range; the message names it.
    """
    profile = Profile(args.profile)
    events = args.events
    if events is None:
        if profile is not Profile.DISTRICT:
            raise ValueError("events is required (--events N) except with --profile district")
        sizing = GeneratorConfig(
            events=1,
            profile=profile,
            tenants=args.tenants,
            tenant_learners=args.tenant_learners,
            days=args.days,
        )
        events = district_events(sizing.learner_count, args.days)
    return GeneratorConfig(
        events=events,
        seed=args.seed,
        tenants=args.tenants,
        learners=args.learners,
        start=args.start,
        days=args.days,
        malformed_rate=args.malformed_rate,
        canaries=not args.no_canaries,
        partitions=args.partitions,
        profile=profile,
        tenant_learners=args.tenant_learners,
    )


def _sizes(text: str) -> tuple[int, ...]:
    """``2000,400`` -> ``(2000, 400)``: learners per tenant on the command line."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected learners per tenant as integers separated by commas, got {text!r}"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints the row count of each table written.

    Returns:
        0 on success, 2 on an invalid argument (before any Spark work).
    """
    args = parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    spark = build_session(args.master)
    write_raw_tables(generate_raw_tables(spark, config), args.out)
    root = args.out.rstrip("/")
    for name in RAW_TABLES:
        rows = spark.read.format("delta").load(f"{root}/{name}").count()
        print(f"{name}: {rows} rows -> {root}/{name}")
    return 0


def build_session(master: str | None) -> SparkSession:
    """The generator's session, built the one project way."""
    from jobs.session import build_spark_session

    options: dict[str, object] = {"ui_enabled": False}
    if master is not None:
        options["master"] = master
    return build_spark_session("generate-raw", **options)


if __name__ == "__main__":
    sys.exit(main())
