"""Benchmark: the tenant-metrics endpoint under bounded loopback load, all guards on.

1. Generates curated tables with >= 1M rows (pyarrow + write_deltalake) in a
   scratch data root: session_daily (tenants x 365 days x 9 subjects x 4
   privacy levels), weekly_active, mastery_progress and iep_progress.
2. For each ``--limits`` storage (default: ``memory`` then ``redis``, in the
   same run), starts gunicorn with the production config
   (``serving/gunicorn_conf.py``: gthread workers with the request-head
   deadline, JSON logs to a file) on 127.0.0.1 with ``--workers`` workers
   and every guard on (JWT, rate limits, cohort guard, PII validator, audit
   log, security headers). ``redis`` starts a redis-server on a free
   127.0.0.1 port for the run and sets ``RATE_LIMIT_STORAGE_URI`` to it.
3. Runs wrk for ``--seconds`` with a Lua script that spreads requests over
   every tenant, privacy level and several date ranges (so it is not one
   cached answer); with ``--rewrite-phase``, again while another process
   rewrites session_daily in full every cycle (no 5xx allowed).

Rate limits would throttle a load test: the run sets
``RATE_LIMIT_AUTHENTICATED`` to ``--rate-limit`` (default 10,000,000 per
minute) and says so in its output. Run::

    .venv/bin/python bench/bench_api.py --seconds 20            # memory and redis
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
from deltalake import write_deltalake

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from contracts.columns import arrow_schema  # noqa: E402
from contracts.curated import CURATED_TABLES  # noqa: E402
from serving.tokens import Role, mint_token  # noqa: E402

SECRET = "bench-secret-" + uuid.uuid4().hex
LEVELS = ("anonymized", "dp_low", "dp_medium", "dp_high")
EPSILONS = {"anonymized": 0.0, "dp_low": 2.0, "dp_medium": 1.0, "dp_high": 0.5}
SUBJECTS = ("all", "math", "reading", "science", "writing", "history", "coding", "art", "latin")
FIRST_DAY = date(2024, 1, 1)
DAYS = 365


def _grid(*sizes: int) -> list[np.ndarray]:
    """Index arrays of the cartesian product of ``range(size)`` for each size."""
    mesh = np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")
    return [m.ravel() for m in mesh]


def _metadata(levels: np.ndarray, rng: np.random.Generator, level_names: np.ndarray) -> dict:
    n = len(levels)
    names = level_names[levels]
    scale = pa.array(
        [None if name == "anonymized" else [("sessions", 2.0)] for name in names],
        type=pa.map_(pa.string(), pa.float64()),
    )
    return {
        "privacy_level": names,
        "epsilon": np.array([EPSILONS[x] for x in LEVELS])[levels],
        "delta": np.zeros(n),
        "k_threshold": np.full(n, 5, dtype=np.int32),
        "noise_mechanism": np.where(names == "anonymized", "none", "discrete_laplace"),
        "insufficient_data": rng.random(n) < 0.02,
        "noise_scales": scale,
        "ci95": pa.array(
            [None if name == "anonymized" else [("sessions", 6.0)] for name in names],
            type=pa.map_(pa.string(), pa.float64()),
        ),
        "job_run_id": np.full(n, "bench-run"),
    }


def _table(name: str, columns: dict) -> pa.Table:
    schema = arrow_schema(CURATED_TABLES[name].columns)
    return pa.table({f.name: pa.array(columns[f.name]).cast(f.type) for f in schema}, schema=schema)


def session_daily(tenants: list[str], rng: np.random.Generator) -> pa.Table:
    t, d, s, lv = _grid(len(tenants), DAYS, len(SUBJECTS), len(LEVELS))
    n = len(t)
    days = np.array([FIRST_DAY + timedelta(days=i) for i in range(DAYS)], dtype="datetime64[D]")
    return _table(
        "session_daily",
        {
            "tenant_id": np.array(tenants)[t],
            "activity_date": days[d],
            "subject": np.array(SUBJECTS)[s],
            "sessions": rng.integers(0, 400, n),
            "active_learners": rng.integers(0, 150, n),
            "avg_duration_minutes": rng.random(n) * 60,
            "median_duration_minutes": rng.random(n) * 50,
            "p90_duration_minutes": rng.random(n) * 90,
            "max_duration_minutes": rng.random(n) * 200,
            "total_hours": rng.random(n) * 200,
            "trend_direction": np.array(["up", "down", "flat"])[rng.integers(0, 3, n)],
            "aggregation_level": np.full(n, "tenant"),
            **_metadata(lv, rng, np.array(LEVELS)),
        },
    )


def weekly_active(tenants: list[str], rng: np.random.Generator) -> pa.Table:
    t, w, lv = _grid(len(tenants), 52, len(LEVELS))
    n = len(t)
    weeks = np.array([FIRST_DAY + timedelta(weeks=i) for i in range(52)], dtype="datetime64[D]")
    return _table(
        "weekly_active",
        {
            "tenant_id": np.array(tenants)[t],
            "week_start": weeks[w],
            "iso_week": np.array([f"2024-W{i + 1:02d}" for i in range(52)])[w],
            "active_learners": rng.integers(0, 300, n),
            "new_learners": rng.integers(0, 30, n),
            "returning_learners": rng.integers(0, 250, n),
            "churned_learners": rng.integers(0, 20, n),
            "avg_sessions_per_learner": rng.random(n) * 5,
            "avg_minutes_per_learner": rng.random(n) * 200,
            "engagement_rate": rng.random(n),
            "age_band_distribution": [None] * n,
            "grade_band_distribution": [None] * n,
            "aggregation_level": np.full(n, "tenant"),
            **_metadata(lv, rng, np.array(LEVELS)),
        },
    )


def _monthly(
    name: str,
    key: str,
    keys: tuple[str, ...],
    tenants: list[str],
    rng: np.random.Generator,
    metrics: dict,
) -> pa.Table:
    t, m, k, lv = _grid(len(tenants), 12, len(keys), len(LEVELS))
    n = len(t)
    starts = np.array([date(2024, i + 1, 1) for i in range(12)], dtype="datetime64[D]")
    ends = np.array(
        [date(2024 + (i + 1) // 12, (i + 1) % 12 + 1, 1) - timedelta(days=1) for i in range(12)],
        dtype="datetime64[D]",
    )
    columns = {
        "tenant_id": np.array(tenants)[t],
        key: np.array(keys)[k],
        "period_start": starts[m],
        "period_end": ends[m],
        "aggregation_level": np.full(n, "cohort"),
        **_metadata(lv, rng, np.array(LEVELS)),
    }
    columns.update({name_: make(n) for name_, make in metrics.items()})
    return _table(name, columns)


def generate(root: Path, tenant_count: int) -> dict[str, int]:
    """Write the four tables the endpoint reads; return row counts."""
    rng = np.random.default_rng(7)
    tenants = [str(uuid.UUID(int=i + 1, version=4)) for i in range(tenant_count)]
    tables = {
        "session_daily": session_daily(tenants, rng),
        "weekly_active": weekly_active(tenants, rng),
        "mastery_progress": _monthly(
            "mastery_progress",
            "subject",
            SUBJECTS,
            tenants,
            rng,
            {
                "learners_assessed": lambda n: rng.integers(0, 200, n),
                "assessments_completed": lambda n: rng.integers(0, 900, n),
                "mean_mastery": lambda n: rng.random(n) * 100,
                "improvement_delta": lambda n: rng.normal(0, 3, n),
                "median_days_to_mastery": lambda n: rng.random(n) * 30,
            },
        ),
        "iep_progress": _monthly(
            "iep_progress",
            "iep_category",
            ("reading_fluency", "behavior", "math_calculation", "speech_language"),
            tenants,
            rng,
            {
                "learners_with_goals": lambda n: rng.integers(0, 40, n),
                "mean_progress_pct": lambda n: rng.random(n) * 100,
                "share_on_track": lambda n: rng.random(n),
                "support_level_distribution": lambda n: [None] * n,
            },
        ),
    }
    for name, table in tables.items():
        write_deltalake(str(root / "curated" / name), table, partition_by=["tenant_id"])
    return {name: table.num_rows for name, table in tables.items()}


def rewrite_loop(root: Path, tenant_count: int, stop_file: Path) -> None:
    """Child process: overwrite session_daily in full until ``stop_file`` exists."""
    rng = np.random.default_rng(11)
    tenants = [str(uuid.UUID(int=i + 1, version=4)) for i in range(tenant_count)]
    versions = 0
    while not stop_file.exists():
        write_deltalake(
            str(root / "curated" / "session_daily"),
            session_daily(tenants, rng),
            partition_by=["tenant_id"],
            mode="overwrite",
        )
        versions += 1
    print(json.dumps({"rewrites": versions}))


LUA = """
local tenants = {%s}
local levels = {"anonymized", "dp_low", "dp_medium", "dp_high"}
local ranges = {{"2024-01-01","2024-01-31"}, {"2024-03-01","2024-03-31"},
                {"2024-06-01","2024-06-30"}, {"2024-10-01","2024-12-31"}}
