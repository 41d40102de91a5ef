"""Structured logs: one JSON object per line, with the request id and run id in every record.

The API and the jobs log through the standard :mod:`logging` module; this
module only formats. :func:`configure_json_logging` installs one stderr
handler on the root logger (idempotent). The current request id and run id
live in context variables, set by the API per request
(:func:`bind_request_id`) and by a job for its run (:func:`bind_run_id`),
and every record carries them, whichever logger wrote it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
RUN_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("run_id", default=None)
_HANDLER_NAME = "analytics-json"
# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, ids, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON object on one line."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
            "run_id": getattr(record, "run_id", None) or RUN_ID.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure_json_logging(level: str = "INFO") -> None:
    """Send every logger's records to stderr as JSON lines (once per process)."""
    root = logging.getLogger()
    root.setLevel(level)
    if any(handler.get_name() == _HANDLER_NAME for handler in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)


def bind_request_id(request_id: str | None) -> contextvars.Token[str | None]:
    """Set the request id of the current context; returns the token to reset it."""
    return REQUEST_ID.set(request_id)


@contextmanager
def bind_run_id(run_id: str) -> Iterator[None]:
    """Within the block, every record carries ``run_id``."""
    token = RUN_ID.set(run_id)
    try:
        yield
    finally:
        RUN_ID.reset(token)
