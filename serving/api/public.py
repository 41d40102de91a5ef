"""The public metrics page's data: no auth, no parameters, no drill-down."""

from __future__ import annotations

from flask import Response

from contracts.levels import MOST_PRIVATE_FIRST, Audience
from serving.api.common import api_blueprint, ok
from serving.data.store import get_tables
from serving.guards.access import access
from serving.models.params import PublicQuery
from serving.models.responses import PublicMetric, PublicMetrics
from serving.services.tenant_metrics import as_mapping
from serving.tokens import Role

PRIVACY_NOTICE = (
    "These figures are platform-wide totals released with differential privacy: calibrated "
    "random noise is added to each, so no figure reveals whether any one learner is in the "
    "data. No individual student names, usernames, or identifying information is shown."
)
# Only the levels the public audience may read: never an exact (anonymized) release.
PUBLIC_LEVELS = tuple(
    level.value for level in MOST_PRIVATE_FIRST if level.readable_by(Audience.PUBLIC)
)
public_api = api_blueprint("public", "/api/public", secured=False)


@public_api.get("/metrics", responses={200: PublicMetrics})
@access(Role.PUBLIC, action="view_public_metrics")
def public_metrics(query: PublicQuery) -> Response:
    """Platform-wide totals of the latest period with a DP release, from its most private one.

    Exact (``anonymized``) rows are never served here, even when they are the only ones.
    """
    tables = get_tables()
    rows = [
        r
        for r in tables.rows("public_metrics", {}).to_pylist()
        if r["privacy_level"] in PUBLIC_LEVELS
    ]
    if not rows:
        return ok(PublicMetrics(metrics=[], privacy_level=None, privacy_notice=PRIVACY_NOTICE,
                                last_updated=None))  # fmt: skip
    latest = max(r["period_start"] for r in rows)
    current = [r for r in rows if r["period_start"] == latest]
    levels = {r["privacy_level"] for r in current}
    level = next(name for name in PUBLIC_LEVELS if name in levels)
    chosen = sorted(
        (r for r in current if r["privacy_level"] == level),
        key=lambda r: (r["display_order"] is None, r["display_order"], r["metric_key"]),
    )
    return ok(
        PublicMetrics(
            metrics=[
                PublicMetric(
                    **r, error_bar_95=(as_mapping(r.get("ci95")) or {}).get("metric_value")
                )
                for r in chosen
            ],
            privacy_level=level,
            privacy_notice=PRIVACY_NOTICE,
            last_updated=tables.snapshot("public_metrics").committed_at,
        )
    )