local counter = 0
request = function()
  counter = counter + 1
  local t = tenants[(counter %% #tenants) + 1]
  local l = levels[(math.floor(counter / #tenants) %% #levels) + 1]
  local r = ranges[(math.floor(counter / 7) %% #ranges) + 1]
  local path = "/api/v1/metrics/tenant/" .. t .. "?start=" .. r[1] .. "&end=" .. r[2] ..
               "&privacy_level=" .. l
  return wrk.format("GET", path, {["Authorization"] = "Bearer %s"})
end
"""


def _wrk(url: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    done = subprocess.run(
        [
            "wrk",
            "-t",
            "1",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    out = done.stdout

    def millis(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert match, out
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests": total,
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": millis("50"),
        "p90_ms": millis("90"),
        "p99_ms": millis("99"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else "none",
    }


def _wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up")


def _start_redis(scratch: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server on a free 127.0.0.1 port, no persistence; returns it and its URI."""
    from tests.serving.live import free_port

    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(scratch)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                               text=True, check=False)  # fmt: skip
        if probe.stdout.strip() == "PONG":
            return process, f"redis://127.0.0.1:{port}"
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("redis-server did not start")


def _stop(process: subprocess.Popen[bytes] | subprocess.Popen[str] | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _rewrite_phase(
    scratch: Path, tenants: int, base: str, script: Path, args: argparse.Namespace
) -> dict[str, object]:
    stop = scratch / "stop-writer"
    stop.unlink(missing_ok=True)
    writer = subprocess.Popen(
        [sys.executable, __file__, "--rewrite-child", str(scratch), str(tenants), str(stop)],
        stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT,
    )  # fmt: skip
    try:
        time.sleep(1.0)
        rewriting = _wrk(base, script, args.seconds, args.connections)
        stop.touch()
        writer_out, _ = writer.communicate(timeout=120)
    finally:
        _stop(writer)
    return {**json.loads(writer_out.strip() or "{}"), **rewriting}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=20, help="per wrk run")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="gthread threads per worker")
    parser.add_argument("--limits", default="memory,redis", help="rate-limit storages to run")
    parser.add_argument("--rewrite-phase", action="store_true",
                        help="also measure while session_daily is rewritten")  # fmt: skip
    parser.add_argument("--rate-limit", default="10000000 per minute")
    parser.add_argument("--keep", action="store_true", help="keep the scratch data root")
    args = parser.parse_args()
    storages = [name.strip() for name in args.limits.split(",") if name.strip()]
    if not shutil.which("wrk"):
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2
    if "redis" in storages and not shutil.which("redis-server"):
        print("redis-server is required: scripts/ensure_redis.sh", file=sys.stderr)
        return 2

    scratch = Path(tempfile.mkdtemp(prefix="bench-api-"))
    results = []
    try:
        started = time.perf_counter()
        rows = generate(scratch, args.tenants)
        print(json.dumps({"rows": rows, "total_rows": sum(rows.values()),
                          "generate_seconds": round(time.perf_counter() - started, 1)}))  # fmt: skip
        tenants = [str(uuid.UUID(int=i + 1, version=4)) for i in range(args.tenants)]
        token = mint_token(SECRET, role=Role.ROOT, subject="bench", ttl_seconds=3600)
        script = scratch / "tenant_metrics.lua"
        script.write_text(LUA % (", ".join(f'"{t}"' for t in tenants), token))
        from tests.serving.live import free_port

        for storage in storages:
            redis: subprocess.Popen[bytes] | None = None
            server: subprocess.Popen[bytes] | None = None
            try:
                uri = "memory://"
                if storage == "redis":
                    redis, uri = _start_redis(scratch)
                port = free_port()
                env = {
                    **os.environ,
                    "JWT_SECRET": SECRET,
                    "DATA_ROOT": str(scratch),
                    "RATE_LIMIT_AUTHENTICATED": args.rate_limit,
                    "RATE_LIMIT_STORAGE_URI": uri,
                    "PYTHONPATH": str(PROJECT_ROOT),
                    "AUDIT_LOG_DIR": str(scratch / f"audit-{storage}"),
                    "PORT": str(port),
                    "WEB_CONCURRENCY": str(args.workers),
                    "GUNICORN_THREADS": str(args.threads),
                    "LOG_LEVEL": "INFO",
                }
                with (scratch / f"gunicorn-{storage}.log").open("wb") as log:
                    server = subprocess.Popen(
                        [str(Path(sys.executable).parent / "gunicorn"), "-c",
                         str(PROJECT_ROOT / "serving" / "gunicorn_conf.py"),
                         "serving.app:create_app()"],
                        env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                    )  # fmt: skip
                base = f"http://127.0.0.1:{port}"
                _wait_ready(f"{base}/api/v1/health")
                _wrk(base, script, 10, args.connections)  # warm-up: open tables, fill caches
                steady = _wrk(base, script, args.seconds, args.connections)
                result = {"phase": "steady", "limits": storage, "workers": args.workers,
                          "threads": args.threads, "connections": args.connections, **steady}  # fmt: skip
                print(json.dumps(result))
                results.append(result)
                if args.rewrite_phase:
                    rewriting = _rewrite_phase(scratch, args.tenants, base, script, args)
                    result = {"phase": "during_rewrite", "limits": storage, **rewriting}
                    print(json.dumps(result))
                    results.append(result)
                audit = sum(1 for path in (scratch / f"audit-{storage}").glob("access-*.jsonl")
                            for _ in path.open())  # fmt: skip
                print(json.dumps({"limits": storage, "audit_records_written": audit}))
            finally:
                _stop(server)
                _stop(redis)
        print("| limits | phase | req/s | p50 | p90 | p99 | non-2xx | socket errors |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in results:
            print(f"| {r['limits']} | {r['phase']} | {r['requests_per_second']:.0f} | "
                  f"{r['p50_ms']:.1f} ms | {r['p90_ms']:.1f} ms | {r['p99_ms']:.1f} ms | "
                  f"{r['non_2xx']} | {r['socket_errors']} |")  # fmt: skip
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--rewrite-child":
        rewrite_loop(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
        raise SystemExit(0)
    raise SystemExit(main())
