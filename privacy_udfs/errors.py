"""Named exceptions of the privacy engine; each message says what to fix."""

from __future__ import annotations


class PrivacyError(Exception):
    """Base of every exception the privacy engine raises on purpose (refusals included)."""


class PrivacyConfigurationError(PrivacyError, ValueError):
    """An argument of a privacy function is invalid; the message names it and why."""


class MissingColumnsError(PrivacyConfigurationError):
    """A DataFrame lacks columns a privacy function needs; lists them and what exists."""

    def __init__(self, what: str, missing: list[str], available: list[str]) -> None:
        self.missing = missing
        super().__init__(
            f"{what}: missing column(s) {missing}; the DataFrame has {sorted(available)}"
        )


def require_columns(what: str, available: list[str], needed: list[str]) -> None:
    """Raise :class:`MissingColumnsError` naming every column of ``needed`` not in ``available``."""
    missing = [name for name in needed if name not in available]
    if missing:
        raise MissingColumnsError(what, missing, available)
