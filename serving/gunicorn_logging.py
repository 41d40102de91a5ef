"""gunicorn's logs as JSON lines, with nothing that identifies a learner or authenticates anyone.

The access log records the route *template* the app matched (never the raw
path, which may hold a learner pseudonym, and never the query string, which
may hold ``?access_token=``), the status, size, duration and the request id
the app assigned. gunicorn's own error messages (e.g. an invalid request
line quoted back) are passed through :func:`redact` first.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime
from typing import Any

from gunicorn.glogging import Logger

from conf.log_format import JsonFormatter

ROUTE_ENVIRON_KEY = "analytics.route"
REQUEST_ID_ENVIRON_KEY = "analytics.request_id"
UNMATCHED_ROUTE = "(unmatched)"
_QUERY = re.compile(r"\?[^\s\"']*")
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_LONG_HEX = re.compile(r"\b[0-9a-fA-F]{32,}\b")


def redact(text: str) -> str:
    """``text`` without query strings, JWTs, bearer credentials or long hex identifiers."""
    text = _JWT.sub("[token]", text)
    text = _BEARER.sub(r"\1[token]", text)
    text = _QUERY.sub("?[query]", text)
    return _LONG_HEX.sub("[id]", text)


class RedactingJsonFormatter(JsonFormatter):
    """JSON lines whose message has gone through :func:`redact`."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as redacted JSON."""
        return redact(super().format(record))


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn logger: JSON error log (redacted) and a JSON access log of route templates."""

    def setup(self, cfg: Any) -> None:
        """Install gunicorn's handlers, then give each a redacting JSON formatter."""
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(RedactingJsonFormatter())
        for handler in self.access_log.handlers:
            handler.setFormatter(logging.Formatter("%(message)s"))  # access() writes JSON

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """One JSON line per request: route template, status, size, duration, request id."""
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        line = {
            "ts": datetime.now(tz=UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "message": "request",
            "request_id": environ.get(REQUEST_ID_ENVIRON_KEY),
            "method": environ.get("REQUEST_METHOD"),
            "route": environ.get(ROUTE_ENVIRON_KEY, UNMATCHED_ROUTE),
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "pid": os.getpid(),
        }
        self.access_log.info("%s", json.dumps(line, separators=(",", ":")))
