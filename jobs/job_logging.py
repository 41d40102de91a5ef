"""How the jobs' progress lines are logged: readable on a terminal, JSON lines for machines.

Every step of a run logs through :mod:`logging` (logger ``jobs``) with the step name
in ``extra={"step": ...}`` and the run id bound by :func:`conf.log_format.bind_run_id`.
``LOG_FORMAT=json`` prints one JSON object per line (``conf.log_format``), with
``run_id`` and ``step`` in every record, for log collectors; the default prints
``[HH:MM:SS] step         message`` lines for an operator's terminal.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from conf.log_format import configure_json_logging

LOG_FORMAT_ENV = "LOG_FORMAT"
_HANDLER_NAME = "analytics-jobs-text"


class StepFormatter(logging.Formatter):
    """``[HH:MM:SS] step         message`` (the step padded so messages line up)."""

    def __init__(self) -> None:
        """Times in UTC, seconds only."""
        super().__init__(datefmt="%H:%M:%S")
        self.converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        """One progress line."""
        step = getattr(record, "step", None) or record.levelname.lower()
        line = f"[{self.formatTime(record, self.datefmt)}] {step:<12} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (tests and notebooks swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Emit to the current stderr."""
        self.stream = sys.stderr
        super().emit(record)


def configure_job_logging(log_format: str | None = None) -> None:
    """Install the jobs' log handler on stderr once: JSON under ``LOG_FORMAT=json``, else text."""
    chosen = (log_format or os.environ.get(LOG_FORMAT_ENV) or "text").strip().lower()
    if chosen == "json":
        configure_json_logging()
        return
    logger = logging.getLogger("jobs")
    logger.setLevel(logging.INFO)
    if any(handler.get_name() == _HANDLER_NAME for handler in logger.handlers):
        return
    handler = _CurrentStderrHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(StepFormatter())
    logger.addHandler(handler)
    # The text handler prints the jobs' lines; a root JSON handler must not print them twice.
    logger.propagate = False
