"""Generator profiles: the shape of the population and of its activity.

``default`` is the original synthetic mix (Zipf tenant sizes, a tiny tenant under
k, heavy-tailed event counts per learner), kept byte-identical for a given seed.
``district`` models realistic school districts for utility measurements: per 2,000
enrolled learners about 1,400 active in a month and 900 in a week, 30 courses of a
few to a few hundred learners, 7.5 % of learners with an IEP, and learners active
on some school days only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class Profile(StrEnum):
    """Which population shape to generate."""

    DEFAULT = "default"
    DISTRICT = "district"


@dataclass(frozen=True)
class PopulationShape:
    """Learner-level shares and skews that differ between profiles."""

    iep_share: float
    existing_learner_share: float  # active from day 0; the rest start during the window
    churn_share: float  # stop before the window ends


DEFAULT_SHAPE = PopulationShape(iep_share=0.12, existing_learner_share=0.5, churn_share=0.25)
DISTRICT_SHAPE = PopulationShape(iep_share=0.075, existing_learner_share=0.92, churn_share=0.04)

# District sizes and activity. A learner's weekly activity probability is drawn from a
# mix (never, occasionally, regularly, nearly every week): mean ~0.48, so with joiners
# and churn ~45 % of enrolled learners are active in a week and ~70 % in a month.
DISTRICT_MIN_LEARNERS = 200
DISTRICT_MAX_LEARNERS = 20_000
DISTRICT_DEFAULT_TENANTS = 3
DISTRICT_COURSES_PER_2000 = 30
DISTRICT_MIN_COURSES = 3
# A district's most popular course draws ~50 times the learners of its least popular:
# popularity falls geometrically with the course's rank (30 courses: ~300 to ~6 learners).
COURSE_POPULARITY_RATIO = 50.0
WEEKLY_ACTIVITY: tuple[float, ...] = (0.0, 0.25, 0.6, 0.95)
WEEKLY_ACTIVITY_WEIGHTS: tuple[float, ...] = (0.2, 0.25, 0.3, 0.25)
SCHOOL_DAYS_PER_WEEK: tuple[int, ...] = (1, 2, 3, 5)  # days a learner is active in an active week
SCHOOL_DAYS_WEIGHTS: tuple[float, ...] = (0.35, 0.3, 0.2, 0.15)
SCHOOL_DAYS = 5  # active days fall on the first five days of each 7-day week of the window
LEARNER_CANDIDATES = 8  # an event's learner: the first of 8 random learners active at all
# Events per enrolled learner and week when ``events`` is derived: ~6 per active week.
DISTRICT_EVENTS_PER_LEARNER_WEEK = 2.7


def shape_of(profile: Profile) -> PopulationShape:
    """The population shape of ``profile``."""
    return DISTRICT_SHAPE if profile is Profile.DISTRICT else DEFAULT_SHAPE


def district_sizes(tenants: int) -> tuple[int, ...]:
    """``tenants`` sizes spread log-evenly from 200 to 20,000 learners (largest first)."""
    if tenants < 2:
        return (DISTRICT_MAX_LEARNERS,)
    ratio = DISTRICT_MAX_LEARNERS / DISTRICT_MIN_LEARNERS
    return tuple(
        round(DISTRICT_MAX_LEARNERS / ratio ** (i / (tenants - 1))) for i in range(tenants)
    )


def district_courses(learners: int) -> int:
    """Courses of a district: 30 per 2,000 learners, at least 3."""
    return max(DISTRICT_MIN_COURSES, round(learners * DISTRICT_COURSES_PER_2000 / 2_000))


def district_events(learners: int, days: int) -> int:
    """Events that give a district's learners ~6 events per active week."""
    return max(1, round(learners * DISTRICT_EVENTS_PER_LEARNER_WEEK * days / 7))


def weeks_in(days: int) -> int:
    """7-day weeks (the last one possibly partial) in a window of ``days`` days."""
    return math.ceil(days / 7)
