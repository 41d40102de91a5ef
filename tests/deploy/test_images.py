"""Smoke tests of the built images (slow; `make test-images` builds the images and runs these).

The api image answers /api/v1/health inside its container through its own HEALTHCHECK
command; the jobs image generates demo data and runs run_all through its entrypoint
(spark-submit.sh) with a read-only root filesystem. Containers run with podman; on hosts
whose kernel refuses podman's defaults (cgroup v1 "hybrid" layout, no CAP_SYS_RESOURCE for
rlimits) IMAGE_RUN_OPTIONS carries the options that work (the defaults below work here).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from contracts.versions import PACKAGE_VERSION

pytestmark = [
    pytest.mark.image,
    pytest.mark.skipif(
        os.environ.get("ANALYTICS_IMAGE_TESTS") != "1",
        reason="image smoke tests run with `make test-images` (ANALYTICS_IMAGE_TESTS=1)",
    ),
]

TOOL = os.environ.get("IMAGE_TOOL", "podman")
TAG = os.environ.get("IMAGE_TAG", PACKAGE_VERSION)
API_IMAGE = f"localhost/analytics-api:{TAG}"
JOBS_IMAGE = f"localhost/analytics-jobs:{TAG}"
GLOBAL_OPTIONS = shlex.split(
    os.environ.get("IMAGE_GLOBAL_OPTIONS", "--runtime runc --cgroup-manager cgroupfs")
)
RUN_OPTIONS = shlex.split(
    os.environ.get("IMAGE_RUN_OPTIONS", "--ulimit nofile=4096:4096 --ulimit nproc=4096:4096")
)
HARDENED = ["--read-only", "--tmpfs", "/tmp:rw,size=2g", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges"]  # fmt: skip


def _podman(
    *args: str, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [TOOL, *GLOBAL_OPTIONS, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        pytest.fail(f"{TOOL} {' '.join(args)} failed ({result.returncode}):\n"
                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")  # fmt: skip
    return result


def _run(image: str, *args: str, volume: Path | None = None, env: dict[str, str] | None = None,
         entrypoint: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:  # fmt: skip
    options = ["run", "--rm", *RUN_OPTIONS, *HARDENED]
    if volume is not None:
        options += ["--volume", f"{volume}:/data"]
    for name, value in (env or {}).items():
        options += ["--env", f"{name}={value}"]
    if entrypoint is not None:
        options += ["--entrypoint", entrypoint]
    return _podman(*options, image, *args, timeout=timeout)


def _data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)  # the images run as uid 10001
    return data


def test_images_exist_and_report_their_sizes():
    for image in (API_IMAGE, JOBS_IMAGE):
        info = json.loads(_podman("image", "inspect", image).stdout)[0]
        size_mb = info["Size"] / 1e6
        print(f"{image}: {size_mb:.0f} MB")
        assert info["Config"]["User"] == "10001:10001"


def test_api_image_has_no_java_and_no_checkout_files():
    found = _run(API_IMAGE, "sh", "-c",
                 "command -v java; find / -xdev \\( -name .git -o -name tests -path '*site-packages/tests' "
                 "-o -name 'requirements*.txt' -o -name .env \\) -print 2>/dev/null; "
                 "/opt/venv/bin/python -c 'import pyspark' 2>&1 | tail -1")  # fmt: skip
    lines = found.stdout.split("\n")
    assert not any(line.endswith("/java") for line in lines), found.stdout
    assert ".git" not in found.stdout and "site-packages/tests" not in found.stdout
    assert "No module named 'pyspark'" in found.stdout


def test_api_image_answers_health_through_its_healthcheck(tmp_path):
    data = _data_dir(tmp_path)
    name = f"analytics-api-smoke-{uuid.uuid4().hex[:8]}"
    _podman("run", "--detach", "--name", name, *RUN_OPTIONS, *HARDENED,
            "--volume", f"{data}:/data", "--env", f"JWT_SECRET={secrets.token_hex(32)}",
            API_IMAGE)  # fmt: skip
    try:
        check = json.loads(_podman("inspect", name).stdout)[0]["Config"]["Healthcheck"]["Test"]
        assert check[0] == "CMD" and "/api/v1/health" in " ".join(check)
        deadline = time.monotonic() + 180
        while True:
            probe = _podman("exec", name, *check[1:], check=False, timeout=60)
            if probe.returncode == 0:
                break
            if time.monotonic() > deadline:
                logs = _podman("logs", name, check=False).stderr[-3000:]
                pytest.fail(f"health never answered: {probe.stderr[-1000:]}\n{logs}")
            time.sleep(2)
        body = _podman("exec", name, "python3", "-c",
                       "import urllib.request; print(urllib.request.urlopen("
                       "'http://127.0.0.1:8000/api/v1/health', timeout=5).read().decode())").stdout  # fmt: skip
        assert '"status"' in body
        processes = _podman("exec", name, "ps", "-o", "user=", "-e", check=False)
        assert processes.returncode != 0 or "root" not in processes.stdout
    finally:
        _podman("rm", "--force", name, check=False)


def test_jobs_image_runs_run_all_on_demo_data(tmp_path):
    data = _data_dir(tmp_path)
    env = {"PSEUDONYM_KEY": secrets.token_hex(32), "SPARK_SHUFFLE_PARTITIONS": "2"}
    _run(JOBS_IMAGE, "--master", "local[1]", "generate", "--events", "3000", "--days", "14",
         "--tenants", "2", "--out", "/data/raw", volume=data, env=env, timeout=1800)  # fmt: skip
    run_id = str(uuid.uuid4())
    result = _run(JOBS_IMAGE, "--master", "local[1]", "run_all", "--start", "2025-01-06",
                  "--end", "2025-01-19", "--privacy-level", "anonymized", "--run-id", run_id,
                  volume=data, env=env, timeout=2400)  # fmt: skip
    assert f"run {run_id}: succeeded" in result.stdout, result.stdout[-2000:]

    from deltalake import DeltaTable

    from jobs.run_queue import read_whole

    runs = read_whole(DeltaTable(str(data / "ops" / "job_runs"))).to_pylist()
    assert [(r["run_id"], r["status"]) for r in runs] == [(run_id, "succeeded")]
    assert (data / "curated" / "session_daily" / "_delta_log").is_dir()
