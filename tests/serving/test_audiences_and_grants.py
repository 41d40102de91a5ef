"""Levels tied to audiences (issue 13 §3, §4): who reads which level, root grants, learner rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from deltalake import DeltaTable

from contracts.levels import PrivacyLevel
from tests.serving.conftest import LEARNER_A, LEARNER_B, PERIOD_START, TENANT_A, TENANT_B
from tests.serving.curated_data import write_table

REASON = "cohort study of reading progress"
JANUARY = f"start=2025-01-01&end=2025-01-31&reason={REASON}"
GRANTS = "/api/v1/root/grants"


def export(client, headers, dataset, level, extra=""):
    query = f"{JANUARY}&privacy_level={level}{extra}"
    return client.get(f"/api/v1/export/{dataset}?{query}", headers=headers)


def issue(client, auth, **overrides):
    body = {
        "grantee_subject": "dr-researcher",
        "tenant_id": TENANT_A,
        "privacy_level": "anonymized",
        "data_use_reference": "DUA-2025-017",
        "expires_at": (datetime.now(tz=UTC) + timedelta(days=30)).isoformat(),
        **overrides,
    }
    return client.post(GRANTS, json=body, headers=auth("root"))


def audit_events(app):
    from tests.serving.conftest import read_audit

    return [event for record in read_audit(app) for event in record["events"]]


# --- the audience x level matrix -------------------------------------------------------------

LEVELS = [level.value for level in PrivacyLevel]


@pytest.mark.parametrize("level", LEVELS)
def test_researcher_reads_dp_levels_only_without_a_grant(client, auth, level):
    response = export(client, auth("researcher", subject="dr-researcher"), "course_metrics", level)
    if PrivacyLevel(level).is_dp:
        assert response.status_code == 200, response.json
    else:
        assert response.status_code == 403
        assert response.json["error"] == "level_not_permitted"
        assert response.json["field"] == "privacy_level"
        assert set(response.json["details"]["readable_levels"]) == {
            "dp_low",
            "dp_medium",
            "dp_high",
        }


@pytest.mark.parametrize("level", LEVELS)
def test_tenant_admin_reads_every_level_of_their_tenant(client, auth, level):
    headers = auth("admin", TENANT_A)
    metrics = client.get(
        f"/api/v1/metrics/tenant/{TENANT_A}?privacy_level={level}", headers=headers
    )
    assert metrics.status_code == 200 and metrics.json["privacy_level"] == level
    exported = export(client, headers, "course_metrics", level)
    assert exported.status_code == 200
    assert {r["tenant_id"] for r in exported.json["rows"]} <= {TENANT_A}
    other = client.get(f"/api/v1/metrics/tenant/{TENANT_B}?privacy_level={level}", headers=headers)
    assert other.status_code == 403


@pytest.mark.parametrize("level", LEVELS)
def test_root_reads_every_level(client, auth, level):
    assert export(client, auth("root"), "course_metrics", level).status_code == 200
    url = f"/api/v1/metrics/tenant/{TENANT_B}?privacy_level={level}"
    assert client.get(url, headers=auth("root")).status_code == 200


def test_researcher_without_level_gets_a_clear_403_when_the_default_is_exact(client, auth):
    response = client.get(f"/api/v1/export/course_metrics?{JANUARY}", headers=auth("researcher"))
    assert response.status_code == 403 and response.json["error"] == "level_not_permitted"


def test_privacy_levels_endpoint_is_derived_from_the_one_definition(client, app_config):
    body = client.get("/api/v1/privacy/levels").json
    assert [entry["level"] for entry in body["privacy_levels"]] == LEVELS
    for entry in body["privacy_levels"]:
        level = PrivacyLevel(entry["level"])
        assert entry["epsilon"] == (level.epsilon or 0.0)
        assert entry["description"] == level.description(5)
        assert entry["suitable_for"] == level.suitable_for
        assert set(entry["audiences"]) == {a.value for a in level.audiences}
    anonymized = body["privacy_levels"][0]
    assert "public" not in anonymized["audiences"] and "researcher" not in anonymized["audiences"]


@pytest.fixture
def app_config(app_config, request):
    if "configured_k" in request.node.name:
        return {**app_config, "MIN_COHORT_SIZE": 11}
    return app_config


def test_privacy_levels_show_the_default_k(client):
    body = client.get("/api/v1/privacy/levels").json
    assert body["minimum_cohort_size"] == 5
    assert all("k=5" in entry["description"] for entry in body["privacy_levels"])


def test_privacy_levels_show_the_configured_k_not_a_hard_coded_one(client, auth):
    body = client.get("/api/v1/privacy/levels").json
    assert body["minimum_cohort_size"] == 11
    assert all("k=11" in entry["description"] for entry in body["privacy_levels"])
    notice = export(client, auth("root"), "course_metrics", "dp_medium").json["export"]
    assert "k=11" in notice["privacy_notice"]


# --- public: DP only ---------------------------------------------------------------------------


def test_public_metrics_never_serve_an_anonymized_row(client, data_root):
    write_table(data_root, "public_metrics", [
        {"metric_key": "active_learners", "period_start": PERIOD_START,
         "period_end": PERIOD_START, "metric_value": 1234.0, "privacy_level": "anonymized"},
    ], mode="overwrite")  # fmt: skip
    body = client.get("/api/public/metrics").json
    assert body["metrics"] == [] and body["privacy_level"] is None
    assert "differential privacy" in body["privacy_notice"]
    assert "anonymized" not in body["privacy_notice"]


def test_public_metrics_use_the_latest_dp_period_even_if_an_exact_one_is_newer(client, data_root):
    later = PERIOD_START + timedelta(days=31)
    write_table(data_root, "public_metrics", [
        {"metric_key": "active_learners", "period_start": later, "period_end": later,
         "metric_value": 999.0, "privacy_level": "anonymized"},
    ])  # fmt: skip
    body = client.get("/api/public/metrics").json
    assert body["privacy_level"] == "dp_medium"
    assert {m["period_start"] for m in body["metrics"]} == {PERIOD_START.isoformat()}
    assert 999.0 not in [m["metric_value"] for m in body["metrics"]]


def test_public_page_no_longer_calls_the_figures_fully_anonymized(client):
    page = client.get("/public").get_data(as_text=True)
    assert "fully aggregated and anonymized" not in page
    assert "differential privacy" in page


# --- grants -----------------------------------------------------------------------------------


def test_root_grant_opens_one_tenant_at_anonymized_and_each_use_is_audited(client, auth, app):
    researcher = auth("researcher", subject="dr-researcher")
    refused = export(client, researcher, "course_metrics", "anonymized", f"&tenant_id={TENANT_A}")
    assert refused.status_code == 403
    created = issue(client, auth)
    assert created.status_code == 201, created.json
    grant = created.json
    assert grant["in_force"] and grant["data_use_reference"] == "DUA-2025-017"
    stored = DeltaTable(str(app.extensions["analytics_grants"].uri)).to_pyarrow_table().to_pylist()
    assert [row["grant_id"] for row in stored] == [grant["grant_id"]]

    allowed = export(client, researcher, "course_metrics", "anonymized", f"&tenant_id={TENANT_A}")
    assert allowed.status_code == 200, allowed.json
    assert {r["tenant_id"] for r in allowed.json["rows"]} == {TENANT_A}
    assert allowed.json["export"]["grant_id"] == grant["grant_id"]
    assert f"grant_used:{grant['grant_id']}" in audit_events(app)
    exported = [
        json.loads(line)
        for line in app.extensions["analytics_audit"].export_path.read_text().splitlines()
    ]
    used = [r for r in exported if r.get("kind") == "dataset"]
    assert used[-1]["grant_id"] == grant["grant_id"]
    assert used[-1]["data_use_reference"] == "DUA-2025-017"

    # The grant covers one tenant, one grantee, and never the public.
    other = export(client, researcher, "course_metrics", "anonymized", f"&tenant_id={TENANT_B}")
    assert other.status_code == 403
    all_tenants = export(client, researcher, "course_metrics", "anonymized")
    assert all_tenants.status_code == 403
    colleague = auth("researcher", subject="someone-else")
    assert export(client, colleague, "course_metrics", "anonymized",
                  f"&tenant_id={TENANT_A}").status_code == 403  # fmt: skip


def test_revoked_and_expired_grants_no_longer_open_anything(client, auth):
    researcher = auth("researcher", subject="dr-researcher")
    grant = issue(client, auth).json
    query = f"&tenant_id={TENANT_A}"
    assert export(client, researcher, "course_metrics", "anonymized", query).status_code == 200
    revoked = client.delete(f"{GRANTS}/{grant['grant_id']}", headers=auth("root"))
    assert revoked.status_code == 200 and revoked.json["in_force"] is False
    assert revoked.json["revoked_at"] is not None
    assert export(client, researcher, "course_metrics", "anonymized", query).status_code == 403
    listed = client.get(f"{GRANTS}?in_force=false", headers=auth("root")).json
    assert [g["grant_id"] for g in listed["grants"]] == [grant["grant_id"]]
    missing = client.delete(f"{GRANTS}/99999999-9999-4999-8999-999999999999", headers=auth("root"))
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2030-01-01T00:00:00"}, "expires_at"),
        ({"data_use_reference": "x"}, "data_use_reference"),
        ({"data_use_reference": "DUA\n2025"}, "data_use_reference"),
        ({"tenant_id": "not-a-uuid"}, "tenant_id"),
        ({"privacy_level": "dp_extreme"}, "privacy_level"),
    ],
)
def test_bad_grants_are_422_naming_the_field(client, auth, overrides, field):
    response = issue(client, auth, **overrides)
    assert response.status_code == 422
    assert response.json["field"] == field


def test_only_root_manages_grants(client, auth):
    body = {"grantee_subject": "me", "tenant_id": TENANT_A, "data_use_reference": "DUA-1",
            "expires_at": (datetime.now(tz=UTC) + timedelta(days=1)).isoformat()}  # fmt: skip
    for role, tenant in (("researcher", None), ("admin", TENANT_A)):
        assert client.get(GRANTS, headers=auth(role, tenant)).status_code == 403
        assert client.post(GRANTS, json=body, headers=auth(role, tenant)).status_code == 403


# --- learner-level exports --------------------------------------------------------------------


def test_learner_exports_need_a_learner_level_grant(client, auth, app):
    researcher = auth("researcher", subject="dr-researcher")
    query = f"&tenant_id={TENANT_A}"
    no_grant = export(client, researcher, "learner_progress", "anonymized", query)
    assert no_grant.status_code == 403 and no_grant.json["error"] == "grant_required"
    issue(client, auth)  # anonymized aggregates only: not learner rows
    assert export(client, researcher, "learner_progress", "anonymized", query).status_code == 403
    admin = export(client, auth("admin", TENANT_A), "learner_progress", "anonymized")
    assert admin.status_code == 403 and admin.json["error"] == "grant_required"

    issue(client, auth, learner_level=True)
    granted = export(client, researcher, "learner_progress", "anonymized", query)
    assert granted.status_code == 200, granted.json
    rows = granted.json["rows"]
    assert len(rows) == 1 and rows[0]["tenant_id"] == TENANT_A
    # Disability status stays out unless the grant allows it.
    assert "has_iep" not in rows[0] and "iep_mean_progress_pct" not in rows[0]
    assert granted.json["export"]["columns_withheld"] == ["has_iep", "iep_mean_progress_pct"]
    assert LEARNER_A not in granted.get_data(as_text=True)
    assert LEARNER_B not in granted.get_data(as_text=True)


def test_disability_columns_need_the_grant_to_say_so(client, auth):
    issue(client, auth, learner_level=True, disability_status=True)
    researcher = auth("researcher", subject="dr-researcher")
    response = export(client, researcher, "learner_progress", "anonymized",
                      f"&tenant_id={TENANT_A}&format=csv")  # fmt: skip
    assert response.status_code == 200
    header = response.get_data(as_text=True).splitlines()[0].split(",")
    assert "has_iep" in header and "iep_mean_progress_pct" in header


# --- platform-wide tables are not widened by a tenant scope (issue 15, broken 6) ---------------


def test_tenant_scoped_export_of_a_platform_wide_table_is_refused(client, auth):
    scoped = export(client, auth("researcher", TENANT_A), "platform_daily", "dp_medium")
    assert scoped.status_code == 403 and scoped.json["field"] == "dataset"
    explicit = export(client, auth("root"), "platform_daily", "dp_medium", f"&tenant_id={TENANT_A}")
    assert explicit.status_code == 422 and explicit.json["field"] == "tenant_id"
    platform = export(client, auth("researcher"), "platform_daily", "dp_medium")
    assert platform.status_code == 200 and platform.json["export"]["row_count"] == 31
