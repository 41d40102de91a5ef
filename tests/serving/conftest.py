"""Per-test app fixtures over small real Delta tables (flask tutorial style)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from serving.app import create_app
from serving.tokens import Role, mint_token
from tests.serving.curated_data import write_table

SECRET = "Yq3vN8sK2pL6tR0wX4zB7cF1hJ5mD9gQ2nV6xT8kP3rW0sY4uE7aC1"
EXPORT_KEY = "2b7e151628aed2a6abf7158809cf4f3c9d41e6a0b57c2f83"
TENANT_A = "11111111-1111-4111-8111-111111111111"
TENANT_B = "22222222-2222-4222-8222-222222222222"
LEARNER_A = "a" * 64
LEARNER_B = "b" * 64
PERIOD_START = date(2025, 1, 1)
PERIOD_END = date(2025, 1, 31)
SUBJECTS = ("math", "reading", "science")


def _session_rows(tenant: str) -> list[dict[str, Any]]:
    rows = []
    for offset in range(31):
        day = PERIOD_START + timedelta(days=offset)
        for level, epsilon, scales in (
            ("anonymized", 0.0, None),
            ("dp_medium", 1.0, {"sessions": 2.0, "total_hours": 0.5}),
        ):
            noise = (
                {"noise_mechanism": "discrete_laplace",
                 "ci95": {"sessions": 6.0, "total_hours": 1.5}}
                if scales else {}
            )  # fmt: skip
            rows.append({
                "tenant_id": tenant, "activity_date": day, "subject": "all",
                "sessions": 100 + offset, "active_learners": 40,
                "avg_duration_minutes": 30.0, "median_duration_minutes": 20.0 + offset % 3,
                "p90_duration_minutes": 50.0, "max_duration_minutes": 90.0,
                "total_hours": 50.0, "trend_direction": "up" if offset == 30 else "flat",
                "privacy_level": level, "epsilon": epsilon, "noise_scales": scales, **noise,
            })  # fmt: skip
            rows.append({
                "tenant_id": tenant, "activity_date": day, "subject": "math",
                "sessions": 10, "active_learners": 8, "total_hours": 5.0,
                "privacy_level": level, "epsilon": epsilon,
            })  # fmt: skip
    return rows


def _summary_rows(tenant: str) -> list[dict[str, Any]]:
    # January only; tenant B's month has 4 learners: suppressed.
    small = tenant == TENANT_B
    exact = {"active_learners": 300, "sessions": 2600, "total_hours": 1450.0,
             "avg_sessions_per_learner": 2600 / 300, "avg_minutes_per_learner": 290.0,
             "avg_session_minutes": 1450.0 * 60 / 2600}  # fmt: skip
    return [
        {"tenant_id": tenant, "period_start": PERIOD_START, "period_end": PERIOD_END,
         **({k: None for k in exact} if small else exact),
         "insufficient_data": small, "privacy_level": level, "epsilon": epsilon,
         "noise_scales": scales or {},
         "ci95": {k: 1.959964 * v for k, v in (scales or {}).items()},
         "noise_mechanism": "discrete_gaussian" if scales else "none"}
        for level, epsilon, scales in (
            ("anonymized", 0.0, None),
            ("dp_medium", 1.0, {"active_learners": 12.0, "sessions": 360.0, "total_hours": 200.0}),
        )
    ]  # fmt: skip


def _weekly_rows(tenant: str) -> list[dict[str, Any]]:
    rows = []
    for week in range(5):
        start = date(2024, 12, 30) + timedelta(weeks=week)
        small = week == 4  # the last week has 3 learners: suppressed
        rows.append({
            "tenant_id": tenant, "week_start": start, "iso_week": f"2025-W{week + 1:02d}",
            "active_learners": 3 if small else 60 + week, "new_learners": 1 if small else 5,
            "returning_learners": 2 if small else 55, "churned_learners": 0 if small else 2,
            "avg_sessions_per_learner": 3.0, "avg_minutes_per_learner": 90.0,
            "engagement_rate": 0.5 + week / 100,
        })  # fmt: skip
    return rows


def _mastery_rows(tenant: str) -> list[dict[str, Any]]:
    rows = [{"tenant_id": tenant, "subject": "all", "period_start": PERIOD_START,
             "period_end": PERIOD_END, "learners_assessed": 70, "mean_mastery": 71.0}]  # fmt: skip
    for index, subject in enumerate(SUBJECTS):
        rows.append({
            "tenant_id": tenant, "subject": subject, "period_start": PERIOD_START,
            "period_end": PERIOD_END, "learners_assessed": 30 - index * 13,
            "assessments_completed": 100, "mean_mastery": 70.0 + index,
            "improvement_delta": 1.5,
        })  # fmt: skip
    return rows


def _iep_rows(tenant: str) -> list[dict[str, Any]]:
    return [
        {"tenant_id": tenant, "iep_category": "reading_fluency", "period_start": PERIOD_START,
         "period_end": PERIOD_END, "learners_with_goals": 12, "mean_progress_pct": 55.0,
         "share_on_track": 0.6},
        {"tenant_id": tenant, "iep_category": "behavior", "period_start": PERIOD_START,
         "period_end": PERIOD_END, "learners_with_goals": 2, "mean_progress_pct": 80.0,
         "share_on_track": 1.0},
    ]  # fmt: skip


def _learner_rows() -> list[dict[str, Any]]:
    return [
        {"learner_id_hash": learner, "tenant_id": tenant, "period_start": PERIOD_START,
         "period_end": PERIOD_END, "key_version": "v1", "age_band": "13_17",
         "grade_band": "6-8", "has_iep": False, "sessions": 12, "learning_minutes": 300.0,
         "lessons_completed": 7, "assessments_completed": 3,
         "mastery_by_subject": {"math": 81.0, "reading": 64.0},
         "iep_mean_progress_pct": None, "data_completeness": 0.97,
         "aggregation_level": "individual"}
        for learner, tenant in ((LEARNER_A, TENANT_A), (LEARNER_B, TENANT_B))
    ]  # fmt: skip


def _public_rows() -> list[dict[str, Any]]:
    return [
        {"metric_key": key, "period_start": PERIOD_START, "period_end": PERIOD_END,
         "metric_value": value, "display_label": label, "display_order": order,
         "privacy_level": level, "epsilon": epsilon}
        for order, (key, label, value) in enumerate(
            (("active_learners", "Active learners", 1234.0),
             ("lessons_completed", "Lessons completed", 56789.0))
        )
        for level, epsilon in (("anonymized", 0.0), ("dp_medium", 1.0))
    ]  # fmt: skip


def seed_curated(root: Path) -> None:
    """Write every curated table and both ledgers with a small, known dataset."""
    for tenant in (TENANT_A, TENANT_B):
        write_table(root, "session_daily", _session_rows(tenant))
        write_table(root, "session_summary", _summary_rows(tenant))
        write_table(root, "weekly_active", _weekly_rows(tenant))
        write_table(root, "mastery_progress", _mastery_rows(tenant))
        write_table(root, "iep_progress", _iep_rows(tenant))
        write_table(root, "course_metrics", [
            {"tenant_id": tenant, "course_id": "c0ffee00-0000-4000-8000-000000000001",
             "course_name": "Algebra I", "subject": "math", "difficulty": "introductory",
             "period_start": PERIOD_START, "period_end": PERIOD_END, "enrolled_learners": 25,
             "completion_rate": 0.4, "mean_mastery": 72.0, "privacy_level": level,
             "epsilon": epsilon}
            for level, epsilon in (("anonymized", 0.0), ("dp_medium", 1.0))
        ])  # fmt: skip
    write_table(root, "learner_snapshots", _learner_rows())
    write_table(root, "platform_daily", [
        {"activity_date": PERIOD_START + timedelta(days=d), "active_learners": 500,
         "active_tenants": 2, "sessions": 900, "total_hours": 400.0, "privacy_level": level,
         "epsilon": epsilon}
        for d in range(31)
        for level, epsilon in (("anonymized", 0.0), ("dp_medium", 1.0))
    ])  # fmt: skip
    write_table(root, "public_metrics", _public_rows())
    write_table(root, "job_runs", [
        {"run_id": "run-1", "job_name": "session_daily", "tenant_id": TENANT_A,
         "tenant_ids": [TENANT_A],
         "period_start": PERIOD_START, "period_end": PERIOD_END, "privacy_level": "anonymized",
         "status": "succeeded", "started_at": datetime(2025, 2, 1, 2, 0, tzinfo=UTC),
         "finished_at": datetime(2025, 2, 1, 2, 5, tzinfo=UTC), "rows_read": 1000},
        {"run_id": "run-2", "job_name": "mastery_progress", "tenant_id": TENANT_B,
         "period_start": PERIOD_START, "period_end": PERIOD_END, "privacy_level": "dp_low",
         "status": "failed", "started_at": datetime(2025, 2, 2, 2, 0, tzinfo=UTC),
         "error_message": "budget exceeded"},
    ])  # fmt: skip
    write_table(root, "tenants", [
        {"tenant_id": tenant, "name": name, "state_province": "OR", "joined_on": date(2024, 8, 1),
         "learners": learners, "updated_at": datetime(2025, 2, 1, 2, 5, tzinfo=UTC)}
        for tenant, name, learners in ((TENANT_A, "Cascade Unified", 120),
                                       (TENANT_B, "Willamette District", 80))
    ])  # fmt: skip
    write_table(root, "privacy_budget", [
        {"tenant_id": TENANT_A, "period_start": PERIOD_START, "period_end": PERIOD_END,
         "window_start": date(2025, 1, 1), "window_end": date(2025, 3, 31),
         "release_id": f"r{i}", "job_name": "session_daily", "privacy_level": "dp_medium",
         "epsilon": 1.0, "delta": 0.0, "forced": False, "job_run_id": "run-1",
         "charged_at": datetime(2025, 2, 1, tzinfo=UTC)}
        for i in range(2)
    ])  # fmt: skip


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded data root per session; tests that modify tables copy it first."""
    root = tmp_path_factory.mktemp("seeded")
    seed_curated(root)
    return root


