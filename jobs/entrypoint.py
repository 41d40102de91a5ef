"""The primary resource ``spark-submit.sh`` hands to spark-submit: ``entrypoint.py <job> [args]``.

It runs ``python -m jobs.<job>`` inside the driver so every job keeps one
``main()`` whether it is started directly or through spark-submit.
"""

from __future__ import annotations

import runpy
import sys

from contracts.curated import CURATED_TABLES

# run_all, one module per curated table (jobs/registry.py), and the two tools.
RUNNABLE_JOBS = ("run_all", *CURATED_TABLES, "maintenance", "generate")


def main() -> None:
    """Dispatch to the job module named by the first argument."""
    if len(sys.argv) < 2 or sys.argv[1] not in RUNNABLE_JOBS:
        print(
            f"usage: entrypoint.py <job> [args]; job is one of: {', '.join(RUNNABLE_JOBS)}",
            file=sys.stderr,
        )
        raise SystemExit(2)
    job = sys.argv[1]
    sys.argv = [f"jobs.{job}", *sys.argv[2:]]
    runpy.run_module(f"jobs.{job}", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
