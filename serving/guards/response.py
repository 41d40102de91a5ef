"""The hooks every request passes through, registered in one place and in a fixed order.

Before the view: assign a request id, refuse oversized bodies, identify the
caller, rate limit, enforce the access policy, refuse unmetered exports and
writes. After the view (also after error handlers): cohort guard, PII
validator, optional CSV rendering, security headers, audit record, request
log line. Guards work on the decoded JSON payload, so a CSV export is
checked exactly like JSON before it is rendered.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
import uuid
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from conf.log_format import REQUEST_ID, bind_request_id
from serving.config import AppConfig
from serving.errors import error_response
from serving.exceptions import ErrorBody
from serving.guards.access import enforce_policy, identify_caller
from serving.guards.audit import (
    AUDIT_EXTENSION,
    AuditLog,
    caller_hash_of,
    sanitize_parameters,
    timestamps,
)
from serving.guards.cohort import enforce_cohort_minimum
from serving.guards.pii import scan_payload
from serving.guards.rate_limit import init_rate_limits, refuse_unmetered
from serving.gunicorn_logging import REQUEST_ID_ENVIRON_KEY, ROUTE_ENVIRON_KEY, UNMATCHED_ROUTE

HSTS = "max-age=31536000; includeSubDomains"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
request_logger = logging.getLogger("serving.request")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-cache, no-store, must-revalidate",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class CsvRendering:
    """A view's request to render its (already guarded) rows as CSV.

    Attributes:
        rows_key: Key of the row list in the JSON payload.
        columns: Column order.
        filename: Download file name.
    """

    def __init__(self, rows_key: str, columns: list[str], filename: str) -> None:
        """Describe the rendering (see class attributes)."""
        self.rows_key = rows_key
        self.columns = columns
        self.filename = filename

    def render(self, payload: dict[str, Any]) -> str:
        """The rows as CSV text; nested values (maps) as JSON strings."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, extrasaction="ignore")
        writer.writeheader()
        for row in payload.get(self.rows_key, []):
            writer.writerow(
                {
                    key: json.dumps(value) if isinstance(value, dict | list) else value
                    for key, value in row.items()
                }
            )
        return buffer.getvalue()


def _start_clock() -> None:
    g.started_at = time.perf_counter()
    g.guard_events = []
    g.request_id = uuid.uuid4().hex
    g.request_id_token = bind_request_id(g.request_id)
    request.environ[REQUEST_ID_ENVIRON_KEY] = g.request_id


def _limit_body() -> None:
    """Refuse a body over MAX_CONTENT_LENGTH on every route, read or not (413).

    Raises:
        RequestEntityTooLarge: Declared or (chunked) actual length over the limit.
    """
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    length = request.content_length
    if length is not None:
        if length > limit:
            raise RequestEntityTooLarge(f"request bodies are limited to {limit} bytes")
    elif request.environ.get("wsgi.input_terminated"):
        request.get_data(cache=True)  # chunked: werkzeug stops reading at the limit (413)


def _privacy_violation(violations: list[str]) -> Response:
    current_app.logger.warning(
        "privacy_violation blocked on %s: %d violation(s)", request.endpoint, len(violations)
    )
    production = current_app.config["SERVING_ENV"] == "production"
    body = ErrorBody(
        error="privacy_violation",
        message=(
            "Analytics response blocked: privacy policy violation"
            if production
            else "PII detected in analytics response: " + "; ".join(violations)
        ),
        violations=None if production else violations,
    )
    return error_response(403, body)


