"""Real servers for the production-serving tests: redis-server and gunicorn on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import requests

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GUNICORN = PROJECT_ROOT / ".venv" / "bin" / "gunicorn"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
START_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: Callable[[], T], what: str, timeout: float = 15.0) -> T:
    """Poll ``check`` until it returns something truthy (a deadline, never a bare sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _wait_for(check, what: str, process: subprocess.Popen[bytes], log: Path | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            detail = log.read_text()[-3000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"{what} exited with {process.returncode}: {detail}")
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {START_TIMEOUT_SECONDS} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class RedisServer:
    """A redis-server this test started."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def uri(self) -> str:
        """Its URI for RATE_LIMIT_STORAGE_URI."""
        return f"redis://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop it (idempotent)."""
        _stop(self.process)


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server(workdir: Path) -> Iterator[RedisServer]:
    """Run redis-server on a free 127.0.0.1 port, without persistence, for the block."""
    if not Path(REDIS_SERVER).exists():
        raise RuntimeError("redis-server is missing: run scripts/ensure_redis.sh")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = RedisServer(port, process)
    try:
        _wait_for(lambda: _redis_answers(port), "redis-server", process)
        yield server
    finally:
        server.stop()


@dataclass
class Gunicorn:
    """A gunicorn this test started with serving/gunicorn_conf.py."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        """Everything gunicorn and the app wrote to stdout and stderr so far."""
        return self.log.read_text(errors="replace")


@contextmanager
def gunicorn(
    env: Mapping[str, str], log: Path, probe_headers: Mapping[str, str] | None = None
) -> Iterator[Gunicorn]:
    """``gunicorn -c serving/gunicorn_conf.py 'serving.app:create_app()'`` for the block.

    ``probe_headers`` go with the readiness probes (a token keeps them off the public limit).
    """
    port = free_port()
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PORT": str(port),
        "PYTHONPATH": str(PROJECT_ROOT),
        **env,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(GUNICORN), "-c", str(PROJECT_ROOT / "serving" / "gunicorn_conf.py"),
             "serving.app:create_app()"],
            cwd=PROJECT_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Gunicorn(port, process, log)

    def healthy() -> bool:
        try:
            response = requests.get(
                f"{server.url}/api/v1/health", headers=dict(probe_headers or {}), timeout=2
            )
            return response.status_code < 500
        except requests.RequestException:
            return False

    try:
        _wait_for(healthy, "gunicorn", process, log)
        yield server
    finally:
        _stop(process)
