"""One JSON error shape for every failure, and the handlers that produce it.

Bad input is a 400/422 naming the field; a missing table a 503 naming the
table; anything unexpected a 500 whose body says nothing about internals
(the traceback goes to the server log only).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify
from flask_limiter.errors import RateLimitExceeded
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from serving.exceptions import ApiError, ErrorBody, FieldProblem


def error_response(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> Response:
    """Serialize ``body`` with ``status`` (nulls omitted)."""
    response = jsonify(body.model_dump(mode="json", exclude_none=True))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _location_of(model_title: str) -> str:
    title = model_title.lower()
    return "path" if title.endswith("path") else "query" if title.endswith("query") else "body"


def validation_error_response(error: ValidationError) -> Response:
    """flask-openapi3 callback: a 422 whose body names each invalid parameter."""
    location = _location_of(error.title)
    problems = []
    for issue in error.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in issue["loc"]) or "request"
        message = issue["msg"]
        if issue["type"] == "extra_forbidden":
            message = "unknown parameter; this endpoint does not accept it"
        problems.append(FieldProblem(field=field, location=location, message=message))
    first = (
        problems[0] if problems else FieldProblem(field="request", location=location, message="")
    )
    body = ErrorBody(
        error="validation_error",
        message=f"invalid {first.location} parameter '{first.field}': {first.message}",
        field=first.field,
        fields=problems,
    )
    return error_response(422, body)


def register_error_handlers(app: Flask) -> None:
    """Install the JSON handlers for deliberate, HTTP, rate-limit, table and unexpected errors."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        # Every serving exception is an ApiError and carries its answer (a missing table:
        # 503 naming it, with Retry-After).
        return error_response(error.status, error.body, error.headers)

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(error: RateLimitExceeded) -> Response:
        body = ErrorBody(
            error="rate_limited",
            message=f"rate limit exceeded ({error.description}); retry later",
        )
        # Flask-Limiter's after_request hook adds Retry-After and X-RateLimit-* headers.
        return error_response(429, body)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        if error.response is not None:
            # flask-openapi3 aborts with the finished validation response; keep it.
            return error.response  # type: ignore[return-value]
        status = error.code or 500
        code = (error.name or "error").lower().replace(" ", "_")
        details: dict[str, Any] | None = None
        # Keep what the status needs (Location of a redirect, Allow of a 405), in JSON too.
        kept = {
            name: value
            for name, value in error.get_headers()
            if name.lower() in ("location", "allow", "retry-after")
        }
        if "Location" in kept:
            details = {"location": kept["Location"]}
        elif "Allow" in kept:
            details = {"allowed_methods": [m.strip() for m in kept["Allow"].split(",")]}
        message = error.description or error.name or "error"
        if status == 413:
            limit = current_app.config.get("MAX_CONTENT_LENGTH")
            message = f"request body too large: at most {limit} bytes are accepted"
        body = ErrorBody(error=code, message=message, details=details)
        return error_response(status, body, kept)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        current_app.logger.exception("unhandled error", exc_info=error)
        body = ErrorBody(error="internal_error", message="internal error; it has been logged")
        return error_response(500, body)
