"""Settings of the API process, read from the environment or a mapping, validated at start-up.

The shared analytics settings (``DATA_ROOT``, ``DEFAULT_PRIVACY_LEVEL``,
``DP_EPSILON_BUDGET``, ``MIN_COHORT_SIZE``) come from :mod:`conf.settings`;
this module adds what only the API needs. A missing or weak ``JWT_SECRET``
stops the app before it serves a single request, with a message naming the
variable; secrets are :class:`pydantic.SecretStr` so they never reach a log.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from conf.settings import (
    AnalyticsSettings,
    ConfigurationError,
    explain_invalid_settings,
    load_settings,
)
from serving.secret_strength import secret_problem

_SECRET_FIELDS = frozenset({"jwt_secret", "export_key"})
DAY_SECONDS = 86_400


def _check_secret_strength(value: SecretStr | None, variable: str) -> SecretStr | None:
    if value is None:
        return None
    problem = secret_problem(value.get_secret_value())
    if problem is not None:
        raise ValueError(f"{variable} {problem}")
    return value


class ServingSettings(BaseSettings):
    """What the API process needs beyond :class:`conf.settings.AnalyticsSettings`."""

    # An empty variable counts as unset: ``JWT_SECRET=`` is reported as missing.
    model_config = SettingsConfigDict(
        extra="ignore", case_sensitive=False, frozen=True, env_ignore_empty=True
    )

    jwt_secret: SecretStr = Field(
        validation_alias="JWT_SECRET",
        description="HMAC key (HS256) that signs and verifies bearer tokens; >= 32 random chars.",
    )
    jwt_ttl_seconds: int = Field(
        default=3600,
        ge=60,
        le=DAY_SECONDS * 30,
        validation_alias="JWT_TTL_SECONDS",
        description="Default lifetime of tokens minted by the CLI (at most JWT_MAX_TTL_SECONDS).",
    )
    jwt_max_ttl_seconds: int = Field(
        default=DAY_SECONDS,
        ge=60,
        le=DAY_SECONDS * 30,
        validation_alias="JWT_MAX_TTL_SECONDS",
        description="Longest token lifetime (exp - iat) accepted at verification and by the CLI.",
    )
    export_key: SecretStr | None = Field(
        default=None,
        validation_alias="EXPORT_KEY",
        description="Secret from which per-export pseudonym keys are derived (learner_progress).",
    )
    rate_limit_public: str = Field(default="60 per minute", validation_alias="RATE_LIMIT_PUBLIC")
    rate_limit_authenticated: str = Field(
        default="300 per minute", validation_alias="RATE_LIMIT_AUTHENTICATED"
    )
    rate_limit_storage_uri: str = Field(
        default="memory://",
        validation_alias="RATE_LIMIT_STORAGE_URI",
        description="Flask-Limiter storage; use redis://... so several workers share counts.",
    )
    audit_log_dir: Path | None = Field(default=None, validation_alias="AUDIT_LOG_DIR")
    audit_retention_days: int = Field(
        default=400,
        ge=1,
        le=3650,
        validation_alias="AUDIT_RETENTION_DAYS",
        description="Daily audit files older than this are deleted (at start-up and daily).",
    )
    trusted_proxy_hops: int = Field(
        default=0,
        ge=0,
        le=5,
        validation_alias="TRUSTED_PROXY_HOPS",
        description="Reverse proxies in front of the API whose X-Forwarded-* headers are "
        "trusted (0: ignore them, so clients cannot spoof their address).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias="LOG_LEVEL"
    )
    table_refresh_seconds: float = Field(
        default=1.0, ge=0.0, le=3600.0, validation_alias="TABLE_REFRESH_SECONDS"
    )
    environment: Literal["production", "development"] = Field(
        default="production",
        validation_alias="SERVING_ENV",
        description="'development' adds violation details to privacy_violation bodies.",
    )
    pii_max_depth: int = Field(default=5, ge=2, le=16, validation_alias="PII_MAX_DEPTH")

    @field_validator("jwt_secret")
    @classmethod
    def _jwt_secret_is_strong(cls, value: SecretStr) -> SecretStr:
        checked = _check_secret_strength(value, "JWT_SECRET")
        assert checked is not None  # the field is required, so never None here
        return checked

    @field_validator("export_key")
    @classmethod
    def _export_key_is_strong(cls, value: SecretStr | None) -> SecretStr | None:
        return _check_secret_strength(value, "EXPORT_KEY")

    @model_validator(mode="after")
    def _ttl_within_maximum(self) -> ServingSettings:
        if self.jwt_ttl_seconds > self.jwt_max_ttl_seconds:
            raise ValueError(
                f"JWT_TTL_SECONDS ({self.jwt_ttl_seconds}) exceeds JWT_MAX_TTL_SECONDS "
                f"({self.jwt_max_ttl_seconds})"
            )
        return self

    @property
    def rate_limits_shared(self) -> bool:
        """Whether rate-limit counts are shared by every worker (not in process memory)."""
        return not self.rate_limit_storage_uri.startswith("memory://")

    @field_validator("rate_limit_public", "rate_limit_authenticated")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as error:
            raise ValueError(f"not a rate limit like '300 per minute': {error}") from None
        return value


class AppConfig:
    """Both settings objects the app runs with, plus the paths derived from them."""

    def __init__(self, analytics: AnalyticsSettings, serving: ServingSettings) -> None:
        """Bundle the two settings objects.

        Args:
            analytics: Shared settings (data root, privacy defaults, cohort size).
            serving: API-only settings (secrets, limits, log directory).
        """
        self.analytics = analytics
        self.serving = serving

    def curated_path(self, table: str) -> str:
        """Location of a curated Delta table."""
        return self.analytics.path("curated", table)

    def ops_path(self, table: str) -> str:
        """Location of an ops table (job_runs, privacy_budget, tenants)."""
        return self.analytics.path("ops", table)

    @property
    def audit_log_dir(self) -> Path:
        """The audit log directory: ``AUDIT_LOG_DIR`` or ``<DATA_ROOT>/ops/audit``."""
        return self.serving.audit_log_dir or Path(self.analytics.path("ops", "audit"))


def load_app_config(config: Mapping[str, Any] | None = None) -> AppConfig:
    """Read the environment, let ``config`` (keys are environment variable names) override it.

    Args:
        config: Overrides such as ``{"JWT_SECRET": ..., "DATA_ROOT": ...}``; tests use this.

    Raises:
        ConfigurationError: A variable is missing or invalid; the message names it.
    """
    overrides = {
        str(key).upper(): value
        for key, value in (config or {}).items()
        # Like an empty environment variable, an empty override counts as unset.
        if not (isinstance(value, str) and not value.strip())
    }
    analytics_fields = {
        name: overrides[str(info.validation_alias)]
        for name, info in AnalyticsSettings.model_fields.items()
        if isinstance(info.validation_alias, str) and str(info.validation_alias) in overrides
    }
    analytics = load_settings(**analytics_fields)
    try:
        serving = ServingSettings(**overrides)
    except ValidationError as error:
        raise ConfigurationError(
            explain_invalid_settings(
                error, ServingSettings, _SECRET_FIELDS, "Invalid API configuration"
            )
        ) from None
    return AppConfig(analytics, serving)
