"""Launch the batch (``spark-submit.sh run_all``) as a separate process, one per tenant.

The API never runs Spark itself. A per-tenant lock file created with
``O_EXCL`` and holding the child's pid makes "already running" visible to
every gunicorn worker, not just the one that launched the run; a lock whose
process is gone is stale and is replaced.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jobs.processes import pid_alive


class RunAlreadyActiveError(Exception):
    """A run for this tenant is still going."""


class LaunchFailedError(Exception):
    """The submit script could not be started."""


@dataclass(frozen=True)
class LaunchRequest:
    """What to run."""

    tenant_id: str
    privacy_level: str
    start: date
    end: date


class EtlLauncher:
    """Starts runs, remembers its children and refuses a second run per tenant."""

    def __init__(self, submit_script: Path, lock_dir: Path, log_dir: Path) -> None:
        """Prepare the launcher (directories are created on first launch).

        Args:
            submit_script: ``ETL_SUBMIT_SCRIPT``.
            lock_dir: Where per-tenant lock files live.
            log_dir: Where each run's stdout/stderr go.
        """
        self.submit_script = submit_script
        self.lock_dir = lock_dir
        self.log_dir = log_dir
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def _lock_path(self, tenant_id: str) -> Path:
        return self.lock_dir / f"{tenant_id}.pid"

    def is_running(self, tenant_id: str) -> bool:
        """Whether a run this app (any worker) launched for ``tenant_id`` is still alive."""
        child = self._children.get(tenant_id)
        if child is not None and child.poll() is None:
            return True
        self._children.pop(tenant_id, None)
        return self._live_lock_pid(tenant_id) is not None

    def _live_lock_pid(self, tenant_id: str) -> int | None:
        try:
            pid = int(self._lock_path(tenant_id).read_text().strip() or "0")
        except (FileNotFoundError, ValueError):
            return None
        if pid > 0 and pid_alive(pid) and not self._is_zombie(pid):
            return pid
        return None

    @staticmethod
    def _is_zombie(pid: int) -> bool:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return False
        return fields[0] == "Z"

    def command(self, request: LaunchRequest, run_id: str) -> list[str]:
        """The exact argv of a run (the contract with ``jobs.run_all``)."""
        return [
            str(self.submit_script), "run_all",
            "--tenant", request.tenant_id,
            "--privacy-level", request.privacy_level,
            "--start", request.start.isoformat(),
            "--end", request.end.isoformat(),
            "--run-id", run_id,
        ]  # fmt: skip

    def launch(self, request: LaunchRequest) -> str:
        """Start a run and return its run id.

        Raises:
            RunAlreadyActiveError: A run for the tenant is alive.
            LaunchFailedError: The script is missing or not executable.
        """
        with self._lock:
            if self.is_running(request.tenant_id):
                raise RunAlreadyActiveError(request.tenant_id)
            self.lock_dir.mkdir(parents=True, exist_ok=True)
            self.log_dir.mkdir(parents=True, exist_ok=True)
            lock_path = self._lock_path(request.tenant_id)
            with contextlib.suppress(FileNotFoundError):
                lock_path.unlink()  # stale: is_running found no live process behind it
            try:
                fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            except FileExistsError:
                raise RunAlreadyActiveError(request.tenant_id) from None
            run_id = f"api-{uuid.uuid4()}"
            try:
                with (self.log_dir / f"{run_id}.log").open("wb") as log:
                    child = subprocess.Popen(
                        self.command(request, run_id),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,  # survives a worker restart; not killed with it
                        close_fds=True,
                    )
            except OSError as error:
                os.close(fd)
                lock_path.unlink(missing_ok=True)
                message = f"cannot start {self.submit_script.name}: {error.strerror}"
                raise LaunchFailedError(message) from None
            os.write(fd, str(child.pid).encode())
            os.close(fd)
            self._children[request.tenant_id] = child
            return run_id
