"""Research exports, audit access and the PII validator over a real poisoned table."""

from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import pytest

from tests.serving.conftest import LEARNER_A, PERIOD_START, TENANT_A, read_audit
from tests.serving.curated_data import write_table

REASON = "cohort study of reading progress"
JANUARY = f"start=2025-01-01&end=2025-01-31&reason={REASON}&privacy_level=dp_medium"


def export(client, headers, dataset, query=JANUARY):
    return client.get(f"/api/v1/export/{dataset}?{query}", headers=headers)


def test_export_json_rows_and_metadata(client, auth):
    response = export(client, auth("researcher"), "course_metrics")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["export"]["row_count"] == 2 and len(body["rows"]) == 2
    assert body["rows"][0]["course_name"] == "Algebra I"
    assert body["rows"][0]["period_start"] == "2025-01-01"


def test_export_csv_has_header_and_rows(client, auth):
    response = export(client, auth("researcher"), "platform_daily", JANUARY + "&format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 31 and rows[0]["active_learners"] == "500"


def test_learner_progress_pseudonyms_differ_per_export(client, auth, app):
    # Root needs no grant; researchers do (tests/serving/test_audiences_and_grants.py).
    january = JANUARY.replace("dp_medium", "anonymized")
    first = export(client, auth("root"), "learner_progress", january).json
    second = export(client, auth("root"), "learner_progress", january).json
    pseudonyms = [{r["learner_pseudonym"] for r in body["rows"]} for body in (first, second)]
    assert len(pseudonyms[0]) == 2 and pseudonyms[0].isdisjoint(pseudonyms[1])
    assert all("learner_id_hash" not in r and "key_version" not in r for r in first["rows"])
    assert LEARNER_A not in json.dumps(first)
    assert "can still be matched" in first["export"]["pseudonym_note"]  # no unlinkability claim
    logged = (app.extensions["analytics_audit"].export_path).read_text().splitlines()
    assert [json.loads(line)["dataset"] for line in logged] == ["learner_progress"] * 2
    assert json.loads(logged[0])["reason"] == REASON


def test_tenant_scoped_researcher_exports_only_their_tenant(client, auth):
    own = export(client, auth("researcher", TENANT_A), "course_metrics").json
    assert {r["tenant_id"] for r in own["rows"]} == {TENANT_A}
    other = "33333333-3333-4333-8333-333333333333"
    response = export(client, auth("researcher", TENANT_A), "course_metrics",
                      JANUARY + f"&tenant_id={other}")  # fmt: skip
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2025-01-01&end=2025-01-31", "reason"),
        ("start=2025-01-01&end=2025-01-31&reason=short", "reason"),
        (f"start=2024-01-01&end=2025-01-31&reason={REASON}", "end"),
        (f"start=2025-02-01&end=2025-01-01&reason={REASON}", "end"),
        (f"start=2025-01-01&end=2025-01-31&reason={REASON}&format=xml", "format"),
        (f"start=2025-01-01&end=2025-01-31&reason={REASON}&confirmed=yes", "confirmed"),
    ],
)
def test_export_controls_name_the_field(client, auth, query, field):
    response = export(client, auth("researcher"), "session_daily", query)
    assert response.status_code == 422
    assert response.json["field"] == field


def test_unknown_dataset_is_422(client, auth):
    response = export(client, auth("researcher"), "users")
    assert response.status_code == 422 and response.json["field"] == "dataset"


def test_large_exports_need_confirmation_and_huge_ones_are_refused(client, auth, data_root):
    rows = [{"activity_date": PERIOD_START, "active_learners": i, "privacy_level": "dp_medium"}
            for i in range(10_001)]  # fmt: skip
    write_table(data_root, "platform_daily", rows, mode="overwrite")
    unconfirmed = export(client, auth("researcher"), "platform_daily")
    assert unconfirmed.status_code == 428
    assert unconfirmed.json["details"]["row_count"] == 10_001
    confirmed = export(client, auth("researcher"), "platform_daily", JANUARY + "&confirmed=1")
    assert confirmed.status_code == 200 and confirmed.json["export"]["row_count"] == 10_001
    rows = [{"activity_date": PERIOD_START, "active_learners": 9,
             "privacy_level": "dp_medium"}] * 50_001  # fmt: skip
    write_table(data_root, "platform_daily", rows, mode="overwrite")
    refused = export(client, auth("researcher"), "platform_daily", JANUARY + "&confirmed=1")
    assert refused.status_code == 400 and refused.json["error"] == "too_many_rows"