def _guard_payload(response: Response) -> Response:
    policy = g.get("policy")
    if not response.is_json or (policy is not None and not policy.inspect_payload):
        return response
    payload = response.get_json(silent=True)
    if payload is None:
        return response
    suppressed = enforce_cohort_minimum(payload, current_app.config["MIN_COHORT_SIZE"])
    if suppressed:
        g.guard_events.append(f"cohort_suppressed:{suppressed}")
    scan = scan_payload(
        payload,
        max_depth=current_app.config["PII_MAX_DEPTH"],
        allow_individual_rows=bool(policy and policy.individual_rows and g.get("individual_rows")),
    )
    if not scan.clean:
        g.guard_events.append("pii_blocked")
        return _privacy_violation(scan.violations)
    rendering: CsvRendering | None = g.get("csv_rendering")
    if rendering is not None and response.status_code == 200:
        response.set_data(rendering.render(payload))
        response.mimetype = "text/csv"
        response.headers["Content-Disposition"] = f'attachment; filename="{rendering.filename}"'
    elif suppressed:
        response.set_data(json.dumps(payload, separators=(",", ":")))
    return response


def _audit(response: Response) -> None:
    log: AuditLog = current_app.extensions[AUDIT_EXTENSION]
    principal = g.get("principal")
    started = g.get("started_at", time.perf_counter())
    policy = g.get("policy")
    view_args = {k: str(v) for k, v in (request.view_args or {}).items()}
    parameters, redacted = sanitize_parameters({**view_args, **request.args.to_dict(flat=True)})
    record: dict[str, Any] = {
        **timestamps(),
        "endpoint": request.url_rule.rule if request.url_rule is not None else "(unmatched)",
        "action": policy.action if policy is not None else (request.endpoint or "unmatched"),
        "caller_hash": caller_hash_of(principal),
        "role": principal.role.label if principal is not None else "public",
        "caller_tenant": principal.tenant_id if principal is not None else None,
        "request_id": g.get("request_id"),
        "client_ip": request.remote_addr,
        "user_agent": (request.user_agent.string or "")[:200],
        "method": request.method,
        "parameters": parameters,
        "redacted_parameters": redacted,
        "status": response.status_code,
        "success": response.status_code < 400,
        "response_time_ms": round((time.perf_counter() - started) * 1000, 2),
        "events": g.get("guard_events", []),
    }
    log.record_access(record)


def _log_request(response: Response, route: str) -> None:
    started = g.get("started_at", time.perf_counter())
    policy = g.get("policy")
    request_logger.info(
        "request",
        extra={
            "method": request.method,
            "route": route,
            "action": policy.action if policy is not None else None,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )


def _json_redirect(response: Response) -> Response:
    """Werkzeug answers its routing redirects (e.g. a missing trailing slash) in HTML."""
    location = response.headers.get("Location", "")
    body = ErrorBody(
        error="redirect",
        message=f"this resource is at {location}; repeat the request there",
        details={"location": location},
    )
    response.set_data(json.dumps(body.model_dump(mode="json", exclude_none=True)))
    response.mimetype = "application/json"
    return response


def _finish(response: Response) -> Response:
    if response.status_code in REDIRECT_STATUSES and not response.is_json:
        response = _json_redirect(response)
    response = _guard_payload(response)
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if current_app.config["SERVING_ENV"] == "production":
        response.headers["Strict-Transport-Security"] = HSTS
    if response.status_code < 400:
        # Flask-Limiter adds Retry-After to every response; it means "wait" only on errors.
        response.headers.pop("Retry-After", None)
    if g.get("request_id"):
        response.headers["X-Request-ID"] = g.request_id
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED_ROUTE
    request.environ[ROUTE_ENVIRON_KEY] = route  # gunicorn's access log: template, never path
    _audit(response)
    _log_request(response, route)
    return response


def init_guards(app: Flask, config: AppConfig) -> None:
    """Register every guard hook on ``app`` in its required order."""
    app.extensions[AUDIT_EXTENSION] = AuditLog(
        config.audit_log_dir, config.serving.audit_retention_days
    )
    app.before_request(_start_clock)
    app.before_request(_limit_body)
    app.before_request(identify_caller)
    # after_request hooks run in reverse order of registration: _finish, registered before
    # the limiter, runs after the limiter has added its headers (and can drop Retry-After).
    app.after_request(_finish)
    init_rate_limits(app, config)  # its before_request runs after identify_caller
    app.before_request(enforce_policy)
    app.before_request(refuse_unmetered)

    @app.teardown_request
    def _unbind_request_id(_error: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            REQUEST_ID.reset(token)
