"""The per-worker table registry and the per-request view of it (on ``flask.g``).

A request pins the version of each table the first time it touches it, so
every read within one response comes from the same committed version even
if a job commits a new one mid-request.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from flask import Flask, current_app, g

from contracts.curated import CURATED_TABLES
from serving.config import AppConfig
from serving.data.tables import DeltaTableReader, SliceCache, TableSnapshot

OPS_TABLES = ("job_runs", "privacy_budget", "tenants")
SLICE_CACHE_ENTRIES = 4096
_EXTENSION = "analytics_tables"


class TableStore:
    """Readers for every curated and ops table this API may read, and the slice cache."""

    def __init__(self, config: AppConfig) -> None:
        """Create (unopened) readers for all known tables.

        Args:
            config: Supplies the data root and the refresh interval.
        """
        refresh = config.serving.table_refresh_seconds
        self._readers: dict[str, DeltaTableReader] = {
            name: DeltaTableReader(name, config.curated_path(name), refresh_seconds=refresh)
            for name in CURATED_TABLES
        }
        for name in OPS_TABLES:
            self._readers[name] = DeltaTableReader(
                name, config.ops_path(name), refresh_seconds=refresh
            )
        self.slices = SliceCache(SLICE_CACHE_ENTRIES)

    def reader(self, name: str) -> DeltaTableReader:
        """The reader of table ``name`` (a programming error if unknown)."""
        return self._readers[name]


class RequestTables:
    """Table access for one request: versions pinned on first use."""

    def __init__(self, store: TableStore) -> None:
        """Start with nothing pinned.

        Args:
            store: The worker's table registry.
        """
        self._store = store
        self._pinned: dict[str, TableSnapshot] = {}

    def snapshot(self, name: str) -> TableSnapshot:
        """The version of ``name`` this request reads.

        Raises:
            serving.data.tables.TableUnavailableError: The table is missing.
        """
        if name not in self._pinned:
            self._pinned[name] = self._store.reader(name).snapshot()
        return self._pinned[name]

    def rows(
        self,
        name: str,
        conditions: dict[str, object],
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """Rows of ``name`` matching ``column == value`` for each condition (cached per version)."""
        return self._store.slices.read(self.snapshot(name), conditions, columns)

    def release(self) -> None:
        """Drop the pinned versions (called at request teardown)."""
        self._pinned.clear()


def init_table_store(app: Flask, config: AppConfig) -> None:
    """Attach the worker's :class:`TableStore` and the teardown that releases request pins."""
    app.extensions[_EXTENSION] = TableStore(config)

    @app.teardown_request
    def _release_tables(_error: BaseException | None) -> None:
        tables = g.pop("tables", None)
        if tables is not None:
            tables.release()


def get_tables() -> RequestTables:
    """The current request's table view, created on first use (flask tutorial ``get_db`` style)."""
    if "tables" not in g:
        g.tables = RequestTables(current_app.extensions[_EXTENSION])
    tables: RequestTables = g.tables
    return tables
