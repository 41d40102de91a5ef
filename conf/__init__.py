"""Configuration: environment-driven settings and per-job contribution bounds."""

from __future__ import annotations

from conf.settings import AnalyticsSettings, ConfigurationError, load_settings

__all__ = ["AnalyticsSettings", "ConfigurationError", "load_settings"]
