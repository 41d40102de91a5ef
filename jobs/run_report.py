"""Reporting a run: per-table outcomes, the run summary, progress lines, the end-of-run table.

Plain Python over what the planner and the runner decided (no Spark work).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from jobs.job_runs import RunCounters
from privacy_udfs import Charge
from privacy_udfs.accountant import WindowSpend


@dataclass
class TableOutcome:
    """What one job did: rows written, groups suppressed, ε per tenant, tenants refused."""

    table: str
    rows_written: int = 0
    groups_suppressed: int = 0
    epsilon_by_tenant: dict[str, float] = field(default_factory=dict)
    charges: list[Charge] = field(default_factory=list)
    refused_tenants: list[str] = field(default_factory=list)
    reused_tenants: list[str] = field(default_factory=list)
    skipped_reason: str | None = None
    median_error_bar: float | None = None

    @property
    def published_share(self) -> float | None:
        """Share of written cells that carry values (not suppressed)."""
        if not self.rows_written:
            return None
        return 1.0 - self.groups_suppressed / self.rows_written


@dataclass
class RunSummary:
    """The result of a run, as printed at the end and recorded in job_runs."""

    run_id: str
    status: str
    counters: RunCounters
    tables: list[TableOutcome]
    quarantine_rows: int | None = None
    nothing_to_do: bool = False


_LOG = logging.getLogger("jobs.runner")


def log(step: str, message: str, **fields: object) -> None:
    """One progress record (logger ``jobs.runner``), the step name in ``step``.

    Formatted by :mod:`jobs.job_logging`: a text line, or JSON under ``LOG_FORMAT=json``
    with the run id bound by the caller.
    """
    _LOG.info(message, extra={"step": step, **fields})


@contextmanager
def step(name: str, message: str) -> Iterator[None]:
    """Log the start and duration of a pipeline step (``seconds`` in the closing record)."""
    log(name, message)
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    log(name, f"done in {elapsed:.1f}s", seconds=round(elapsed, 3))


def outcomes_json(outcomes: Sequence[TableOutcome]) -> str:
    """Per-table outcomes as recorded in ``job_runs.table_outcomes`` (JSON list)."""
    return json.dumps(
        [
            {
                "table": o.table,
                "rows_written": o.rows_written,
                "groups_suppressed": o.groups_suppressed,
                "released_tenants": sorted(o.epsilon_by_tenant),
                "epsilon_per_tenant": max(o.epsilon_by_tenant.values(), default=0.0),
                "reused_tenants": sorted(o.reused_tenants),
                "refused_tenants": sorted(o.refused_tenants),
                "skipped_reason": o.skipped_reason,
            }
            for o in outcomes
        ],
        separators=(",", ":"),
    )


def epsilon_per_tenant(outcomes: Sequence[TableOutcome], delta: float) -> float:
    """The most ε the run cost any one tenant, its tables composed, without float dust.

    Composition as the ledger does it: zCDP tables add their ρ (stated at ``delta``),
    pure ones their ε (see :class:`privacy_udfs.accountant.WindowSpend`).
    """
    spends: dict[str, WindowSpend] = {}
    for outcome in outcomes:
        for charge in outcome.charges:
            spends[charge.tenant_id] = spends.get(charge.tenant_id, WindowSpend()).plus(charge)
    return round(max((s.epsilon_at(delta) for s in spends.values()), default=0.0), 9)


def format_summary(summary: RunSummary) -> str:
    """The end-of-run table: rows, published share, error bar and ε per tenant per table."""
    counters = summary.counters
    lines = [
        f"run {summary.run_id}: {summary.status}"
        + (
            " (nothing to do: every release is already published; raw data not read)"
            if summary.nothing_to_do
            else ""
        ),
        f"events read {counters.rows_read:,}  used {counters.rows_read - counters.rows_quarantined:,}"
        f"  quarantined {counters.rows_quarantined:,}",
        *(
            []
            if summary.quarantine_rows is None
            else [
                f"quarantine: {summary.quarantine_rows:,} distinct rejected rows "
                "(events, learners, tenants) for this period and scope; a rerun replaces them"
            ]
        ),
        f"tenants {len(counters.tenants)}  ε per tenant (tables composed) "
        f"{counters.epsilon_charged:.4g}",
        f"{'table':<20}{'rows':>9}{'suppressed':>11}{'published':>10}{'±95 %':>8}"
        f"{'ε/tenant':>10}{'tenants':>8}  note",
    ]
    for t in summary.tables:
        per_tenant = max(t.epsilon_by_tenant.values(), default=0.0)
        notes = [t.skipped_reason or ""]
        if t.refused_tenants:
            notes.append(f"over budget, refused: {len(t.refused_tenants)} tenant(s)")
        if t.reused_tenants:
            notes.append(f"already published, reused: {len(t.reused_tenants)} tenant(s)")
        share = "–" if t.published_share is None else f"{100 * t.published_share:.0f} %"
        bar = "–" if t.median_error_bar is None else f"{100 * t.median_error_bar:.0f} %"
        lines.append(
            f"{t.table:<20}{t.rows_written:>9,}{t.groups_suppressed:>11,}{share:>10}{bar:>8}"
            f"{per_tenant:>10.4g}{len(t.epsilon_by_tenant):>8}  {'; '.join(n for n in notes if n)}"
        )
    lines.append("±95 %: median over published cells of the learner count's 95 % error bar")
    return "\n".join(lines)
