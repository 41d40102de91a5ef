"""Time the root audit viewer on N audit records (default 1M over 100 days).

    .venv/bin/python bench/bench_audit_viewer.py --records 1000000 --days 100

Prints the cold indexing time (first request of a worker, no sidecar indexes),
the warm time (a new worker reading the sidecars) and three pages: the newest,
one at offset N/2 and a filtered one. Records are written as the API writes
them (tests/serving/test_audit_rotation.write_days).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serving.services.audit_reader import AuditIndex, EntryFilter, newest_first_page
from tests.serving.test_audit_rotation import write_days


def main() -> None:
    """Write the records, then time the viewer."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=100)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="audit-bench-"))
    days = [date(2025, 1, 1) + timedelta(days=d) for d in range(args.days)]
    started = time.perf_counter()
    write_days(directory, days, args.records // args.days)
    print(f"wrote {args.records} records in {time.perf_counter() - started:.1f} s")
    timings = []
    for label in ("cold (no index yet)", "new worker (sidecar indexes)"):
        started = time.perf_counter()
        page = newest_first_page(directory, AuditIndex(), EntryFilter(), 0, 100)
        timings.append((label, time.perf_counter() - started, page.total_matched))
    index = AuditIndex()
    newest_first_page(directory, index, EntryFilter(), 0, 1)
    for label, selection, offset in (
        ("newest page", EntryFilter(), 0),
        (f"page at offset {args.records // 2}", EntryFilter(), args.records // 2),
        ("filtered page (endpoint + success)",
         EntryFilter(endpoint="/api/public/metrics", success=False), 1000),
    ):  # fmt: skip
        started = time.perf_counter()
        page = newest_first_page(directory, index, selection, offset, 100)
        timings.append((label, time.perf_counter() - started, page.total_matched))
    print("| request | time | entries matched |\n| --- | --- | --- |")
    for label, seconds, matched in timings:
        print(f"| {label} | {seconds * 1000:,.0f} ms | {matched:,} |")


if __name__ == "__main__":
    main()
