"""What every curated job shares.

Its release context, its definition, and the final shaping of rows (privacy
metadata, contract column order).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from conf.bounds import JobBounds
from contracts.curated import CuratedTable
from contracts.spark_types import spark_type
from jobs.prepare import PreparedInputs, Scope
from privacy_udfs import ContributionBounds, PrivacyLevel, RandomSource
from privacy_udfs.aggregate import with_ci95
from privacy_udfs.calibration import Accounting
from privacy_udfs.zcdp import epsilon_of_rho, rho_for_epsilon


@dataclass(frozen=True)
class ReleaseContext:
    """Everything a pure transform needs to know about the release it computes."""

    level: PrivacyLevel
    job_bounds: JobBounds
    k_threshold: int
    scope: Scope
    run_id: str
    key_version: str
    random_source: RandomSource | None = None

    @property
    def epsilon(self) -> float | None:
        """ε of this job's release on its own (None when anonymized).

        Pure: the level's ε times the job's share. zCDP: the (ε, δ) of the job's ρ.
        """
        if not self.level.is_dp or self.level.epsilon is None:
            return None
        rho = self.rho
        if rho is not None:
            return epsilon_of_rho(rho, self.job_bounds.delta)
        return (
            self.level.epsilon * self.job_bounds.epsilon_share * self.job_bounds.dp_budget_multiple
        )

    @property
    def rho(self) -> float | None:
        """ρ of this job under zCDP: its share of the run's ρ (None for pure or anonymized).

        The run's ρ is the largest whose conversion gives the level's (ε, δ): the whole
        run of zCDP jobs is then (ε, δ)-DP, far less noise than splitting ε per job.
        A quarterly job spends the shares of the three monthly runs it is not part of.
        """
        if not self.level.is_dp or self.level.epsilon is None:
            return None
        if self.job_bounds.accounting != "zcdp" or self.job_bounds.epsilon_share <= 0:
            return None
        run_rho = rho_for_epsilon(self.level.epsilon, self.job_bounds.delta)
        return run_rho * self.job_bounds.epsilon_share * self.job_bounds.dp_budget_multiple

    @property
    def delta(self) -> float:
        """δ this job's release is charged (0 for pure ε-DP and anonymized)."""
        if not self.level.is_dp or self.job_bounds.accounting != "zcdp":
            return 0.0
        return self.job_bounds.delta

    def bounds(
        self,
        *,
        lower: float | None = None,
        upper: float | None = None,
        max_partitions: int | None = None,
        max_rows_per_partition: int | None = None,
    ) -> ContributionBounds:
        """The job's contribution bounds, optionally overriding parts for one measure."""
        return ContributionBounds(
            max_partitions=max_partitions or self.job_bounds.max_partitions,
            max_rows_per_partition=max_rows_per_partition or self.job_bounds.max_rows_per_partition,
            lower=self.job_bounds.lower if lower is None else lower,
            upper=self.job_bounds.upper if upper is None else upper,
        )


Transform = Callable[[PreparedInputs, ReleaseContext], DataFrame]
Grain = Literal["day", "week", "period"]

DP_REFUSAL = "learner-level rows are never released at DP levels"

# The column of each table that counts the distinct learners of a cell: under DP it
# decides publication, so its error bar is the table's headline error bar (planner and
# run summary). Tables without one are described by their other error bars only.
LEARNER_COLUMNS: dict[str, str] = {
    "session_daily": "active_learners",
    "session_summary": "active_learners",
    "mastery_progress": "learners_assessed",
    "weekly_active": "active_learners",
    "iep_progress": "learners_with_goals",
    "course_metrics": "enrolled_learners",
    "platform_daily": "active_learners",
}


@dataclass(frozen=True)
class CuratedJob:
    """A job: the curated table it fills and the pure transform that computes it.

    Attributes:
        table: The curated contract the output must match.
        transform: ``(inputs, context) -> DataFrame`` with the table's key and metric
            columns plus whatever privacy columns the aggregation produced.
        platform_wide: True when rows mix every tenant (skipped on single-tenant runs;
            charged to every tenant's budget).
        dp_release: False for tables never released at a DP level (learner-level rows):
            the runner skips them at DP levels with :data:`DP_REFUSAL`.
    """

    table: CuratedTable
    transform: Transform
    platform_wide: bool = False
    dp_release: bool = True

    @property
    def name(self) -> str:
        """The job's name (its table's name)."""
        return self.table.name

    @property
    def grain(self) -> Grain:
        """What one row's period stands for: a ``day``, an ISO ``week``, or the run's ``period``.

        Read from the contract's period column: day and week tables have rows that never
        change once their day or week is closed; a ``period`` row aggregates the whole run.
        """
        if self.table.period_column == "activity_date":
            return "day"
        if self.table.period_column == "week_start":
            return "week"
        return "period"


def is_calendar_month(start: dt.date, end: dt.date) -> bool:
    """True when [start, end] is exactly one calendar month (the 1st to its last day)."""
    last_day = calendar.monthrange(start.year, start.month)[1]
    return start.day == 1 and end == start.replace(day=last_day)


def quarter_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the calendar quarter holding ``day``."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    last_month = first_month + 2
    return (
        dt.date(day.year, first_month, 1),
        dt.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1]),
    )


