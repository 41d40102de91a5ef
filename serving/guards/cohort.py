"""Cohort guard: defence in depth over the jobs' k-suppression.

The jobs already null the metrics of groups under k learners. This guard
re-checks every object of every response: when its cohort size (or, if it
has none, its nearest ancestor's) is under k, or the object is already
flagged ``insufficient_data``, every metric is nulled and
``insufficient_data`` set; identifiers, dates, the cohort size and the
privacy metadata stay, because knowing a group is small is not a disclosure.
"""

from __future__ import annotations

COHORT_SIZE_KEYS = (
    "total_active_learners", "active_learners", "learners_assessed", "learners_with_goals",
    "enrolled_learners", "cohort_size",
    # the design's original column names, kept so any table using them is guarded too
    "total_enrolled", "total_students", "unique_students", "student_count",
    "active_students", "unique_users", "unique_users_served",
)  # fmt: skip
PRESERVED_KEYS = frozenset(
    {
        "tenant_id", "course_id", "course_name", "subject", "difficulty", "iep_category",
        "metric_key", "display_label", "display_order", "week_start", "iso_week",
        "activity_date", "period_start", "period_end", "reporting_period_start",
        "reporting_period_end", "learner_id_hash", "learner_pseudonym", "privacy_level",
        "epsilon", "delta", "k_threshold", "noise_mechanism", "aggregation_level",
        "insufficient_data", "noise_scales", "job_run_id", "last_updated",
        "minimum_cohort_size", "differential_privacy_epsilon", "age_band", "grade_band",
        "has_iep", "noise_std", "data_points", "ci95", "error_bar_95",
    }
) | frozenset(COHORT_SIZE_KEYS)  # fmt: skip


def enforce_cohort_minimum(payload: object, k: int) -> int:
    """Null the metrics of every object whose cohort is under ``k``, in place.

    Args:
        payload: Decoded JSON response body (modified in place).
        k: Minimum cohort size.

    Returns:
        How many objects were suppressed by this guard (already-null ones count too).
    """
    return _enforce(payload, None, k)


def _own_cohort_size(node: dict[str, object]) -> int | None:
    for key in COHORT_SIZE_KEYS:
        value = node.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return None


def _enforce(node: object, inherited: int | None, k: int) -> int:
    if isinstance(node, list):
        return sum(_enforce(item, inherited, k) for item in node)
    if not isinstance(node, dict):
        return 0
    own = _own_cohort_size(node)
    size = own if own is not None else inherited
    suppress = node.get("insufficient_data") is True or (size is not None and size < k)
    # Children without their own cohort size belong to this group: suppressed with it.
    child_size = 0 if suppress else size
    suppressed = 0
    for key, value in node.items():
        if isinstance(value, dict | list):
            if key not in PRESERVED_KEYS:
                suppressed += _enforce(value, child_size, k)
        elif suppress and key not in PRESERVED_KEYS and value is not None:
            node[key] = None
    if suppress:
        node["insufficient_data"] = True
        suppressed += 1
    return suppressed
