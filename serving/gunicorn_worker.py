"""A gunicorn threaded worker with a deadline on reading each request head (slowloris).

gunicorn's ``gthread`` worker parks idle connections in its poller, but once
a client has sent a few bytes a worker thread reads the rest with a blocking
``recv`` and no deadline: a dozen clients sending half a request header each
hold a dozen threads forever. This worker gives every request head
``REQUEST_HEADER_TIMEOUT`` seconds in total (however the bytes trickle in);
past that the connection is closed as if the client had left. Once the head
is read, the body and the response get ``REQUEST_IO_TIMEOUT`` per socket
operation, so a client that stops reading cannot hold a thread either.

Use it with ``--worker-class serving.gunicorn_worker.HeaderTimeoutThreadWorker``
(``serving/gunicorn.conf.py`` does). Behind a buffering reverse proxy (nginx,
an ingress) the proxy absorbs slow clients before they reach gunicorn.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker


def _seconds(variable: str, default: float) -> float:
    raw = os.environ.get(variable, "")
    try:
        value = float(raw) if raw.strip() else default
    except ValueError:
        raise SystemExit(f"{variable} must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= 3600:
        raise SystemExit(f"{variable} must be in (0, 3600] seconds, got {value}")
    return value


class DeadlineSocket:
    """A socket whose ``recv`` honours one deadline for the whole request head."""

    def __init__(self, sock: socket.socket, on_timeout: Any) -> None:
        """Wrap ``sock``; ``on_timeout`` is called (no arguments) when a deadline passes."""
        self._sock = sock
        self._on_timeout = on_timeout
        self.deadline: float | None = None

    def recv(self, size: int, *flags: int) -> bytes:
        """Read at most ``size`` bytes; b"" (end of stream) once the deadline has passed."""
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self._on_timeout()
                return b""
            self._sock.settimeout(remaining)
            try:
                return self._sock.recv(size, *flags)
            except TimeoutError:
                self._on_timeout()
                return b""
        return self._sock.recv(size, *flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class HeaderTimeoutThreadWorker(ThreadWorker):  # type: ignore[misc]
    """``gthread`` with a total deadline per request head and an I/O timeout after it."""

    def init_process(self) -> None:
        """Read the timeouts from the environment, then start as gthread does."""
        self.header_timeout = _seconds("REQUEST_HEADER_TIMEOUT", 10.0)
        self.io_timeout = _seconds("REQUEST_IO_TIMEOUT", 60.0)
        super().init_process()

    def _head_timed_out(self) -> None:
        self.log.warning("request head not received within %.1f s; closing", self.header_timeout)

    def handle(self, conn: Any) -> Any:
        """Arm the head deadline, then let gthread read and serve the request."""
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket(conn.sock, self._head_timed_out)
        conn.sock.deadline = time.monotonic() + self.header_timeout
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        """The head is in: the body and the response get a per-operation timeout instead."""
        if isinstance(conn.sock, DeadlineSocket):
            conn.sock.deadline = None
        conn.sock.settimeout(self.io_timeout)
        return super().handle_request(req, conn)
