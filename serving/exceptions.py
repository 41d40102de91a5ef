"""The serving package's exceptions: every one is an :class:`ApiError`.

An ApiError carries the answer the API gives for it (status, machine-readable code,
production-safe message), so an error that is not caught on the way still reaches the
client as the right JSON body. This module imports neither Flask nor the data layer, so
every part of ``serving`` (tokens, tables, services) can raise these.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    """One invalid input."""

    field: str = Field(description="Parameter name, e.g. 'start' or 'tenant_id'.")
    location: str = Field(description="path, query or body (as far as known).")
    message: str


class ErrorBody(BaseModel):
    """Every error response of this API."""

    success: bool = False
    error: str = Field(description="Machine-readable code, e.g. validation_error, forbidden.")
    message: str = Field(description="Human-readable explanation, safe to show.")
    field: str | None = Field(default=None, description="The offending parameter, if any.")
    fields: list[FieldProblem] | None = None
    violations: list[str] | None = Field(
        default=None, description="Privacy violations (non-production deployments only)."
    )
    details: dict[str, Any] | None = None


class ApiError(Exception):
    """An error the API answers deliberately, with status and code."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        field: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Describe the error.

        Args:
            status: HTTP status.
            error: Machine-readable code.
            message: Human-readable, production-safe message.
            field: Offending parameter.
            details: Extra structured information.
            headers: Extra response headers (e.g. ``Retry-After``).
        """
        super().__init__(message)
        self.status = status
        self.body = ErrorBody(error=error, message=message, field=field, details=details)
        self.headers = headers or {}
