"""Root's tenant list (from ops/tenants, never raw/) and 404 ``unknown_tenant`` on tenant routes."""

from __future__ import annotations

import pytest

from tests.serving.conftest import TENANT_A, TENANT_B

UNKNOWN = "33333333-3333-4333-8333-333333333333"


def test_root_lists_every_tenant_with_names_and_learner_counts(client, auth):
    response = client.get("/api/v1/tenants", headers=auth("root"))
    assert response.status_code == 200
    body = response.json
    assert body["count"] == 2
    listed = {t["tenant_id"]: t for t in body["tenants"]}
    assert listed[TENANT_A]["tenant_name"] == "Cascade Unified"
    assert listed[TENANT_A]["learners"] == 120
    assert listed[TENANT_B]["learners"] == 80
    assert [t["tenant_name"] for t in body["tenants"]] == ["Cascade Unified", "Willamette District"]


@pytest.mark.parametrize("role", ["admin", "researcher"])
def test_tenant_list_is_root_only(client, auth, role):
    response = client.get("/api/v1/tenants", headers=auth(role, TENANT_A))
    assert response.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/metrics/tenant/{UNKNOWN}?start=2025-01-01&end=2025-01-31",
        f"/api/v1/privacy/budget/{UNKNOWN}",
    ],
)
def test_unknown_tenant_is_404_not_nulls(client, auth, path):
    response = client.get(path, headers=auth("root"))
    assert response.status_code == 404
    assert response.json["error"] == "unknown_tenant"
    assert response.json["field"] == "tenant_id"


def test_known_tenant_without_rows_in_the_period_still_answers(client, auth):
    # A registered tenant outside its data's period is not unknown: nulls mean "no data".
    response = client.get(
        f"/api/v1/metrics/tenant/{TENANT_B}?start=2024-03-01&end=2024-03-31",
        headers=auth("root"),
    )
    assert response.status_code == 200


def test_tenant_list_before_any_run_is_503(client, auth, data_root):
    import shutil

    shutil.rmtree(data_root / "ops" / "tenants")
    response = client.get("/api/v1/tenants", headers=auth("root"))
    assert response.status_code == 503
    # Without the list nothing is refused as unknown.
    budget = client.get(f"/api/v1/privacy/budget/{UNKNOWN}", headers=auth("root"))
    assert budget.status_code == 200
