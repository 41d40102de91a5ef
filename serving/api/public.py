"""The public metrics page's data (seed 003 §4.1): no auth, no parameters, no drill-down."""

from __future__ import annotations

from flask import Response

from serving.api.common import api_blueprint, ok
from serving.data.store import get_tables
from serving.guards.access import access
from serving.models.params import PublicQuery
from serving.models.responses import PublicMetric, PublicMetrics
from serving.services.privacy_levels import MOST_PRIVATE_FIRST
from serving.tokens import Role

PRIVACY_NOTICE = (
    "All data on this page is fully aggregated and anonymized. No individual student names, "
    "usernames, or identifying information is shown."
)
public_api = api_blueprint("public", "/api/public", secured=False)


@public_api.get("/metrics", responses={200: PublicMetrics})
@access(Role.PUBLIC, action="view_public_metrics")
def public_metrics(query: PublicQuery) -> Response:
    """Platform-wide totals of the latest period, from its most private release."""
    tables = get_tables()
    rows = tables.rows("public_metrics", {}).to_pylist()
    if not rows:
        return ok(PublicMetrics(metrics=[], privacy_level=None, privacy_notice=PRIVACY_NOTICE,
                                last_updated=None))  # fmt: skip
    latest = max(r["period_start"] for r in rows)
    current = [r for r in rows if r["period_start"] == latest]
    levels = {r["privacy_level"] for r in current}
    level = next((name for name in MOST_PRIVATE_FIRST if name in levels), min(levels))
    chosen = sorted(
        (r for r in current if r["privacy_level"] == level),
        key=lambda r: (r["display_order"] is None, r["display_order"], r["metric_key"]),
    )
    return ok(
        PublicMetrics(
            metrics=[PublicMetric(**r) for r in chosen],
            privacy_level=level,
            privacy_notice=PRIVACY_NOTICE,
            last_updated=tables.snapshot("public_metrics").committed_at,
        )
    )
