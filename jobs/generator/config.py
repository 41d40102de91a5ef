"""The generator's parameters: one validated, frozen dataclass."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from jobs.generator.profiles import (
    DISTRICT_DEFAULT_TENANTS,
    DISTRICT_MAX_LEARNERS,
    DISTRICT_MIN_LEARNERS,
    Profile,
    district_sizes,
)

MAX_EVENTS = 100_000_000  # keeps every integer product in the row layout exact in a double
MAX_TENANTS = 60
TINY_TENANT_LEARNERS = 3  # the last tenant is deliberately below k = 5
LATEST_WINDOW_END = dt.date(2090, 1, 1)  # "future" malformed rows land in 2099


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate; every error names the offending field.

    Attributes:
        events: Exact number of rows in ``events``, malformed rows and duplicates included.
        seed: Seed of every pseudo-random choice; same config gives identical tables.
        tenants: Number of tenants; ``None`` derives ``max(6, events // 40_000)`` capped at 60.
        learners: Number of learners; ``None`` derives ``max(40, events // 60)``.
        start: First day (UTC) of the activity window.
        days: Length of the activity window in days.
        malformed_rate: Share of event rows that are malformed, in ``[0, 0.5]``.
        canaries: Plant ``CANARY_PREFIX`` plus a unique token in every PII string.
        partitions: Spark partitions of the events range; ``None`` derives one per 2M events
            (at least 2). Output rows do not depend on it.
        profile: ``default`` (Zipf tenants, a tiny tenant, heavy-tailed activity) or
            ``district`` (realistic districts of 200-20,000 learners; see
            :mod:`jobs.generator.profiles`). Accepts the name as a string.
        tenant_learners: ``district`` only: the learners of each tenant; ``None`` spreads
            ``tenants`` (default 3) tenants log-evenly from 200 to 20,000 learners.
    """

    events: int
    seed: int = 7
    tenants: int | None = None
    learners: int | None = None
    start: dt.date = dt.date(2025, 1, 6)
    days: int = 56
    malformed_rate: float = 0.01
    canaries: bool = True
    partitions: int | None = None
    profile: Profile = Profile.DEFAULT
    tenant_learners: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        """Check every field up front so a bad config fails before Spark does any work."""
        _require_int("events", self.events, 1, MAX_EVENTS)
        _require_int("seed", self.seed, 0, 2**31 - 1)
        if self.profile not in tuple(Profile):
            raise ValueError(
                f"profile must be one of {', '.join(p.value for p in Profile)}, "
                f"got {self.profile!r}"
            )
        object.__setattr__(self, "profile", Profile(self.profile))
        if self.profile is Profile.DISTRICT:
            self._check_district()
        elif self.tenant_learners is not None:
            raise ValueError("tenant_learners is for the district profile only")
        if self.tenants is not None:
            _require_int("tenants", self.tenants, 1 if self.is_district else 2, MAX_TENANTS)
        if self.learners is not None:
            _require_int("learners", self.learners, 1, 10 * MAX_EVENTS)
        if not isinstance(self.start, dt.date) or isinstance(self.start, dt.datetime):
            raise ValueError(f"start must be a datetime.date, got {self.start!r}")
        _require_int("days", self.days, 1, 3660)
        if self.start + dt.timedelta(days=self.days) > LATEST_WINDOW_END:
            raise ValueError(
                f"start + days must end before {LATEST_WINDOW_END} so that the 'future' "
                f"malformed rows (year 2099) stay unambiguous, got start={self.start}, "
                f"days={self.days}"
            )
        if isinstance(self.malformed_rate, bool) or not isinstance(
            self.malformed_rate, int | float
        ):
            raise ValueError(f"malformed_rate must be a number, got {self.malformed_rate!r}")
        if not 0.0 <= self.malformed_rate <= 0.5:
            raise ValueError(f"malformed_rate must be in [0, 0.5], got {self.malformed_rate}")
        if not isinstance(self.canaries, bool):
            raise ValueError(f"canaries must be True or False, got {self.canaries!r}")
        if self.partitions is not None:
            _require_int("partitions", self.partitions, 1, 100_000)
        minimum = self.tenant_count - 1 + TINY_TENANT_LEARNERS
        if not self.is_district and self.learner_count < minimum:
            raise ValueError(
                f"learners must be at least tenants - 1 + {TINY_TENANT_LEARNERS} = {minimum} "
                f"(one learner per tenant plus a tiny tenant), got {self.learner_count}"
            )

    def _check_district(self) -> None:
        if self.learners is not None:
            raise ValueError(
                "learners is not used by the district profile: give tenant_learners "
                "(learners per tenant) or tenants"
            )
        if self.tenant_learners is None:
            return
        if not isinstance(self.tenant_learners, tuple) or not self.tenant_learners:
            raise ValueError(
                f"tenant_learners must be a non-empty tuple of integers, got "
                f"{self.tenant_learners!r}"
            )
        if len(self.tenant_learners) > MAX_TENANTS:
            raise ValueError(
                f"tenant_learners must list at most {MAX_TENANTS} tenants, "
                f"got {len(self.tenant_learners)}"
            )
        for size in self.tenant_learners:
            _require_int("tenant_learners", size, DISTRICT_MIN_LEARNERS, DISTRICT_MAX_LEARNERS)
        if self.tenants is not None and self.tenants != len(self.tenant_learners):
            raise ValueError(
                f"tenants ({self.tenants}) must equal the number of tenant_learners "
                f"({len(self.tenant_learners)}), or be left out"
            )

    @property
    def is_district(self) -> bool:
        """Whether this is the district profile."""
        return self.profile is Profile.DISTRICT

    @property
    def district_sizes(self) -> tuple[int, ...]:
        """Learners per tenant of the district profile."""
        if self.tenant_learners is not None:
            return self.tenant_learners
        return district_sizes(self.tenants or DISTRICT_DEFAULT_TENANTS)

    @property
    def tenant_count(self) -> int:
        """Tenants to generate, derived from ``events`` when not given."""
        if self.is_district:
            return len(self.district_sizes)
        if self.tenants is not None:
            return self.tenants
        return min(MAX_TENANTS, max(6, self.events // 40_000))

    @property
    def learner_count(self) -> int:
        """Learners to generate, derived from ``events`` when not given."""
        if self.is_district:
            return sum(self.district_sizes)
        if self.learners is not None:
            return self.learners
        return max(40, self.events // 60)

    @property
    def partition_count(self) -> int:
        """Spark partitions of the events range."""
        if self.partitions is not None:
            return self.partitions
        return max(2, -(-self.events // 2_000_000))

    @property
    def window_start_seconds(self) -> int:
        """Start of the activity window as Unix seconds (UTC)."""
        return (self.start - dt.date(1970, 1, 1)).days * 86_400

    @property
    def window_end_seconds(self) -> int:
        """End (exclusive) of the activity window as Unix seconds (UTC)."""
        return self.window_start_seconds + self.days * 86_400


def _require_int(field: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{field} must be in [{low}, {high}], got {value}")
