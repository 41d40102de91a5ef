"""Invalid settings are explained once, the same way for the jobs and for the API."""

from __future__ import annotations

import pytest

from conf.settings import ConfigurationError, load_settings
from serving.config import load_app_config


def test_jobs_settings_name_the_variable_and_hide_the_key() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(
            dp_epsilon_budget=-1, pseudonym_key="super-secret-key-value" * 2, k_threshold=0
        )
    message = str(caught.value)
    assert message.startswith("Invalid configuration: ")
    assert "DP_EPSILON_BUDGET:" in message and "(got -1)" in message
    assert "super-secret" not in message


def test_api_settings_use_the_same_explanation(tmp_path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_app_config(
            {"DATA_ROOT": str(tmp_path), "JWT_SECRET": "", "JWT_MAX_TTL_SECONDS": "soon"}
        )
    message = str(caught.value)
    assert message.startswith("Invalid API configuration: ")
    assert "JWT_SECRET: is required" in message
    assert "JWT_MAX_TTL_SECONDS:" in message and "(got 'soon')" in message
