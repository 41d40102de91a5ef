"""Who belongs where: tenant and course sizes, decided on the driver (a few dozen integers).

Learners ``0..L-1`` and courses ``0..C-1`` are laid out in contiguous blocks
per tenant, so a learner's or course's tenant is a short ``CASE`` over its
index and no join is needed. Tenant sizes follow a Zipf law; the last tenant
is deliberately tiny (fewer than k = 5 learners) and owns the only course of
the rare subject, and its first learner holds the only goal of the rare IEP
category, so small cohorts exist at every scale. The district profile has no tiny tenant and
no planted rare subject or category: its tenants are the sizes asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

from pyspark.sql import Column
from pyspark.sql import functions as F

from jobs.generator.config import TINY_TENANT_LEARNERS, GeneratorConfig
from jobs.generator.profiles import district_courses
from jobs.generator.randomness import zipf_weights

TENANT_SIZE_EXPONENT = 1.1
LEARNERS_PER_COURSE = 20
MAX_COURSES_PER_TENANT = 60
MIN_COURSES_PER_TENANT = 2


@dataclass(frozen=True)
class Layout:
    """Block sizes per tenant, and index-to-tenant lookups as column expressions."""

    learners_per_tenant: tuple[int, ...]
    courses_per_tenant: tuple[int, ...]
    plants_rare_cohorts: bool = True

    @property
    def tenant_count(self) -> int:
        """Number of tenants."""
        return len(self.learners_per_tenant)

    @property
    def learner_count(self) -> int:
        """Number of learners over all tenants."""
        return sum(self.learners_per_tenant)

    @property
    def course_count(self) -> int:
        """Number of courses over all tenants."""
        return sum(self.courses_per_tenant)

    @property
    def learner_starts(self) -> tuple[int, ...]:
        """Index of each tenant's first learner."""
        return (0, *accumulate(self.learners_per_tenant))[:-1]

    @property
    def course_starts(self) -> tuple[int, ...]:
        """Index of each tenant's first course."""
        return (0, *accumulate(self.courses_per_tenant))[:-1]

    @property
    def tiny_tenant(self) -> int:
        """Index of the deliberately tiny tenant."""
        return self.tenant_count - 1

    @property
    def rare_subject_course(self) -> int:
        """The one course teaching the rare subject (owned by the tiny tenant); -1 if none."""
        return self.course_starts[self.tiny_tenant] if self.plants_rare_cohorts else -1

    @property
    def rare_category_learner(self) -> int:
        """The one learner whose first IEP goal has the rare category; -1 if none."""
        return self.learner_starts[self.tiny_tenant] if self.plants_rare_cohorts else -1

    def tenant_of_learner(self, learner_index: Column) -> Column:
        """Tenant index of a learner index."""
        return _block_of(learner_index, self.learner_starts)

    def tenant_of_course(self, course_index: Column) -> Column:
        """Tenant index of a course index."""
        return _block_of(course_index, self.course_starts)

    def first_learner_of(self, tenant_index: Column) -> Column:
        """Index of the first learner of a tenant."""
        return _lookup(tenant_index, self.learner_starts)

    def first_course_of(self, tenant_index: Column) -> Column:
        """Index of the first course of a tenant."""
        return _lookup(tenant_index, self.course_starts)

    def courses_of(self, tenant_index: Column) -> Column:
        """Number of courses of a tenant."""
        return _lookup(tenant_index, self.courses_per_tenant)


def plan_layout(config: GeneratorConfig) -> Layout:
    """Split learners over tenants (Zipf, plus one tiny tenant) and size each tenant's courses.

    The district profile takes its tenant sizes from the config and gives each
    district 30 courses per 2,000 learners.
    """
    if config.is_district:
        sizes = config.district_sizes
        return Layout(
            learners_per_tenant=sizes,
            courses_per_tenant=tuple(district_courses(n) for n in sizes),
            plants_rare_cohorts=False,
        )
    big_tenants = config.tenant_count - 1
    spread = config.learner_count - TINY_TENANT_LEARNERS - big_tenants  # one each is reserved
    shares = _largest_remainder(spread, zipf_weights(big_tenants, TENANT_SIZE_EXPONENT))
    learners = (*(1 + share for share in shares), TINY_TENANT_LEARNERS)
    courses = tuple(
        min(MAX_COURSES_PER_TENANT, max(MIN_COURSES_PER_TENANT, -(-n // LEARNERS_PER_COURSE)))
        for n in learners
    )
    return Layout(learners_per_tenant=learners, courses_per_tenant=courses)


def _largest_remainder(total: int, weights: tuple[float, ...]) -> tuple[int, ...]:
    """Integers proportional to ``weights`` that sum exactly to ``total``."""
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    floors = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in by_remainder[: total - sum(floors)]:
        floors[i] += 1
    return tuple(floors)


def _block_of(index: Column, starts: tuple[int, ...]) -> Column:
    """Which block ``index`` falls in, given the blocks' first indices (ascending)."""
    block: Column | None = None
    for number in range(len(starts) - 1, 0, -1):  # one flat CASE, largest start first
        condition = index >= F.lit(starts[number])
        block = (
            F.when(condition, F.lit(number))
            if block is None
            else block.when(condition, F.lit(number))
        )
    return F.lit(0) if block is None else block.otherwise(F.lit(0))


def _lookup(index: Column, values: tuple[int, ...]) -> Column:
    """``values[index]`` for a 0-based index column."""
    return F.element_at(F.array(*[F.lit(v) for v in values]), (index + 1).cast("int")).cast("long")
