"""The run queue and its worker, without Spark: claims, leases, dead workers, launch errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conf.settings import load_settings
from jobs.run_queue import RunQueue, RunRequest, stale_run_ids, utc_now
from jobs.worker import Worker, WorkerOptions, child_environment
from jobs.worker import main as worker_main
from tests.serving.live import wait_for

REPO = Path(__file__).resolve().parents[2]
TENANT = "00000000-0000-4000-8000-00000000000a"
LEASE = dt.timedelta(seconds=2)


def _request(tenant: str = TENANT, request_id: str | None = None) -> RunRequest:
    return RunRequest(
        request_id=request_id or str(uuid.uuid4()),
        tenant_id=tenant,
        privacy_level="anonymized",
        period_start=dt.date(2025, 1, 6),
        period_end=dt.date(2025, 1, 12),
        requested_by="admin",
        requested_at=utc_now(),
    )


def _queue(tmp_path: Path) -> RunQueue:
    return RunQueue(str(tmp_path / "data" / "ops" / "run_requests"))


def test_enqueue_is_idempotent_per_request_id(tmp_path):
    queue = _queue(tmp_path)
    request = _request()
    stored, created = queue.enqueue(request)
    again, created_again = queue.enqueue(request)
    assert created and not created_again
    assert stored == again
    assert stored.status == "queued" and stored.run_id == request.request_id
    assert len(queue.requests()) == 1


def _claim_all(path: str, worker: str, start: threading.Barrier) -> list[str]:
    """Claim until the queue is empty; return the request ids this worker won."""
    queue = RunQueue(path)  # its own DeltaTable handles: Delta's commit protocol decides
    won: list[str] = []
    start.wait()
    misses = 0
    while misses < 3:
        claim = queue.claim(worker, dt.timedelta(minutes=5))
        if claim is None:
            misses += 1
            time.sleep(0.05)
            continue
        assert claim.worker_id == worker
        won.append(claim.request_id)
    return won


def test_two_workers_never_claim_the_same_request(tmp_path):
    queue = _queue(tmp_path)
    ids = [queue.enqueue(_request(f"{n:08x}-0000-4000-8000-00000000000a"))[0].request_id
           for n in range(8)]  # fmt: skip
    start = threading.Barrier(4)
    with ThreadPoolExecutor(max_workers=4) as pool:  # delta-rs commits outside the GIL
        futures = [pool.submit(_claim_all, queue.path, f"worker-{n}", start) for n in range(4)]
        results = [f.result(timeout=120) for f in futures]
    claimed = [request_id for won in results for request_id in won]
    assert sorted(claimed) == sorted(ids)  # every request claimed exactly once
    assert len(set(claimed)) == len(claimed)
    by_worker = {r.request_id: r.worker_id for r in queue.requests()}
    for n, won in enumerate(results):
        assert all(by_worker[request_id] == f"worker-{n}" for request_id in won)


def test_a_stale_claim_loses_the_compare_and_swap(tmp_path):
    queue = _queue(tmp_path)
    queue.enqueue(_request())
    first = queue.claim("a", dt.timedelta(seconds=0.2))
    assert first is not None
    # Claimable again once the short lease runs out (polled, not slept).
    second = wait_for(lambda: queue.claim("b", LEASE), timeout=10, what="the lease to expire")
    assert second.worker_id == "b"
    # The first worker wakes up: its heartbeat and its outcome are refused.
    assert queue.heartbeat(first, LEASE) is None
    assert not queue.finish(first, "succeeded")
    assert queue.finish(second, "succeeded")
    assert queue.requests()[0].status == "succeeded"


def _fake_submit_script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-submit.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_worker_killed_mid_run_leaves_the_request_reclaimable_after_the_lease(tmp_path):
    queue = _queue(tmp_path)
    request, _ = queue.enqueue(_request())
    pid_file = tmp_path / "run.pid"
    script = _fake_submit_script(tmp_path, f'echo $$ > "{pid_file}"\nexec sleep 600\n')
    worker = subprocess.Popen(
        [sys.executable, "-m", "jobs.worker", "--once", "--lease-seconds", "2",
         "--submit-script", str(script), "--data-root", str(tmp_path / "data")],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        run_pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(),
                                what="the run to start", timeout=30))  # fmt: skip
        claimed = queue.get(request.request_id)
        assert claimed is not None and claimed.status == "running" and claimed.attempt == 1
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.stderr.close()  # type: ignore[union-attr]
    # The run died with its worker (no orphan keeps writing under a lost claim).
    wait_for(lambda: not Path(f"/proc/{run_pid}").exists() or _is_zombie(run_pid),
              what="the run to die with its worker", timeout=30)  # fmt: skip

    assert queue.claim("other", LEASE) is None  # the lease still holds
    reclaimed = wait_for(lambda: queue.claim("other", LEASE), timeout=15,
                          what="the 2 s lease to expire")  # fmt: skip
    assert reclaimed.request_id == request.request_id
    assert reclaimed.attempt == 2 and reclaimed.worker_id == "other"
    assert reclaimed.run_id != request.request_id
    assert reclaimed.previous_run_ids == (request.request_id,)
    # The dead attempt is stale everywhere: job_runs marks it abandoned on any host.
    assert request.request_id in stale_run_ids(queue.requests(), utc_now())


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def test_a_request_is_given_up_after_max_attempts(tmp_path):
    queue = _queue(tmp_path)
    request, _ = queue.enqueue(_request())
    short = dt.timedelta(seconds=0.1)
    for attempt in (1, 2):
        claim = wait_for(lambda n=attempt: queue.claim(f"w{n}", short, max_attempts=2),
                          timeout=10, what=f"claim {attempt}")  # fmt: skip
        assert claim.attempt == attempt

    def refused_and_given_up() -> bool:
        # Never claimed a third time; given up once the second lease runs out.
        assert queue.claim("w3", short, max_attempts=2) is None
        current = queue.get(request.request_id)
        return current is not None and current.status == "abandoned"

    wait_for(refused_and_given_up, timeout=10, what="the last lease to expire")
    given_up = queue.get(request.request_id)
    assert given_up is not None and given_up.status == "abandoned"
    assert "2 attempt(s)" in (given_up.error_message or "")
    assert len(given_up.previous_run_ids) == 2


def test_worker_records_a_launch_failure_with_its_error(tmp_path):
    queue = _queue(tmp_path)
    queue.enqueue(_request())
    settings = load_settings(data_root=str(tmp_path / "data"))
    options = WorkerOptions(lease=LEASE, submit_script=tmp_path / "no-such-submit.sh")
    outcome = Worker(queue, settings, options).run_once()
    assert outcome is not None and outcome.status == "failed"
    assert "cannot start" in (outcome.error_message or "")
    assert "no-such-submit.sh" in (outcome.error_message or "")


def test_worker_records_a_run_that_exits_without_an_outcome(tmp_path):
    queue = _queue(tmp_path)
    queue.enqueue(_request())
    script = _fake_submit_script(tmp_path, 'echo "java: command not found" >&2\nexit 127\n')
    settings = load_settings(data_root=str(tmp_path / "data"))
    outcome = Worker(queue, settings, WorkerOptions(lease=LEASE, submit_script=script)).run_once()
    assert outcome is not None and outcome.status == "failed"
    assert "code 127" in (outcome.error_message or "")
    assert "java: command not found" in (outcome.error_message or "")


def test_the_run_gets_the_job_settings_and_no_api_secrets(tmp_path):
    queue = _queue(tmp_path)
    request, _ = queue.enqueue(_request())
    dump = tmp_path / "env.json"
    script = _fake_submit_script(
        tmp_path,
        f'"{sys.executable}" -c "import json, os, sys; json.dump(dict(os.environ), '
        f"open('{dump}', 'w')); print(sys.argv)\" \"$@\"\n",
    )
    environ = {
        "PATH": os.environ["PATH"],
        "JWT_SECRET": "s3cret-jwt-" + "x" * 30,
        "EXPORT_KEY": "s3cret-export-" + "y" * 30,
        "RATE_LIMIT_STORAGE_URI": "redis://user:pw@127.0.0.1:6379/0",
        "PSEUDONYM_KEY": "k" * 40,
        "SPARK_MASTER": "local[1]",
        "AWS_ACCESS_KEY_ID": "AKIA-test",
    }
    settings = load_settings(data_root=str(tmp_path / "data"))
    Worker(queue, settings, WorkerOptions(lease=LEASE, submit_script=script), environ).run_once()
    seen = json.loads(dump.read_text())
    assert "JWT_SECRET" not in seen and "EXPORT_KEY" not in seen
    assert "RATE_LIMIT_STORAGE_URI" not in seen
    assert seen["PSEUDONYM_KEY"] == "k" * 40 and seen["SPARK_MASTER"] == "local[1]"
    assert seen["AWS_ACCESS_KEY_ID"] == "AKIA-test"
    assert seen["DATA_ROOT"] == settings.data_root
    assert child_environment({"JWT_SECRET": "x", "LANG": "C"}) == {"LANG": "C"}
    stored = queue.get(request.request_id)
    assert stored is not None and stored.status == "failed"  # wrote no job_runs row


@pytest.mark.parametrize("bad", ["--lease-seconds=0", "--max-attempts=0", "--poll-seconds=-1"])
def test_worker_rejects_bad_options(bad, tmp_path, capsys):
    assert worker_main(["--once", bad, "--data-root", str(tmp_path)]) == 2
    assert "must be" in capsys.readouterr().err
