"""Curated and ops Delta tables, kept open per worker and refreshed cheaply.

Each :class:`DeltaTableReader` holds one ``deltalake.DeltaTable`` for the life
of the worker. At most once per ``refresh_seconds`` it asks delta-rs for newer
log entries (``update_incremental``: a directory listing when nothing changed)
and only rebuilds its pyarrow dataset when the version moved. Readers always
see a whole committed version: a rewrite in another process adds new files
and removes old ones in a single commit, and the files of the version a
reader holds stay on disk until ``VACUUM``.

Filters are pyarrow expressions built from validated values
(``pc.field(name) == value``), never strings, so partition pruning and the
per-file statistics delta-rs attaches to each fragment do the work and no
user input is ever parsed as a predicate.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError, TableNotFoundError

from serving.exceptions import ApiError


class TableUnavailableError(ApiError):
    """A table the route needs does not exist (yet) or cannot be read: 503, retry later."""

    def __init__(self, table: str) -> None:
        """Record which table is missing.

        Args:
            table: Logical table name, e.g. ``session_daily``.
        """
        super().__init__(
            503,
            "data_unavailable",
            f"the {table} table has not been published yet; try again later",
            details={"table": table},
            headers={"Retry-After": "60"},
        )
        self.table = table


@dataclass(frozen=True)
class TableSnapshot:
    """One committed version of a table, as a pyarrow dataset."""

    name: str
    version: int
    committed_at: datetime
    dataset: pds.Dataset


class DeltaTableReader:
    """One Delta table, open for the worker's lifetime, with a version check at most every N s."""

    def __init__(
        self,
        name: str,
        uri: str,
        *,
        refresh_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Prepare the reader; nothing is opened until the first read.

        Args:
            name: Logical name used in errors (``session_daily``).
            uri: Table location (local path or any URI delta-rs accepts).
            refresh_seconds: Minimum time between version checks.
            clock: Monotonic clock; tests may pass their own.
        """
        self.name = name
        self.uri = uri
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._table: DeltaTable | None = None
        self._snapshot: TableSnapshot | None = None
        self._checked_at = float("-inf")

    def snapshot(self) -> TableSnapshot:
        """The latest known version, refreshed if the last check is older than the interval.

        Raises:
            TableUnavailableError: The table does not exist or cannot be read.
        """
        now = self._clock()
        if self._snapshot is not None and now - self._checked_at < self._refresh_seconds:
            return self._snapshot
        with self._lock:
            if self._snapshot is None or now - self._checked_at >= self._refresh_seconds:
                self._checked_at = now
                self._refresh()
        if self._snapshot is None:
            raise TableUnavailableError(self.name)
        return self._snapshot

    def invalidate(self) -> None:
        """Check for a newer version on the next read (after this process wrote one)."""
        with self._lock:
            self._checked_at = float("-inf")

    def _refresh(self) -> None:
        try:
            if self._table is None:
                self._table = DeltaTable(self.uri)
            else:
                self._table.update_incremental()
            version = self._table.version()
            if self._snapshot is None or self._snapshot.version != version:
                self._snapshot = self._load(self._table, version)
        except (TableNotFoundError, DeltaError, OSError):
            # A table that vanished or was never written: serve 503 until it appears.
            self._table = None
            self._snapshot = None

    def _load(self, table: DeltaTable, version: int) -> TableSnapshot:
        history = table.history(1)
        millis = history[0].get("timestamp") if history else None
        committed_at = (
            datetime.fromtimestamp(millis / 1000, tz=UTC)
            if isinstance(millis, int | float)
            else datetime.now(tz=UTC)
        )
        return TableSnapshot(self.name, version, committed_at, table.to_pyarrow_dataset())


def equals_all(conditions: dict[str, object]) -> pc.Expression | None:
    """AND of ``field == value`` for each item (``None`` when empty)."""
    expression: pc.Expression | None = None
    for column, value in conditions.items():
        term = pc.field(column) == pc.scalar(value)
        expression = term if expression is None else expression & term
    return expression


class SliceCache:
    """LRU of table slices keyed by (table, version, filter), per worker.

    Dashboards ask for the same tenant and privacy level over and over; the
    slice (one tenant's partition at one level) is read through the dataset
    once per table version and later requests filter it in memory. A new
    version changes the key, so stale slices are never served and age out.
    """

    def __init__(self, max_entries: int) -> None:
        """Create an empty cache.

        Args:
            max_entries: Slices kept; 0 disables caching.
        """
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[object, ...], pa.Table] = OrderedDict()
        self._lock = threading.Lock()

    def read(
        self,
        snapshot: TableSnapshot,
        conditions: dict[str, object],
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """Rows of ``snapshot`` where every ``column == value`` of ``conditions`` holds."""
        key = (
            snapshot.name,
            snapshot.version,
            tuple(sorted((k, str(v)) for k, v in conditions.items())),
            tuple(columns) if columns is not None else None,
        )
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                return cached
        rows = snapshot.dataset.to_table(
            filter=equals_all(conditions),
            columns=list(columns) if columns is not None else None,
            use_threads=False,
        )
        if self._max_entries > 0:
            with self._lock:
                self._entries[key] = rows
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
        return rows
