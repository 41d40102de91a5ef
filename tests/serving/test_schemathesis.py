"""Property-based conformance: schemathesis against the app's own OpenAPI document, in-process."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from serving.tokens import Role, mint_token
from tests.serving.conftest import SECRET


@pytest.fixture
def app_config(app_config, tmp_path: Path):
    script = tmp_path / "spark-submit.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {**app_config, "ETL_SUBMIT_SCRIPT": str(script),
            "RATE_LIMIT_AUTHENTICATED": "100000 per minute"}  # fmt: skip


ROOT_TOKEN = mint_token(SECRET, role=Role.ROOT, subject="schemathesis", ttl_seconds=3600)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class RootBearer:
    """Auth provider: every generated request carries a root token."""

    def get(self, case, context):
        return ROOT_TOKEN

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def test_no_server_errors_and_responses_match_the_schema(app):
    # Loaded in the test (not at collection) so it runs against this test's own app.
    schema = schemathesis.openapi.from_wsgi("/docs/openapi.json", app)
    schema.auth()(RootBearer)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 17
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)  # fmt: skip
        def conforms(case):
            response = case.call_and_validate(checks=CHECKS)
            assert response.request.headers["Authorization"] == f"Bearer {ROOT_TOKEN}"

        conforms()