@pytest.fixture
def data_root(seeded_template: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded data root for this test."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(seeded_template, root)
    return root


@pytest.fixture
def app_config(data_root: Path, tmp_path: Path) -> dict[str, Any]:
    """Settings of the test app; tests may change them before requesting ``app``."""
    return {
        "JWT_SECRET": SECRET,
        "EXPORT_KEY": EXPORT_KEY,
        "DATA_ROOT": str(data_root),
        "AUDIT_LOG_DIR": str(tmp_path / "audit"),
        "TABLE_REFRESH_SECONDS": 0,
        "SERVING_ENV": "production",
        # The fixtures' ledgers were written for a 4.0 budget per window (default: 2.0).
        "DP_EPSILON_BUDGET": "4.0",
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Flask:
    """A fresh app per test."""
    flask_app = create_app(app_config)
    flask_app.config["TESTING"] = True
    return flask_app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Test client of the per-test app."""
    return app.test_client()


AuthHeaders = Callable[..., dict[str, str]]


@pytest.fixture
def auth() -> AuthHeaders:
    """Build ``Authorization`` headers: ``auth("admin", TENANT_A)``."""

    def headers(role: str, tenant: str | None = None, subject: str = "tester") -> dict[str, str]:
        token = mint_token(SECRET, role=Role.parse(role), subject=subject, tenant_id=tenant)
        return {"Authorization": f"Bearer {token}"}

    return headers


def read_audit(app: Flask) -> list[dict[str, Any]]:
    """All access-log records of ``app`` (every daily file, oldest first)."""
    import json

    directory = Path(app.extensions["analytics_audit"].directory)
    records = []
    for path in sorted(directory.glob("access-*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records
