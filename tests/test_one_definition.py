"""Facts shared by the packages are defined once (contracts/) and the others derive them."""

from __future__ import annotations

import secrets
import tomllib
from pathlib import Path

import jobs.transforms.learner_snapshots as snapshots
import jobs.transforms.weekly_active as weekly
import privacy_udfs.generalize as generalize
from contracts import bands
from contracts.versions import PACKAGE_VERSION

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_version_is_pyprojects_everywhere(tmp_path: Path) -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert declared == PACKAGE_VERSION
    from serving.app import create_app

    app = create_app({"JWT_SECRET": secrets.token_urlsafe(48), "DATA_ROOT": str(tmp_path)})
    spec = app.test_client().get("/docs/openapi.json").get_json()
    assert spec["info"]["version"] == declared


def test_bands_are_the_contracts_lists() -> None:
    assert generalize.AGE_BANDS is bands.AGE_BANDS and weekly.AGE_BANDS is bands.AGE_BANDS
    assert generalize.GRADE_BANDS is bands.GRADE_BANDS and weekly.GRADE_BANDS is bands.GRADE_BANDS
    assert snapshots.COARSE_AGE is bands.COARSE_AGE
    assert set(bands.COARSE_AGE) == set(bands.AGE_BANDS)
    assert set(bands.COARSE_GRADE) == set(bands.GRADE_BANDS)


def test_clamps_the_contracts_state_are_the_configured_ones() -> None:
    """The data dictionary states some clamps (contracts cannot import conf): they match."""
    from conf.bounds import load_job_bounds
    from contracts.curated import CURATED_TABLES

    def described(table: str, column: str) -> str:
        return next(c.comment for c in CURATED_TABLES[table].columns if c.name == column)

    bounds = load_job_bounds()
    weekly_minutes = f"[0, {bounds['weekly_active'].upper:g}] minutes"
    assert weekly_minutes in described("weekly_active", "avg_minutes_per_learner")
    weekly_sessions = f"[0, {weekly.MAX_SESSIONS_PER_WEEK:g}] sessions"
    assert weekly_sessions in described("weekly_active", "avg_sessions_per_learner")
    progress = f"[0, {bounds['iep_progress'].upper:g}]"
    assert progress in described("iep_progress", "mean_progress_pct")
    session = f"[0, {bounds['session_daily'].upper:g}]"
    assert session in described("session_daily", "avg_duration_minutes")
