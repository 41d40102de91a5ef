"""Reading the audit log back: aggregates for admins, pages for root.

The access log is one file per UTC day. Each file has an index: how many
entries it holds per (endpoint, action, success), plus its endpoints and
actions. A closed day's index is computed once and kept beside it
(``access-DAY.idx.json``, atomically replaced, rebuilt if the file grew); the
open day's index is extended in memory with the bytes appended since the
last look. A page of the root viewer therefore costs the indexes of the
days in range plus the few lines of the page, not the whole history: files
wholly before the requested offset are skipped by their counts, and lines
are pre-filtered on their raw JSON text before any is decoded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from serving.guards.audit import DAY_FILE, LEGACY_ACCESS_LOG, clean_entry

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
           "90d": timedelta(days=90)}  # fmt: skip
PHASES = {
    "phase_1_data_access": "curated tables only; no raw/ path configured in the API",
    "phase_2_pii_validation": "active on every route",
    "phase_3_cohort_guard": "active on every route",
    "phase_4_rate_limits_audit_exports": "active on every route",
    "phase_5_ci_checks": "tests/serving walks every route through every guard",
    "phase_6_audit_access": "admin: aggregates; root: entries and exports",
}
_INDEX_VERSION = 1
GroupKey = tuple[str, str, bool]
_HEAD = re.compile(rb'^\{"timestamp":[^,]*,"iso_timestamp":"[^"]*","endpoint":"((?:[^"\\]|\\.)*)",'
                   rb'"action":"((?:[^"\\]|\\.)*)"')  # fmt: skip


def _unescape(raw: bytes) -> str:
    if b"\\" not in raw:
        return raw.decode("utf-8", "replace")
    return str(json.loads(b'"' + raw + b'"'))


@dataclass(frozen=True)
class EntryFilter:
    """Which audit entries to keep."""

    since: float | None = None
    until: float | None = None
    endpoint: str | None = None
    action: str | None = None
    success: bool | None = None
    caller_tenant: str | None = None

    def needles(self) -> list[bytes]:
        """Raw JSON fragments every matching line contains (the writer's compact form)."""
        found = []
        for key, value in (("endpoint", self.endpoint), ("action", self.action),
                           ("success", self.success), ("caller_tenant", self.caller_tenant)):  # fmt: skip
            if value is not None:
                found.append(f'"{key}":{json.dumps(value)}'.encode())
        return found

    def matches_group(self, key: GroupKey) -> bool:
        """Whether entries of an index group (endpoint, action, success) match."""
        endpoint, action, success = key
        return (
            (self.endpoint is None or endpoint == self.endpoint)
            and (self.action is None or action == self.action)
            and (self.success is None or success == self.success)
        )

    def matches(self, entry: dict[str, Any]) -> bool:
        """Whether one decoded entry matches."""
        stamp = entry.get("timestamp", 0)
        return all((
            self.since is None or stamp >= self.since,
            self.until is None or stamp <= self.until,
            self.endpoint is None or entry.get("endpoint") == self.endpoint,
            self.action is None or entry.get("action") == self.action,
            self.success is None or entry.get("success") == self.success,
            self.caller_tenant is None or entry.get("caller_tenant") == self.caller_tenant,
        ))  # fmt: skip


def day_bounds(start: date | None, end: date | None) -> tuple[float | None, float | None]:
    """Unix bounds of whole UTC days ``[start, end]``."""
    since = datetime.combine(start, time.min, UTC).timestamp() if start else None
    until = datetime.combine(end, time.max, UTC).timestamp() if end else None
    return since, until


@dataclass(frozen=True)
class AuditFile:
    """One access log file; ``day`` is None for the legacy single file."""

    path: Path
    day: date | None


def access_files(directory: Path, since: float | None, until: float | None) -> list[AuditFile]:
    """Access log files that may hold entries in ``[since, until]``, oldest first."""
    first = datetime.fromtimestamp(since, UTC).date() if since is not None else None
    last = datetime.fromtimestamp(until, UTC).date() if until is not None else None
    files: list[AuditFile] = []
    legacy = directory / LEGACY_ACCESS_LOG
    if legacy.exists():
        files.append(AuditFile(legacy, None))
    if not directory.exists():
        return files
    days = []
    for path in directory.iterdir():
        match = DAY_FILE.match(path.name)
        if match and match.group(1) == "access":
            day = date.fromisoformat(match.group(2))
            if (first is None or day >= first) and (last is None or day <= last):
                days.append(AuditFile(path, day))
    return files + sorted(days, key=lambda f: f.day or date.min)


@dataclass
class FileIndex:
    """Counts of one access file per (endpoint, action, success), up to ``size`` bytes."""

    size: int = 0
    groups: Counter[GroupKey] = field(default_factory=Counter)

    def add_lines(self, data: bytes) -> None:
        """Count the complete lines of ``data``.

        Lines of this writer are read without decoding them (the top-level endpoint
        and action come first, before any parameter could repeat their names, and the
        top-level success last); any other line is decoded.
        """
        groups = self.groups
        for line in data.splitlines():
            head = _HEAD.search(line)
            at = line.rfind(b',"success":')
            if head is not None and at > head.end():
                success = line.startswith(b"true", at + 11)
                groups[(_unescape(head.group(1)), _unescape(head.group(2)), success)] += 1
                continue
            entry = _decode(line)
            if entry is not None:
                key = (str(entry.get("endpoint")), str(entry.get("action")),
                       bool(entry.get("success")))  # fmt: skip
                groups[key] += 1

    def count(self, selection: EntryFilter) -> int:
        """Entries matching the endpoint/action/success part of ``selection``."""
        return sum(n for key, n in self.groups.items() if selection.matches_group(key))

    def to_json(self) -> str:
        """Serialized form of the sidecar file."""
        rows = [[*key, n] for key, n in self.groups.items()]
        return json.dumps({"version": _INDEX_VERSION, "size": self.size, "groups": rows})

    @classmethod
    def from_json(cls, text: str) -> FileIndex | None:
        """Parse a sidecar, or None if it is not one this version wrote."""
        try:
            data = json.loads(text)
            if data.get("version") != _INDEX_VERSION:
                return None
            groups: Counter[GroupKey] = Counter()
            for endpoint, action, success, n in data["groups"]:
                groups[(str(endpoint), str(action), bool(success))] = int(n)
            return cls(size=int(data["size"]), groups=groups)
        except (ValueError, KeyError, TypeError):
            return None


def _decode(line: bytes) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return entry if isinstance(entry, dict) else None


class AuditIndex:
    """Per-worker cache of file indexes (closed days also persisted beside their file)."""

    def __init__(self) -> None:
        """Start empty."""
        self._indexes: dict[Path, FileIndex] = {}
        self._lock = threading.Lock()

    def index(self, audit_file: AuditFile) -> FileIndex:
        """The up-to-date index of ``audit_file``."""
        path = audit_file.path
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return FileIndex()
        with self._lock:
            known = self._indexes.get(path)
        if known is None or known.size > size:
            known = self._load_sidecar(path, size) or FileIndex()
        if known.size < size:
            known = self._extend(path, known, size)
            if audit_file.day is not None and audit_file.day < datetime.now(tz=UTC).date():
                self._store_sidecar(path, known)
        with self._lock:
            self._indexes[path] = known
        return known

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.with_suffix(".idx.json")

    def _load_sidecar(self, path: Path, size: int) -> FileIndex | None:
        try:
            loaded = FileIndex.from_json(self._sidecar(path).read_text())
        except OSError:
            return None
        return loaded if loaded is not None and loaded.size <= size else None

    def _store_sidecar(self, path: Path, index: FileIndex) -> None:
        temporary = self._sidecar(path).with_suffix(f".{os.getpid()}.tmp")
        with contextlib.suppress(OSError):  # an index is an optimisation, never required
            temporary.write_text(index.to_json())
            temporary.replace(self._sidecar(path))

    @staticmethod
    def _extend(path: Path, index: FileIndex, size: int) -> FileIndex:
        with path.open("rb") as handle:
            handle.seek(index.size)
            data = handle.read(size - index.size)
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits
        grown = FileIndex(size=index.size + len(complete), groups=Counter(index.groups))
        grown.add_lines(complete)
        return grown


def _lines_of(audit_file: AuditFile, size: int | None = None) -> list[bytes]:
    with audit_file.path.open("rb") as handle:
        data = handle.read() if size is None else handle.read(size)
    return data.splitlines()


def _whole_days(audit_file: AuditFile, selection: EntryFilter) -> bool:
    """Whether every entry of the file lies within the selection's time bounds."""
    if audit_file.day is None:
        return False
    start = datetime.combine(audit_file.day, time.min, UTC).timestamp()
    end = datetime.combine(audit_file.day, time.max, UTC).timestamp()
    return (selection.since is None or selection.since <= start) and (
        selection.until is None or selection.until >= end
    )


def iter_entries(directory: Path, selection: EntryFilter) -> Iterator[dict[str, Any]]:
    """Entries matching ``selection``, oldest first (unparseable lines skipped)."""
    needles = selection.needles()
    for audit_file in access_files(directory, selection.since, selection.until):
        with contextlib.suppress(FileNotFoundError):
            for line in _lines_of(audit_file):
                if all(needle in line for needle in needles):
                    entry = _decode(line)
                    if entry is not None and selection.matches(entry):
                        yield clean_entry(entry)


@dataclass(frozen=True)
class AuditPage:
    """One page of the root viewer."""

    entries: list[dict[str, Any]]
    total_matched: int
    endpoints: list[str]
    actions: list[str]


def newest_first_page(
    directory: Path, index: AuditIndex, selection: EntryFilter, offset: int, limit: int
) -> AuditPage:
    """Entries ``[offset, offset + limit)`` of the matches, newest first, with the total."""
    files = access_files(directory, selection.since, selection.until)
    indexes = {f.path: index.index(f) for f in files}
    endpoints: set[str] = set()
    actions: set[str] = set()
    for file_index in indexes.values():
        for endpoint, action, _ in file_index.groups:
            endpoints.add(endpoint)
            actions.add(action)
    needles = selection.needles()
    page: list[dict[str, Any]] = []
    total = 0
    skip = offset
    for audit_file in reversed(files):
        file_index = indexes[audit_file.path]
        if _whole_days(audit_file, selection):
            matched_here = file_index.count(selection)
            total += matched_here
            if skip >= matched_here or len(page) >= limit:
                skip -= min(skip, matched_here)
                continue
            candidates = _lines_of(audit_file, file_index.size)
        else:  # partial day (legacy file): decode and count each line
            candidates = _lines_of(audit_file)
            matched_lines = [
                line for line in candidates
                if all(n in line for n in needles) and (e := _decode(line)) and selection.matches(e)
            ]  # fmt: skip
            total += len(matched_lines)
            candidates = matched_lines
        for line in reversed(candidates):
            if len(page) >= limit:
                break
            if not all(needle in line for needle in needles):
                continue
            entry = _decode(line)
            if entry is None or not selection.matches(entry):
                continue
            if skip:
                skip -= 1
                continue
            page.append(clean_entry(entry))
    return AuditPage(page, total, sorted(endpoints), sorted(actions))


def summarize(entries: Iterator[dict[str, Any]]) -> dict[str, Any]:
    """Counts only: totals, failures, guard events, statuses and the busiest endpoints."""
    statuses: Counter[str] = Counter()
    endpoints: Counter[str] = Counter()
    totals = Counter[str]()
    for entry in entries:
        status = int(entry.get("status", 0))
        statuses[str(status)] += 1
        endpoints[str(entry.get("endpoint"))] += 1
        events = entry.get("events") or []
        totals["pii_blocks"] += "pii_blocked" in events
        totals["cohort_suppressions"] += sum(
            int(e.split(":", 1)[1]) for e in events if e.startswith("cohort_suppressed:")
        )
        totals["rate_limited"] += status == 429
        totals["auth_failures"] += status in (401, 403)
        totals["exports"] += "export" in events
    total = sum(statuses.values())
    failed = sum(n for code, n in statuses.items() if int(code) >= 400)
    return {
        "total_requests": total,
        "successful_requests": total - failed,
        "failed_requests": failed,
        "pii_blocks": totals["pii_blocks"],
        "cohort_suppressions": totals["cohort_suppressions"],
        "rate_limited": totals["rate_limited"],
        "auth_failures": totals["auth_failures"],
        "exports": totals["exports"],
        "status_counts": dict(statuses),
        "top_endpoints": [
            {"endpoint": endpoint, "requests": count}
            for endpoint, count in endpoints.most_common(10)
        ],
        "phases": PHASES,
    }
