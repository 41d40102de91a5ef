"""Settings read from the environment with validation.

Every value has a documented default suitable for ``make demo``; an invalid
value fails at start-up with a message naming the variable. Secrets (the
pseudonym key) are held as :class:`pydantic.SecretStr` so they never appear
in ``repr``, logs or error messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.levels import PrivacyLevel

_SECRET_FIELDS = frozenset({"pseudonym_key"})


class ConfigurationError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


class AnalyticsSettings(BaseSettings):
    """All runtime settings of the jobs and the API, one environment variable each."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, frozen=True)

    data_root: str = Field(
        default="./data",
        validation_alias="DATA_ROOT",
        description="Root of raw/, curated/, quarantine/ and ops/ (any URI Spark and delta-rs accept).",
    )
    default_privacy_level: PrivacyLevel = Field(
        default=PrivacyLevel.ANONYMIZED, validation_alias="DEFAULT_PRIVACY_LEVEL"
    )
    dp_epsilon_budget: float = Field(
        default=2.0,
        gt=0,
        validation_alias="DP_EPSILON_BUDGET",
        description=(
            "Total epsilon a tenant may be charged per fixed accounting window "
            "(DP_BUDGET_WINDOW), summed over every release whose input touches the window."
        ),
    )
    dp_delta: float = Field(
        default=1e-6,
        gt=0,
        lt=1e-3,
        validation_alias="DP_DELTA",
        description=(
            "δ at which zCDP releases and each window's composed privacy loss are stated "
            "as (ε, δ)-DP."
        ),
    )
    dp_budget_window: Literal["month", "quarter"] = Field(
        default="quarter",
        validation_alias="DP_BUDGET_WINDOW",
        description="Fixed calendar accounting window of the privacy budget: month or quarter.",
    )
    min_cohort_size: int = Field(default=5, ge=2, le=1000, validation_alias="MIN_COHORT_SIZE")
    etl_batch_size: int = Field(
        default=1000,
        ge=1,
        le=1_000_000,
        validation_alias="ETL_BATCH_SIZE",
        description="Rows per Arrow batch handed to the vectorized noise UDFs.",
    )
    etl_retention_days: int = Field(default=365, ge=1, validation_alias="ETL_RETENTION_DAYS")
    pseudonym_key: SecretStr | None = Field(default=None, validation_alias="PSEUDONYM_KEY")
    pseudonym_key_file: Path | None = Field(default=None, validation_alias="PSEUDONYM_KEY_FILE")
    pseudonym_key_version: str = Field(
        default="v1", min_length=1, max_length=64, validation_alias="PSEUDONYM_KEY_VERSION"
    )
    environment: Literal["development", "production"] = Field(
        default="development",
        validation_alias="ANALYTICS_ENV",
        description=(
            "development: without PSEUDONYM_KEY(_FILE) the jobs use the demo key make demo "
            "writes to .secrets/pseudonym.key; production: a configured key is required."
        ),
    )
    spark_master: str | None = Field(default=None, validation_alias="SPARK_MASTER")
    shuffle_partitions: int = Field(
        default=8, ge=1, le=100_000, validation_alias="SPARK_SHUFFLE_PARTITIONS"
    )
    release_threads: int = Field(
        default=3,
        ge=1,
        le=16,
        validation_alias="RELEASE_THREADS",
        description=(
            "Curated tables computed and written at the same time in one run. A table's "
            "release is a chain of small Spark jobs; running several keeps the cores busy."
        ),
    )

    @field_validator("data_root")
    @classmethod
    def _normalize_root(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        if "://" not in value and not value.startswith("/"):
            # Relative local paths (./data) are made absolute: Delta's table builder and
            # executors in other working directories must all see the same location.
            value = str(Path(value).resolve())
        return value.rstrip("/") or "/"

    def path(self, *parts: str) -> str:
        """Join ``parts`` under the data root, e.g. ``path("curated", "mastery_progress")``."""
        return "/".join([self.data_root, *parts])


def load_settings(**overrides: object) -> AnalyticsSettings:
    """Read settings from the environment, applying ``overrides`` (by field name).

    Raises:
        ConfigurationError: Naming each invalid variable and why.
    """
    try:
        return AnalyticsSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        message = explain_invalid_settings(
            error, AnalyticsSettings, _SECRET_FIELDS, "Invalid configuration"
        )
        raise ConfigurationError(message) from None


def explain_invalid_settings(
    error: ValidationError,
    model: type[BaseSettings],
    secret_fields: frozenset[str],
    title: str,
) -> str:
    """One line naming every invalid environment variable, never echoing a secret.

    Shared by the jobs' settings and the API's (``serving.config``): an issue is reported
    under its environment variable whether pydantic located it by field name or by alias;
    the input is shown unless it is a secret, missing, or the whole model (which holds
    the secrets too).
    """
    aliases = {
        name: str(info.validation_alias)
        for name, info in model.model_fields.items()
        if isinstance(info.validation_alias, str)
    }
    field_of_alias = {alias.upper(): name for name, alias in aliases.items()}
    problems = []
    for issue in error.errors():
        located = str(issue["loc"][0]) if issue["loc"] else ""
        field = located if located in model.model_fields else field_of_alias.get(located.upper())
        variable = aliases.get(field or "", located or "configuration").upper()
        missing = issue["type"] == "missing"
        hidden = missing or not located or field in secret_fields
        shown = "" if hidden else f" (got {issue.get('input')!r})"
        problems.append(f"{variable}: {'is required' if missing else issue['msg']}{shown}")
    return f"{title}: " + "; ".join(problems)
