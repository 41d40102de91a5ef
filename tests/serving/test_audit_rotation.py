"""Daily audit files, retention, and a root viewer that reads indexes and one page, not history."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from serving.guards.audit import AuditLog, day_file
from serving.services.audit_reader import AuditIndex, EntryFilter, newest_first_page


def _record(day: date, index: int, endpoint: str, success: bool = True) -> dict[str, object]:
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=index)
    return {
        "timestamp": moment.timestamp(), "iso_timestamp": moment.isoformat(),
        "endpoint": endpoint, "action": endpoint.rsplit("/", 1)[-1], "caller_hash": "anonymous",
        "role": "public", "caller_tenant": None, "status": 200 if success else 403,
        "success": success, "parameters": {"n": str(index)}, "redacted_parameters": [],
        "events": [],
    }  # fmt: skip


# One record as the API writes it (compact JSON, the same key order), as a fast template.
_LINE = (
    '{{"timestamp":{ts},"iso_timestamp":"{iso}","endpoint":"{endpoint}","action":"{action}",'
    '"caller_hash":"anonymous","role":"public","caller_tenant":null,"status":{status},'
    '"success":{success},"parameters":{{"n":"{n}"}},"redacted_parameters":[],"events":[]}}'
)


def write_days(directory: Path, days: list[date], per_day: int) -> None:
    """Per day, ``per_day`` records: every 4th for the public metrics, every 10th failed."""
    directory.mkdir(parents=True, exist_ok=True)
    for day in days:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        iso = day.isoformat() + "T00:00:00+00:00"
        lines = []
        for i in range(per_day):
            endpoint = "/api/v1/health" if i % 4 else "/api/public/metrics"
            success = i % 10 != 0
            lines.append(_LINE.format(
                ts=start + i, iso=iso, endpoint=endpoint, action=endpoint.rsplit("/", 1)[-1],
                status=200 if success else 403, success="true" if success else "false", n=i,
            ))  # fmt: skip
        day_file(directory, "access", day).write_text("\n".join(lines) + "\n")


def test_records_go_to_the_file_of_their_utc_day_and_old_files_are_purged(tmp_path):
    directory = tmp_path / "audit"
    today = datetime.now(tz=UTC).date()
    write_days(directory, [today - timedelta(days=40), today - timedelta(days=5)], 3)
    log = AuditLog(directory, retention_days=30)
    assert not day_file(directory, "access", today - timedelta(days=40)).exists()
    assert day_file(directory, "access", today - timedelta(days=5)).exists()
    log.record_access({"timestamp": 1.0, "endpoint": "/x"})
    log.record_export({"timestamp": 1.0, "kind": "dataset"})
    assert log.access_path == day_file(directory, "access", today)
    assert json.loads(log.access_path.read_text())["endpoint"] == "/x"
    assert json.loads(log.export_path.read_text())["kind"] == "dataset"


def test_pages_skip_whole_days_by_their_index_and_match_a_full_scan(tmp_path):
    directory = tmp_path / "audit"
    days = [date(2025, 1, 1) + timedelta(days=d) for d in range(5)]
    write_days(directory, days, 40)
    index = AuditIndex()
    everything = newest_first_page(directory, index, EntryFilter(), 0, 1000)
    assert everything.total_matched == 200
    newest = [e["timestamp"] for e in everything.entries]
    assert newest == sorted(newest, reverse=True)
    selection = EntryFilter(endpoint="/api/v1/health", success=False)
    expected = [e for e in everything.entries if e["endpoint"] == "/api/v1/health"
                and e["success"] is False]  # fmt: skip
    for offset in (0, 3, 11, 29):
        page = newest_first_page(directory, index, selection, offset, 4)
        assert page.total_matched == len(expected)
        assert page.entries == expected[offset : offset + 4]
    assert page.endpoints == ["/api/public/metrics", "/api/v1/health"]
    # Closed days keep their index beside them; a new worker reads it instead of the lines.
    sidecars = sorted(p.name for p in directory.glob("*.idx.json"))
    assert sidecars == [f"access-{d.isoformat()}.idx.json" for d in days]
    bounded = newest_first_page(directory, AuditIndex(), EntryFilter(*_day_range(days[1], days[2])),
                                0, 1000)  # fmt: skip
    assert bounded.total_matched == 80


def _day_range(first: date, last: date) -> tuple[float, float]:
    start = datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp()
    end = datetime(last.year, last.month, last.day, 23, 59, 59, tzinfo=UTC).timestamp()
    return start, end


def test_a_stale_sidecar_is_rebuilt_when_its_file_grew(tmp_path):
    directory = tmp_path / "audit"
    day = date(2025, 1, 1)
    write_days(directory, [day], 10)
    assert newest_first_page(directory, AuditIndex(), EntryFilter(), 0, 1).total_matched == 10
    with day_file(directory, "access", day).open("a") as handle:
        handle.write(json.dumps(_record(day, 99, "/api/v1/health")) + "\n")
    assert newest_first_page(directory, AuditIndex(), EntryFilter(), 0, 1).total_matched == 11


def test_viewer_pages_over_60k_records_without_reading_the_history(tmp_path):
    """60k records over 6 days: a deep page and a filtered page stay fast once indexed.

    bench/bench_audit_viewer.py runs the same on 1M records (docs/BENCHMARKS.md).
    """
    import time

    directory = tmp_path / "audit"
    write_days(directory, [date(2025, 1, 1) + timedelta(days=d) for d in range(6)], 10_000)
    assert newest_first_page(directory, AuditIndex(), EntryFilter(), 0, 1).total_matched == 60_000
    for selection, offset in ((EntryFilter(), 45_000),
                              (EntryFilter(endpoint="/api/public/metrics", success=False), 900)):  # fmt: skip
        started = time.perf_counter()
        page = newest_first_page(directory, AuditIndex(), selection, offset, 100)
        elapsed = time.perf_counter() - started
        assert len(page.entries) == 100
        assert elapsed < 1.0, f"{selection}: {elapsed:.2f} s"
