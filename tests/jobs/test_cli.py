"""Runners fail fast and clearly on bad flags or configuration, before Spark starts."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from jobs import run_all, session_daily
from jobs.cli import EXIT_USAGE

ROOT = Path(__file__).resolve().parents[2]


def test_help_explains_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        run_all.main(["--help"])
    assert raised.value.code == 0
    out = capsys.readouterr().out
    for flag in (
        "--start",
        "--end",
        "--tenant",
        "--privacy-level",
        "--run-id",
        "--force",
        "--data-root",
    ):
        assert flag in out


def test_end_before_start_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = session_daily.main(["--start", "2025-02-01", "--end", "2025-01-01"])
    assert code == EXIT_USAGE
    assert "--end 2025-01-01 is before --start 2025-02-01" in capsys.readouterr().err


def test_invalid_setting_names_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIN_COHORT_SIZE", "one")
    code = session_daily.main(["--start", "2025-01-01", "--end", "2025-01-31"])
    assert code == EXIT_USAGE
    assert "MIN_COHORT_SIZE" in capsys.readouterr().err


def test_secret_key_never_echoed_in_configuration_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSEUDONYM_KEY", "super-secret-value-that-must-not-leak-0123456789")
    monkeypatch.setenv("DP_EPSILON_BUDGET", "-1")
    assert session_daily.main(["--start", "2025-01-01", "--end", "2025-01-31"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "DP_EPSILON_BUDGET" in err and "super-secret" not in err


@pytest.mark.spark  # spark-submit.sh starts a JVM in a child process
def test_spark_submit_ships_the_packages_and_runs_the_entrypoint(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ROOT / "spark-submit.sh"), "--master", "local[1]", "run_all", "--help"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
        env={**os.environ, "ANALYTICS_DIST_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--privacy-level" in result.stdout
    bundle = tmp_path / "analytics-packages.zip"
    with zipfile.ZipFile(bundle) as shipped:  # the project wheel, under a name PySpark imports
        names = shipped.namelist()
    assert "jobs/entrypoint.py" in names and "conf/bounds.toml" in names
    assert any(n.endswith(".dist-info/METADATA") for n in names)
    assert not any(n.startswith("tests/") for n in names)


@pytest.mark.spark  # spark-submit.sh starts a JVM in each child process
def test_runs_started_at_once_share_one_wheel_build(tmp_path: Path) -> None:
    """Three submissions from one checkout at once, no wheel built yet: one builds it
    while the others wait (without the lock they deleted each other's wheel)."""
    env = {**os.environ, "ANALYTICS_DIST_DIR": str(tmp_path)}
    command = [str(ROOT / "spark-submit.sh"), "--master", "local[1]", "run_all", "--help"]
    children = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-2000:]
        assert "--privacy-level" in out
    assert len(list(tmp_path.glob("privacy_learning_analytics-*.whl"))) == 1
    with zipfile.ZipFile(tmp_path / "analytics-packages.zip") as shipped:
        assert shipped.testzip() is None and "jobs/entrypoint.py" in shipped.namelist()


def test_spark_submit_rejects_unknown_jobs() -> None:
    result = subprocess.run(
        [str(ROOT / "spark-submit.sh"), "--master", "local[1]", "drop_tables"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert "job is one of" in result.stderr
