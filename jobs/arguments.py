"""Command-line arguments shared by every job runner, validated up front."""

from __future__ import annotations

import argparse
import datetime as dt
import uuid
from dataclasses import dataclass

from contracts.levels import PrivacyLevel
from jobs.errors import JobError

PRIVACY_LEVEL_NAMES = tuple(level.value for level in PrivacyLevel)


class JobArgumentError(JobError, ValueError):
    """A command-line argument is invalid; the message names the flag."""


@dataclass(frozen=True)
class JobArguments:
    """What one run covers: a period, optionally one tenant, and a privacy level."""

    start: dt.date
    end: dt.date
    tenant_id: str | None
    privacy_level: str
    run_id: str
    force: bool = False

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise JobArgumentError(f"--end {self.end} is before --start {self.start}")
        if (self.end - self.start).days > 366:
            raise JobArgumentError("--start/--end may span at most 366 days per run")
        if self.privacy_level not in PRIVACY_LEVEL_NAMES:
            raise JobArgumentError(
                f"--privacy-level must be one of {', '.join(PRIVACY_LEVEL_NAMES)}, "
                f"got {self.privacy_level!r}"
            )
        if self.tenant_id is not None:
            _check_uuid("--tenant", self.tenant_id)
        _check_uuid("--run-id", self.run_id)


def _check_uuid(flag: str, value: str) -> None:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise JobArgumentError(f"{flag} must be a UUID, got {value!r}") from None
    if str(parsed) != value.lower():
        raise JobArgumentError(f"{flag} must be a UUID in canonical form, got {value!r}")


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def job_argument_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """Build the parser every runner shares; ``--help`` explains each flag."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--start",
        type=_date,
        required=True,
        help="first day of the reporting period, YYYY-MM-DD (UTC)",
    )
    parser.add_argument(
        "--end",
        type=_date,
        required=True,
        help="last day of the reporting period, inclusive, YYYY-MM-DD (UTC)",
    )
    parser.add_argument(
        "--tenant",
        default=None,
        metavar="UUID",
        help="run for one tenant only (default: every tenant)",
    )
    parser.add_argument(
        "--privacy-level",
        default=None,
        choices=PRIVACY_LEVEL_NAMES,
        help=", ".join(
            f"{level.value} (ε={level.epsilon:g})" if level.epsilon else level.value
            for level in PrivacyLevel
        )
        + "; default $DEFAULT_PRIVACY_LEVEL",
    )
    parser.add_argument(
        "--run-id",
        default=None,
        metavar="UUID",
        help="id for the job_runs ledger (default: a new UUID)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="re-release with fresh noise although this release was published; "
        "charges the privacy budget again",
    )
    parser.add_argument(
        "--data-root",
        default=None,
        help="root of raw/, curated/, quarantine/, ops/ (default $DATA_ROOT or ./data)",
    )
    parser.add_argument(
        "--master", default=None, help="Spark master (default: set by spark-submit, else local[*])"
    )
    return parser


def job_arguments_from(namespace: argparse.Namespace, default_level: str) -> JobArguments:
    """Turn parsed flags into validated :class:`JobArguments`."""
    return JobArguments(
        start=namespace.start,
        end=namespace.end,
        tenant_id=namespace.tenant.lower() if namespace.tenant else None,
        privacy_level=namespace.privacy_level or default_level,
        run_id=(namespace.run_id or str(uuid.uuid4())).lower(),
        force=namespace.force,
    )
