"""Append-only audit logs (seed 003, Phases 4 and 6), JSON lines under ``AUDIT_LOG_DIR``.

``access.jsonl`` records every request, success or failure; ``exports.jsonl``
additionally records every data or audit export. A record holds who (a keyed
hash of the token subject, the role), what (route template, action, the
query parameters), from where (client IP), how it ended (status, time,
guard events) — never a learner identifier, never a response payload. The
route *template* is logged, not the path, because a learner route's path is
the learner's pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app

from serving.guards.pii import FORBIDDEN_KEYS, INDIVIDUAL_KEYS
from serving.tokens import Principal, Role

AUDIT_EXTENSION = "analytics_audit"
ACCESS_LOG = "access.jsonl"
EXPORT_LOG = "exports.jsonl"
_MAX_PARAMETERS = 20
_MAX_VALUE_CHARS = 200
# Parameters whose values identify a learner or carry credentials: logged as names only.
_REDACTED_PARAMETERS = FORBIDDEN_KEYS | INDIVIDUAL_KEYS | {"token", "access_token", "jwt"}


def hash_caller(subject: str, key: bytes) -> str:
    """Keyed hash of a token subject: stable per caller, not reversible without the key."""
    return hmac.new(key, subject.encode(), hashlib.sha256).hexdigest()[:24]


def sanitize_parameters(parameters: dict[str, str]) -> dict[str, str]:
    """Bounded copy of request parameters with identifying values redacted."""
    clean: dict[str, str] = {}
    for name, value in list(parameters.items())[:_MAX_PARAMETERS]:
        key = name[:64]
        redact = name.lower() in _REDACTED_PARAMETERS or name.lower().endswith("_hash")
        clean[key] = "[redacted]" if redact else value[:_MAX_VALUE_CHARS]
    return clean


def timestamps(now: datetime | None = None) -> dict[str, Any]:
    """Unix and ISO 8601 timestamps of ``now`` (UTC)."""
    moment = now or datetime.now(tz=UTC)
    return {"timestamp": round(moment.timestamp(), 3), "iso_timestamp": moment.isoformat()}


class AuditLog:
    """Appends JSON lines to the access and export logs; never rewrites or truncates them."""

    def __init__(self, directory: Path) -> None:
        """Create the directory if needed.

        Args:
            directory: ``AUDIT_LOG_DIR``.

        Raises:
            OSError: The directory cannot be created (fail at start-up, not per request).
        """
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._lock = threading.Lock()

    @property
    def access_path(self) -> Path:
        """The access log file."""
        return self.directory / ACCESS_LOG

    @property
    def export_path(self) -> Path:
        """The export log file."""
        return self.directory / EXPORT_LOG

    def _append(self, path: Path, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
        # O_APPEND: each write lands at the end, whole, even with several worker processes.
        with self._lock:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)

    def record_access(self, record: dict[str, Any]) -> None:
        """Append one request record."""
        self._append(self.access_path, record)

    def record_export(self, record: dict[str, Any]) -> None:
        """Append one export record (to the export log and, tagged, to the access log)."""
        self._append(self.export_path, record)


def caller_hash_of(principal: Principal | None) -> str:
    """The audit identity of a caller: keyed hash of the token subject, or ``anonymous``."""
    if principal is None or principal.role is Role.PUBLIC:
        return "anonymous"
    return hash_caller(principal.subject, current_app.config["AUDIT_CALLER_KEY"])


def get_audit_log() -> AuditLog:
    """The app's audit log (set up by :func:`serving.guards.response.init_guards`)."""
    log: AuditLog = current_app.extensions[AUDIT_EXTENSION]
    return log
