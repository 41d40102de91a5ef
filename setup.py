"""Thin shim: the package metadata lives in pyproject.toml (PEP 621).

Kept so that tools and docs that call ``setup.py`` keep working; ``pip install .``
reads pyproject.toml.
"""

from __future__ import annotations

from setuptools import setup

setup()