def release_scope(job_bounds: JobBounds, level: PrivacyLevel, scope: Scope) -> Scope:
    """The period one job's release covers in a run over ``scope``.

    The run's own period, except for a quarterly job at a DP level (``dp_cadence =
    "quarter"``): its release covers the calendar quarter up to the run's last day (from
    the quarter's first day, whatever the run's first day), and reads its history from
    the same accounting window start as the run.
    """
    if not level.is_dp or job_bounds.dp_cadence != "quarter":
        return scope
    quarter_start, _ = quarter_of(scope.end)
    history_start = scope.history_start
    if history_start is not None and history_start > quarter_start:
        history_start = quarter_start
    return dataclasses.replace(scope, start=quarter_start, history_start=history_start)


def release_refusal(job: CuratedJob, context: ReleaseContext) -> str | None:
    """Why ``job`` may not be released in ``context``; None when it may.

    The one place of the cadence rules (the runner skips a refused table with this reason):

    - learner-level tables (``dp_release=False``) are never released at DP levels;
    - quarterly tables (``dp_cadence = "quarter"`` in the release plan) are released at
      DP levels by the run whose period ends on a quarter's last day, for that quarter
      (monthly cells of small populations such as IEP learners are noise; the quarter's
      release spends the three months' shares at once);
    - ``anonymized`` releases are exact, so two of them must never differ by a small
      change: they cover closed days only (the period ends before today, UTC, so a
      day's cells never change between runs), and tables of ``period`` grain, whose rows
      aggregate the whole run, are released for exactly one closed calendar month (a
      month-to-date release refreshed nightly, or a month and a quarter over the same
      days, would let one day or one month be isolated by subtracting two releases).
    """
    level, scope = context.level, context.scope
    if level.is_dp:
        if not job.dp_release:
            return DP_REFUSAL
        _, quarter_end = quarter_of(scope.end)
        if context.job_bounds.dp_cadence == "quarter" and scope.end != quarter_end:
            return (
                "released once per quarter at DP levels: by the run whose period ends on "
                f"{quarter_end}, for {scope.start}..{quarter_end}"
            )
        return None
    today = scope.now.date()
    if scope.end >= today:
        return (
            f"anonymized releases cover closed days only: the period ends {scope.end}, "
            f"today (UTC) is {today}"
        )
    if job.grain == "period" and not is_calendar_month(scope.start, scope.end):
        return (
            "anonymized period tables are released for one closed calendar month only "
            f"(the 1st to the last day of a month), not {scope.start}..{scope.end}"
        )
    return None


def with_release_metadata(
    table: CuratedTable, context: ReleaseContext
) -> Callable[[DataFrame], DataFrame]:
    """Fill the privacy metadata columns and select the contract's columns in order.

    Columns the aggregation already produced (delta, noise_mechanism, noise_scales,
    insufficient_data) are kept; ``ci95`` is derived from the final ``noise_scales``;
    ``epsilon`` is the job's total ε; missing ones get their anonymized
    defaults. Every column is cast to its contract type.
    """

    def transform(df: DataFrame) -> DataFrame:
        defaults = {
            "privacy_level": F.lit(context.level.value),
            "k_threshold": F.lit(context.k_threshold),
            "aggregation_level": F.lit(table.aggregation_level),
            "job_run_id": F.lit(context.run_id),
            "epsilon": F.lit(0.0),
            "delta": F.lit(0.0),
            "noise_mechanism": F.lit("none"),
            "noise_scales": F.create_map().cast("map<string,double>"),
            "ci95": F.create_map().cast("map<string,double>"),
            "insufficient_data": F.lit(False),
        }
        present = set(df.columns)
        # The rows of one table are released together: each row reports the job's whole ε.
        defaults["epsilon"] = F.lit(float(context.epsilon or 0.0))
        defaults["delta"] = F.lit(float(context.delta))
        always = {"privacy_level", "k_threshold", "aggregation_level", "job_run_id", "epsilon"}
        for name, value in defaults.items():
            if name in always or name not in present:
                df = df.withColumn(name, value)
        # Error bars follow the published scales, whatever the transform renamed or rescaled.
        accounting: Accounting = "zcdp" if context.rho is not None else "pure"
        df = df.withColumn(
            "ci95",
            with_ci95(
                F.coalesce("noise_scales", F.create_map().cast("map<string,double>")), accounting
            ),
        )
        return df.select([F.col(c.name).cast(spark_type(c)).alias(c.name) for c in table.columns])

    return transform


def _sql_date(value: dt.date) -> str:
    return f"DATE'{value.isoformat()}'"


def slice_predicate(
    table: CuratedTable,
    scope: Scope,
    level: PrivacyLevel,
    tenants: Sequence[str] | None,
) -> str:
    """The ``replaceWhere`` predicate of one release: level, period and tenants.

    Only validated values reach it: level names from the enum, ISO dates and
    canonical UUIDs (checked by :mod:`jobs.arguments` / the tenant directory).
    """
    parts = [
        f"privacy_level = '{level.value}'",
        f"{table.period_column} >= {_sql_date(scope.start)}",
        f"{table.period_column} <= {_sql_date(scope.end)}",
    ]
    if tenants is not None and "tenant_id" in (c.name for c in table.keys):
        quoted = ", ".join(f"'{t}'" for t in sorted(tenants)) or "''"
        parts.append(f"tenant_id IN ({quoted})")
    return " AND ".join(parts)
