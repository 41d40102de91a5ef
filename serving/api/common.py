"""Helpers every blueprint uses: documented error responses, JSON rendering, settings."""

from __future__ import annotations

from flask import Response, current_app, jsonify
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from flask_openapi3.types import ResponseDict
from pydantic import BaseModel

from serving.config import AppConfig
from serving.exceptions import ApiError, ErrorBody
from serving.services.exports import CONFIRMATION_THRESHOLD, MAX_EXPORT_ROWS
from serving.services.grants import GrantStore

CONFIG_EXTENSION = "analytics_config"
GRANTS_EXTENSION = "analytics_grants"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
# Documented on every operation so clients (and schemathesis) know every status we send.
ERROR_RESPONSES: ResponseDict = {
    "400": ErrorBody,
    "401": ErrorBody,
    "403": ErrorBody,
    "404": ErrorBody,
    "422": ErrorBody,
    "429": ErrorBody,
    "503": ErrorBody,
}


def app_config() -> AppConfig:
    """The running app's configuration."""
    config: AppConfig = current_app.extensions[CONFIG_EXTENSION]
    return config


def get_grants() -> GrantStore:
    """The app's grant table (``ops/access_grants``)."""
    grants: GrantStore = current_app.extensions[GRANTS_EXTENSION]
    return grants


def ok(model: BaseModel, status: int = 200) -> Response:
    """Serialize a response model (dates as ISO 8601)."""
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response


def api_blueprint(name: str, url_prefix: str, *, secured: bool) -> APIBlueprint:
    """A blueprint for one API area, tagged, with the shared error responses documented.

    Args:
        name: Blueprint and OpenAPI tag name.
        url_prefix: Common path prefix.
        secured: Document the bearer-token requirement on every operation.
    """
    return APIBlueprint(
        name,
        f"serving.api.{name}",
        url_prefix=url_prefix,
        abp_tags=[Tag(name=name)],
        abp_security=BEARER if secured else None,
        abp_responses=ERROR_RESPONSES,
    )


def check_export_size(row_count: int, confirmed: int, range_field: str) -> None:
    """Export controls: refuse above 50,000 rows, require ``confirmed=1`` above 10,000.

    Raises:
        ApiError: 400 ``too_many_rows`` naming ``range_field``, or 428 ``confirmation_required``.
    """
    if row_count > MAX_EXPORT_ROWS:
        raise ApiError(
            400,
            "too_many_rows",
            f"{row_count} rows exceed the {MAX_EXPORT_ROWS} row limit; narrow the range",
            field=range_field,
            details={"row_count": row_count},
        )
    if row_count > CONFIRMATION_THRESHOLD and confirmed != 1:
        raise ApiError(
            428,
            "confirmation_required",
            f"{row_count} rows: repeat the request with confirmed=1 to export them",
            field="confirmed",
            details={"row_count": row_count},
        )
