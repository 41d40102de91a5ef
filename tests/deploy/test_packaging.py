"""Packaging: PEP 621 metadata, a lock file that satisfies it, package data, no repository-root defaults."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_every_declared_dependency_is_locked_within_its_range():
    pins = _lock()
    declared = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in PROJECT["optional-dependencies"].values():
        declared += [Requirement(r) for r in extra]
    for requirement in declared:
        name = canonicalize_name(requirement.name)
        if name == canonicalize_name(PROJECT["name"]):
            continue  # an extra that includes other extras
        assert name in pins, f"{requirement} is not in requirements.lock (run make lock)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            requirement,
            pins[name],
        )


def test_spark_and_delta_stay_on_matching_minor_versions():
    pins = _lock()
    spark, delta = pins["pyspark"], pins["delta-spark"]
    assert spark.split(".")[:2] == delta.split(".")[:2] == ["4", "0"]


def test_api_extra_needs_no_spark():
    api = [canonicalize_name(Requirement(r).name) for r in PROJECT["optional-dependencies"]["api"]]
    base = [canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]]
    assert not {"pyspark", "delta-spark", "py4j"} & set(api + base)


def test_console_scripts_point_at_real_functions():
    import importlib

    for name, target in PROJECT["scripts"].items():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), name


def test_every_package_is_typed_and_setup_py_is_a_shim():
    for package in ("contracts", "jobs", "privacy_udfs", "serving", "conf"):
        assert (REPO / package / "py.typed").is_file(), package
    setup_py = (REPO / "setup.py").read_text()
    assert "setup()" in setup_py and "install_requires" not in setup_py


def test_no_default_is_derived_from_the_repository_root():
    pattern = re.compile(r"PROJECT_ROOT|parents\[1\]|parent\.parent(?!\s*/\s*\"static\")")
    offenders = []
    for package in ("contracts", "jobs", "privacy_udfs", "serving", "conf"):
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text()
            if path.name == "dictionary.py":
                continue  # a developer tool that regenerates docs/ in a checkout
            offenders += [f"{path.relative_to(REPO)}" for _ in pattern.finditer(text)]
    assert offenders == []
