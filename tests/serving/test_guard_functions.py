"""The PII validator and cohort guard as functions (seed 003's verification cases)."""

from __future__ import annotations

import pytest

from serving.guards.cohort import enforce_cohort_minimum
from serving.guards.pii import scan_payload


def scan(payload, allow=False, depth=5):
    return scan_payload(payload, max_depth=depth, allow_individual_rows=allow)


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"users": [{"user_id": 1}]}, "'user_id' at $.users[0].user_id"),
        ({"EMAIL": "x"}, "'EMAIL'"),
        ({"a": {"b": {"username": "x"}}}, "'username' at $.a.b.username"),
        ({"ip_address": "10.0.0.1"}, "'ip_address'"),
        ({"session_token": "t"}, "'session_token'"),
        ({"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}, "nesting deeper than 5"),
        ({"rows": [{"learner_id_hash": "ab", "score": 1}]}, "per-learner records"),
    ],
)
def test_validator_blocks(payload, needle):
    result = scan(payload)
    assert not result.clean
    assert any(needle in v for v in result.violations), result.violations


def test_validator_passes_safe_aggregates_and_allowed_individual_rows():
    safe = {"course_name": "Algebra", "learner_id_hash": "ab", "totals": {"sessions": 3},
            "weeks": [{"active_learners": 9}]}  # fmt: skip
    assert scan(safe).clean
    assert scan({"rows": [{"learner_pseudonym": "ab"}]}, allow=True).clean


def test_cohort_guard_mixed_array_is_selective():
    payload = {"courses": [
        {"name_label": "Large", "total_enrolled": 50, "avg_mastery_score": 82.0},
        {"name_label": "Small", "total_enrolled": 2, "avg_mastery_score": 95.0},
        {"name_label": "Medium", "total_enrolled": 8, "avg_mastery_score": 77.5},
        {"name_label": "Edge", "total_enrolled": 5, "avg_mastery_score": 60.0},
        {"name_label": "Empty", "total_enrolled": 0, "avg_mastery_score": 0.0},
    ]}  # fmt: skip
    assert enforce_cohort_minimum(payload, 5) == 2
    scores = [c["avg_mastery_score"] for c in payload["courses"]]
    assert scores == [82.0, None, 77.5, 60.0, None]
    assert payload["courses"][1]["total_enrolled"] == 2
    assert payload["courses"][1]["insufficient_data"] is True
    assert "insufficient_data" not in payload["courses"][0]


def test_cohort_guard_nested_and_inherited_and_flagged():
    payload = {"total_active_learners": 4, "tenant_id": "t",
               "session_metrics": {"total_sessions": 9, "noise_std": {"x": 1.0}},
               "weeks": [{"active_learners": 40, "engagement_rate": 0.3}],
               "flagged": {"insufficient_data": True, "mean": 3.0}}  # fmt: skip
    enforce_cohort_minimum(payload, 5)
    assert payload["tenant_id"] == "t" and payload["insufficient_data"] is True
    assert payload["session_metrics"]["total_sessions"] is None  # inherits the parent's 4
    assert payload["weeks"][0]["engagement_rate"] == 0.3  # its own cohort is 40
    assert payload["flagged"]["mean"] is None


def test_cohort_guard_leaves_objects_without_cohort_alone():
    payload = {"status": "healthy", "count": 1}
    assert enforce_cohort_minimum(payload, 5) == 0
    assert payload == {"status": "healthy", "count": 1}
