"""Every exception a package raises on purpose derives from that package's base.

``except PrivacyError`` / ``except JobError`` / ``except ApiError`` must catch every
refusal of the package and nothing foreign; a new exception class that forgets its base
fails here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from jobs.errors import JobError
from privacy_udfs.errors import PrivacyError
from serving.exceptions import ApiError

BASES = {"jobs": JobError, "privacy_udfs": PrivacyError, "serving": ApiError}


def exceptions_defined_in(package: str) -> list[type[BaseException]]:
    """Exception classes whose home module is inside ``package``."""
    found: dict[str, type[BaseException]] = {}
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, f"{package}."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith(f"{package}."):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


@pytest.mark.parametrize("package", sorted(BASES))
def test_every_exception_of_a_package_derives_from_its_base(package: str) -> None:
    classes = exceptions_defined_in(package)
    assert len(classes) >= 3, f"{package}: the walk found too few exceptions to mean anything"
    stray = [c.__qualname__ for c in classes if not issubclass(c, BASES[package])]
    assert stray == []


def test_refusals_keep_the_builtin_bases_callers_already_catch() -> None:
    from jobs.arguments import JobArgumentError
    from jobs.delta_io import RawTableMissingError
    from privacy_udfs.budget import BudgetExceededError
    from privacy_udfs.errors import PrivacyConfigurationError

    assert issubclass(JobArgumentError, ValueError)
    assert issubclass(RawTableMissingError, FileNotFoundError)
    assert issubclass(PrivacyConfigurationError, ValueError)
    assert issubclass(BudgetExceededError, RuntimeError)


def test_a_serving_exception_carries_its_answer() -> None:
    from serving.data.tables import TableUnavailableError

    error = TableUnavailableError("session_daily")
    assert error.status == 503 and error.body.error == "data_unavailable"
    assert error.headers == {"Retry-After": "60"} and error.table == "session_daily"
