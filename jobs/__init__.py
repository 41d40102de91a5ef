"""Spark batch jobs: raw learner-event Delta tables in, curated private Delta tables out.

``python -m jobs.<table>`` runs one curated job. There is no file per job: the finder
below answers ``jobs.<table>`` for every table of ``contracts.curated.CURATED_TABLES``
with a small module built from the job registry (``jobs/registry.py``), so a job is
declared once. Importing this package imports neither pyspark nor the registry.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

_JOB_MODULE = '''"""{name}: {description}

    python -m jobs.{name} --start YYYY-MM-DD --end YYYY-MM-DD [--tenant UUID]
        [--privacy-level LEVEL] [--run-id UUID] [--data-root PATH]

Declared in jobs/registry.py; how each metric is computed and protected:
jobs/transforms/{name}.py.
"""

from jobs.cli import job_entry_point
from jobs.registry import job_named

JOB = job_named({name!r})
main = job_entry_point(JOB, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
'''


class _JobModuleLoader(importlib.abc.InspectLoader):
    """Source of ``jobs.<table>``: the registry's job and its ``main()``."""

    def __init__(self, name: str, description: str) -> None:
        self.name = name
        self.description = description

    def is_package(self, fullname: str) -> bool:
        return False

    def get_source(self, fullname: str) -> str:
        return _JOB_MODULE.format(name=self.name, description=self.description)


class _JobModuleFinder(importlib.abc.MetaPathFinder):
    """Finds ``jobs.<table>`` for curated tables (after every file-based finder)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        package, _, name = fullname.partition(".")
        if package != __name__ or not name or "." in name:
            return None
        from contracts.curated import CURATED_TABLES

        table = CURATED_TABLES.get(name)
        if table is None:
            return None
        loader = _JobModuleLoader(name, table.description)
        return importlib.util.spec_from_loader(fullname, loader, origin="jobs/registry.py")


if not any(isinstance(finder, _JobModuleFinder) for finder in sys.meta_path):
    sys.meta_path.append(_JobModuleFinder())
