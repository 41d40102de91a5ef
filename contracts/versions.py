"""The project's version: one definition, ``version`` in pyproject.toml.

Read from the installed distribution's metadata (``make setup`` installs the checkout in
editable mode, the images install the wheel), so the API's ``/api/v1/health``, the
OpenAPI document and the image tags all say the same version.
"""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "privacy-learning-analytics"


def package_version() -> str:
    """The installed version, or ``0+unknown`` when the code runs without being installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


PACKAGE_VERSION = package_version()
