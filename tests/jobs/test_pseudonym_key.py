"""The pseudonym key is resolved before Spark starts: development demo key, production refusal."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

import jobs.pseudonym_key as pseudonym_key
from conf.settings import load_settings
from privacy_udfs.keys import PseudonymKeyError

ROOT = Path(__file__).resolve().parents[2]
KEY_VARIABLES = ("PSEUDONYM_KEY", "PSEUDONYM_KEY_FILE", "ANALYTICS_ENV")
DEMO_KEY = secrets.token_hex(32)
OTHER_KEY = secrets.token_hex(32)


@pytest.fixture
def no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def demo_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key_file = tmp_path / "secrets" / "pseudonym.key"
    key_file.parent.mkdir()
    key_file.write_text(DEMO_KEY + "\n")
    monkeypatch.setattr(pseudonym_key, "DEV_KEY_FILE", key_file)
    return key_file


@pytest.mark.usefixtures("no_key_env")
def test_development_finds_the_demo_key_outside_the_data_root(
    demo_key: Path, tmp_path: Path
) -> None:
    settings = load_settings(data_root=str(tmp_path / "data"))
    assert settings.environment == "development"
    assert pseudonym_key.configured_key_file(settings) == demo_key
    assert pseudonym_key.resolve_pseudonym_key(settings).secret == DEMO_KEY.encode()
    assert not demo_key.is_relative_to(tmp_path / "data")


@pytest.mark.usefixtures("no_key_env", "demo_key")
def test_production_never_uses_the_demo_key(tmp_path: Path) -> None:
    settings = load_settings(data_root=str(tmp_path / "data"), ANALYTICS_ENV="production")
    with pytest.raises(PseudonymKeyError, match="PSEUDONYM_KEY or PSEUDONYM_KEY_FILE"):
        pseudonym_key.resolve_pseudonym_key(settings)


@pytest.mark.usefixtures("no_key_env")
def test_development_without_a_demo_key_names_make_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pseudonym_key, "DEV_KEY_FILE", tmp_path / "absent.key")
    with pytest.raises(PseudonymKeyError, match="make demo"):
        pseudonym_key.resolve_pseudonym_key(load_settings(data_root=str(tmp_path)))


def test_configured_key_wins_over_the_demo_key(
    demo_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PSEUDONYM_KEY_FILE", raising=False)
    monkeypatch.setenv("PSEUDONYM_KEY", OTHER_KEY)
    key = pseudonym_key.resolve_pseudonym_key(load_settings(data_root=str(tmp_path)))
    assert key.secret == OTHER_KEY.encode()


@pytest.mark.parametrize("module", ["jobs.run_all", "jobs.plan"])
def test_missing_key_in_production_fails_in_seconds_before_spark_and_the_ledger(
    tmp_path: Path, module: str
) -> None:
    """No JVM, no job_runs row: the run (or its plan) is refused at the configuration
    check (exit 2), with the error's message and no traceback."""
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
    env["ANALYTICS_ENV"] = "production"
    data_root = tmp_path / "data"
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            module,
            "--start",
            "2025-01-06",
            "--end",
            "2025-01-12",
            "--privacy-level",
            "dp_high",
            "--data-root",
            str(data_root),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    assert "No pseudonym key configured" in result.stderr
    assert elapsed < 20, f"took {elapsed:.1f}s: the key must be checked before Spark starts"
    assert not (data_root / "ops").exists()
    assert "SparkContext" not in result.stderr
    assert "Traceback" not in result.stderr