def test_pii_validator_blocks_a_table_that_grew_a_forbidden_column(client, auth, data_root, app):
    write_table(
        data_root, "course_metrics",
        [{"tenant_id": TENANT_A, "course_id": "c1", "period_start": PERIOD_START,
          "period_end": PERIOD_START, "enrolled_learners": 30, "email": "kid@example.org",
          "privacy_level": "dp_medium"}],
        mode="overwrite", extra_columns=[pa.field("email", pa.string())],
    )  # fmt: skip
    response = export(client, auth("root"), "course_metrics")
    assert response.status_code == 403
    assert response.json == {
        "success": False,
        "error": "privacy_violation",
        "message": "Analytics response blocked: privacy policy violation",
    }
    assert "kid@example.org" not in response.get_data(as_text=True)
    csv_response = export(client, auth("root"), "course_metrics", JANUARY + "&format=csv")
    assert csv_response.status_code == 403
    assert "pii_blocked" in read_audit(app)[-1]["events"]


@pytest.fixture
def app_config(app_config, request):
    if "development" in request.node.name:
        return {**app_config, "SERVING_ENV": "development"}
    return app_config


def test_pii_violation_details_only_in_development(client, auth, data_root):
    write_table(
        data_root, "platform_daily",
        [{"activity_date": PERIOD_START, "active_learners": 50, "ip_address": "10.1.2.3",
          "privacy_level": "dp_medium"}],
        mode="overwrite", extra_columns=[pa.field("ip_address", pa.string())],
    )  # fmt: skip
    response = export(client, auth("root"), "platform_daily")
    assert response.status_code == 403
    assert response.json["violations"] == ["forbidden key 'ip_address' at $.rows[0].ip_address"]
    assert "10.1.2.3" not in response.get_data(as_text=True)


def test_audit_records_every_request_without_learner_identifiers(client, auth, app):
    client.get(f"/api/v1/metrics/learner/{LEARNER_A}", headers=auth("admin", TENANT_A))
    client.get("/api/v1/metrics/learner/nothex", headers=auth("admin", TENANT_A))
    client.get("/api/public/metrics")
    records = read_audit(app)
    assert [r["status"] for r in records] == [200, 422, 200]
    text = json.dumps(records)
    assert LEARNER_A not in text and "nothex" not in text and "tester" not in text
    first = records[0]
    assert first["endpoint"] == "/api/v1/metrics/learner/<learner_id_hash>"
    assert first["role"] == "admin" and first["action"] == "view_learner_metrics"
    assert first["parameters"] == {}
    assert first["redacted_parameters"] == ["learner_id_hash"]
    assert len(first["caller_hash"]) == 24 and first["iso_timestamp"].startswith("20")
    assert {"timestamp", "client_ip", "method", "response_time_ms", "success"} <= set(first)
    assert "rows" not in first and "body" not in first


def test_admin_summary_is_aggregate_and_tenant_scoped(client, auth):
    client.get("/api/public/metrics")
    client.get(f"/api/v1/privacy/budget/{TENANT_A}", headers=auth("admin", TENANT_A))
    client.get("/api/v1/root/audit/logs", headers=auth("admin", TENANT_A))  # 403
    summary = client.get("/api/v1/admin/audit/summary?window=24h", headers=auth("admin", TENANT_A))
    assert summary.status_code == 200
    body = summary.json
    assert body["scope"] == TENANT_A
    assert (
        body["total_requests"] == 2 and body["auth_failures"] == 1
    )  # the anonymous call is not theirs
    assert "entries" not in body
    platform = client.get("/api/v1/admin/audit/summary", headers=auth("root")).json
    assert platform["scope"] == "platform" and platform["total_requests"] == 4


def test_root_logs_filter_and_export_is_logged(client, auth, app):
    client.get("/api/public/metrics")
    client.get("/api/v1/health")
    logs = client.get("/api/v1/root/audit/logs?endpoint=/api/public/metrics", headers=auth("root"))
    assert logs.status_code == 200
    assert [e["endpoint"] for e in logs.json["entries"]] == ["/api/public/metrics"]
    assert "/api/v1/health" in logs.json["available_filters"]["endpoint"]
    today = read_audit(app)[0]["iso_timestamp"][:10]
    query = f"start_date={today}&end_date={today}&reason=quarterly privacy audit&format=csv"
    exported = client.get(f"/api/v1/root/audit/export?{query}", headers=auth("root"))
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert len(list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))) == 3
    missing_reason = client.get(f"/api/v1/root/audit/export?start_date={today}&end_date={today}",
                                headers=auth("root"))  # fmt: skip
    assert missing_reason.status_code == 422 and missing_reason.json["field"] == "reason"
    exports = app.extensions["analytics_audit"].export_path.read_text().splitlines()
    assert json.loads(exports[-1])["kind"] == "audit"
