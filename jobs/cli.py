"""The thin ``main()`` every job module shares: parse flags, build the session, run, report."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Protocol

from conf.log_format import bind_run_id
from conf.settings import ConfigurationError, load_settings
from jobs.arguments import JobArgumentError, job_argument_parser, job_arguments_from
from jobs.delta_io import RawTableMissingError, SchemaContractError
from jobs.job_logging import configure_job_logging
from jobs.pseudonym_key import resolve_pseudonym_key
from jobs.release import CuratedJob
from jobs.run_report import format_summary
from jobs.runner import run_release
from jobs.session import build_spark_session
from privacy_udfs.keys import PseudonymKeyError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3


def run_cli(
    jobs: Sequence[CuratedJob], *, prog: str, description: str, argv: Sequence[str] | None = None
) -> int:
    """Run ``jobs`` from the command line; return the process exit code.

    Exit codes: 0 released, 1 failed, 2 bad flags or configuration (the key included),
    3 refused (budget). Flags, settings and the pseudonym key are checked before Spark
    starts, so a configuration error fails in seconds and leaves no ledger row.
    """
    parser = job_argument_parser(prog, description)
    namespace = parser.parse_args(list(argv) if argv is not None else None)
    configure_job_logging()
    try:
        overrides = {"data_root": namespace.data_root} if namespace.data_root else {}
        settings = load_settings(**overrides)
        arguments = job_arguments_from(namespace, settings.default_privacy_level)
        key = resolve_pseudonym_key(settings)
    except (ConfigurationError, JobArgumentError, PseudonymKeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    spark = build_spark_session(
        prog,
        master=namespace.master or settings.spark_master,
        shuffle_partitions=settings.shuffle_partitions,
        arrow_batch_size=settings.etl_batch_size,
    )
    try:
        with bind_run_id(arguments.run_id):
            summary = run_release(
                spark,
                settings,
                arguments,
                jobs,
                run_name=jobs[0].name if len(jobs) == 1 else "run_all",
                key=key,
            )
    except (RawTableMissingError, SchemaContractError) as error:
        print(f"error: {error} (nothing was written)", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # recorded in job_runs by run_release
        print(
            f"error: run {arguments.run_id} failed: {type(error).__name__}: {error}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(format_summary(summary))
    return EXIT_REFUSED if summary.status == "refused" else EXIT_OK


class JobMain(Protocol):
    """The ``main`` of a job module: ``main(argv=None) -> exit code``."""

    def __call__(self, argv: Sequence[str] | None = None) -> int:
        """Run the job with ``argv`` (default: the process's arguments)."""
        ...


def job_entry_point(job: CuratedJob, description: str | None) -> JobMain:
    """Build the ``main(argv=None)`` of a single-job module."""

    def main(argv: Sequence[str] | None = None) -> int:
        return run_cli(
            [job], prog=f"python -m jobs.{job.name}", description=description or "", argv=argv
        )

    return main
