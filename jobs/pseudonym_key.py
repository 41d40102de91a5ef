"""Where the jobs find the pseudonym key, resolved before Spark starts.

Production (``ANALYTICS_ENV=production``): only ``PSEUDONYM_KEY`` or
``PSEUDONYM_KEY_FILE``; without one the job refuses to start. Development (the
default): the same, else the installation's demo key that ``make demo`` writes
to ``.secrets/pseudonym.key`` at the project root, outside the data root, so
copying or sharing ``data/`` never copies the key.
"""

from __future__ import annotations

from pathlib import Path

from conf.settings import AnalyticsSettings
from privacy_udfs.keys import PseudonymKey, PseudonymKeyError, load_pseudonym_key

# Development only: the demo key sits in the working directory (the checkout for `make demo`),
# outside the data root; production settings never read it.
DEV_KEY_FILE = Path.cwd() / ".secrets" / "pseudonym.key"


def configured_key_file(settings: AnalyticsSettings) -> Path | None:
    """The key file the jobs will read, or ``None`` when the key is given inline or missing."""
    if settings.pseudonym_key is not None:
        return None
    if settings.pseudonym_key_file is not None:
        return settings.pseudonym_key_file
    if settings.environment == "development" and DEV_KEY_FILE.exists():
        return DEV_KEY_FILE
    return None


def resolve_pseudonym_key(settings: AnalyticsSettings) -> PseudonymKey:
    """Load and validate the run's key; no Spark needed, so a bad key fails in seconds.

    Raises:
        PseudonymKeyError: No key configured (naming the variables and, in development,
            ``make demo``), unreadable file, or a weak key.
    """
    if settings.pseudonym_key is not None:
        return load_pseudonym_key(
            settings.pseudonym_key.get_secret_value(), None, settings.pseudonym_key_version
        )
    key_file = configured_key_file(settings)
    if key_file is None:
        hint = (
            " (ANALYTICS_ENV=production: the development key is never used)"
            if settings.environment == "production"
            else f" (in development, `make demo` creates {DEV_KEY_FILE})"
        )
        raise PseudonymKeyError(
            "No pseudonym key configured: set PSEUDONYM_KEY or PSEUDONYM_KEY_FILE" + hint
        )
    return load_pseudonym_key(None, key_file, settings.pseudonym_key_version)
