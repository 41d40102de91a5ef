"""A gunicorn threaded worker that holds no thread while a request head trickles in (slowloris).

gunicorn's ``gthread`` worker parks idle connections in its poller, but once
a client has sent a few bytes a worker thread reads the rest with a blocking
``recv`` and no deadline: a dozen clients sending half a request header each
hold a dozen threads forever. This worker reads what has arrived without
blocking and, until the head is complete (a blank line), hands the
connection back to the poller: a slow client costs a buffer, not a thread.
Every request head gets ``REQUEST_HEADER_TIMEOUT`` seconds in total, however
the bytes trickle in; past that the connection is closed. Once the head is
in, the body and the response get ``REQUEST_IO_TIMEOUT`` per socket
operation, so a client that stops reading cannot hold a thread for long.

Use it with ``--worker-class serving.gunicorn_worker.HeaderTimeoutThreadWorker``
(``serving/gunicorn_conf.py`` does). Behind a buffering reverse proxy (nginx,
an ingress) the proxy absorbs slow clients before they reach gunicorn.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from typing import Any

from gunicorn.workers.gthread import _DEFER, ThreadWorker


def _seconds(variable: str, default: float) -> float:
    raw = os.environ.get(variable, "")
    try:
        value = float(raw) if raw.strip() else default
    except ValueError:
        raise SystemExit(f"{variable} must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= 3600:
        raise SystemExit(f"{variable} must be in (0, 3600] seconds, got {value}")
    return value


HEAD_END = b"\r\n\r\n"
# Past this many bytes without a blank line the parser takes over and answers 400 itself.
MAX_BUFFERED_HEAD = 64 * 1024


class DeadlineSocket:
    """A socket that serves the buffered start of a request before reading on."""

    def __init__(self, sock: socket.socket) -> None:
        """Wrap ``sock``."""
        self._sock = sock
        self.buffer = b""
        self.deadline: float | None = None

    def fill(self) -> bool:
        """Buffer every byte that has arrived, without blocking; False if the peer closed."""
        self._sock.setblocking(False)
        try:
            while len(self.buffer) <= MAX_BUFFERED_HEAD:
                chunk = self._sock.recv(65536)
                if not chunk:
                    return False
                self.buffer += chunk
        except (BlockingIOError, InterruptedError):
            pass
        return True

    @property
    def head_complete(self) -> bool:
        """Whether the buffer holds a whole request head (or too much to wait for)."""
        return HEAD_END in self.buffer or len(self.buffer) > MAX_BUFFERED_HEAD

    def recv(self, size: int, *flags: int) -> bytes:
        """The buffered bytes first, then the socket."""
        if self.buffer:
            data, self.buffer = self.buffer[:size], self.buffer[size:]
            return data
        return self._sock.recv(size, *flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _parser_has_buffered_bytes(conn: Any) -> bool:
    """A pipelined next request already read by gunicorn's parser (nothing more will arrive)."""
    unreader = getattr(getattr(conn, "parser", None), "unreader", None)
    buffered = getattr(unreader, "buf", None)
    return buffered is not None and len(buffered.getbuffer()) > 0


class HeaderTimeoutThreadWorker(ThreadWorker):  # type: ignore[misc]
    """``gthread`` that gathers request heads in the poller, with a total deadline each."""

    def init_process(self) -> None:
        """Read the timeouts from the environment, then start as gthread does."""
        self.header_timeout = _seconds("REQUEST_HEADER_TIMEOUT", 10.0)
        self.io_timeout = _seconds("REQUEST_IO_TIMEOUT", 60.0)
        super().init_process()

    def handle(self, conn: Any) -> Any:
        """Serve the request once its head is complete; until then, back to the poller."""
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket(conn.sock)
        sock: DeadlineSocket = conn.sock
        if sock.deadline is None:
            sock.deadline = time.monotonic() + self.header_timeout
        if not sock.head_complete and not _parser_has_buffered_bytes(conn):
            if not sock.fill():
                return False  # the client left
            if not sock.head_complete:
                if time.monotonic() >= sock.deadline:
                    self.log.warning(
                        "request head not received within %.1f s; closing", self.header_timeout
                    )
                    return False
                return _DEFER  # wait in the poller for more bytes, holding no thread
        conn.data_ready = True  # the bytes are in our buffer, not in the socket
        return super().handle(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        """As gthread, but a deferred head waits in the poller only until its deadline."""
        super().finish_request(conn, fs)
        sock = conn.sock
        waiting = isinstance(sock, DeadlineSocket) and sock.deadline is not None and sock.buffer
        if waiting and conn.timeout is not None and conn in self.pending_conns:
            conn.timeout = min(conn.timeout, sock.deadline)

    def murder_pending(self) -> None:
        """Close every waiting connection past its time (not only those at the queue's head)."""
        now = time.monotonic()
        for conn in [c for c in self.pending_conns if c.timeout <= now]:
            self.pending_conns.remove(conn)
            with contextlib.suppress(OSError, KeyError, ValueError):
                self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            if isinstance(conn.sock, DeadlineSocket) and conn.sock.buffer:
                self.log.warning(
                    "request head not received within %.1f s; closing", self.header_timeout
                )
            conn.close()

    def handle_request(self, req: Any, conn: Any) -> Any:
        """The head is in: the body and the response get a per-operation timeout instead."""
        if isinstance(conn.sock, DeadlineSocket):
            conn.sock.deadline = None  # the next request on this connection gets a fresh one
        conn.sock.settimeout(self.io_timeout)
        return super().handle_request(req, conn)
