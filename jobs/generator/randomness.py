"""Deterministic pseudo-randomness as Spark column expressions.

Every random quantity is a hash of (seed, salt, keys): the same row gets the
same value however the data is partitioned, which ``F.rand`` cannot promise.
Salts keep independent draws of the same key independent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import IntEnum

from pyspark.sql import Column
from pyspark.sql import functions as F

_MANTISSA_MASK = (1 << 53) - 1
_TWO_POW_53 = float(1 << 53)


class Salt(IntEnum):
    """One salt per independent draw; never reuse one for two purposes."""

    TENANT_ID = 1
    LEARNER_ID = 2
    COURSE_ID = 3
    EVENT_ID = 4
    GOAL_ID = 5
    HAS_IEP = 10
    GOAL_COUNT = 11
    FIRST_DAY_EXISTING = 12
    FIRST_DAY = 13
    CHURNS = 14
    LAST_DAY = 15
    ACTIVE_STRIDE = 16
    COURSE_COUNT = 17
    COURSE_BASE = 18
    AGE = 20
    DOB_MISSING = 21
    GRADE_MISSING = 22
    STATE = 23
    ENROLL_LOOKBACK = 24
    ENROLL_SECOND = 25
    FIRST_NAME = 30
    LAST_NAME = 31
    EMAIL_DOMAIN = 32
    STREET_NUMBER = 33
    STREET = 34
    CITY = 35
    POSTAL = 36
    SUBJECT = 40
    DIFFICULTY = 41
    COURSE_LEVEL = 42
    CATEGORY = 50
    BASELINE = 51
    TARGET = 52
    SET_AT = 53
    SUPPORT = 54
    PICK_LEARNER = 60
    EVENT_TYPE = 61
    EVENT_DAY = 62
    HOUR_A = 63
    HOUR_B = 64
    SECOND = 65
    DURATION_A = 66
    DURATION_B = 67
    COURSE_SLOT = 68
    LESSON = 69
    SCORE_A = 70
    SCORE_B = 71
    ATTEMPT = 72
    GOAL_SLOT = 73
    MEASUREMENT_NOISE = 74
    DUPLICATE_SOURCE = 80
    BAD_DURATION = 81
    BAD_SCORE = 82
    TENANT_NAME = 90
    TENANT_KIND = 91
    TENANT_STATE = 92
    TENANT_JOINED = 93
    WEEKLY_ACTIVITY = 100
    ACTIVE_WEEK = 101
    SCHOOL_DAYS = 102
    FIRST_SCHOOL_DAY = 103
    PICK_WEEK = 104


def uniform(seed: int, salt: Salt, *keys: Column) -> Column:
    """A double in the open interval (0, 1), a pure function of (seed, salt, keys)."""
    hashed = F.xxhash64(F.lit(seed), F.lit(int(salt)), *keys)
    return (hashed.bitwiseAND(F.lit(_MANTISSA_MASK)) + F.lit(0.5)) / F.lit(_TWO_POW_53)


def standard_normal(seed: int, salt_a: Salt, salt_b: Salt, *keys: Column) -> Column:
    """A standard normal draw (Box-Muller) from two independent uniforms."""
    radius = F.sqrt(F.lit(-2.0) * F.log(uniform(seed, salt_a, *keys)))
    return radius * F.cos(F.lit(2.0 * math.pi) * uniform(seed, salt_b, *keys))


def index_below(u: Column, n: int | Column) -> Column:
    """Map a uniform in (0, 1) to a long in ``[0, n)``.

    ``least`` guards against ``u * n`` rounding up to ``n`` in double arithmetic.
    """
    bound = n if isinstance(n, Column) else F.lit(n)
    return F.least(F.floor(u * bound), bound - F.lit(1)).cast("long")


def weighted_choice(
    u: Column, values: Sequence[str | int | float], weights: Sequence[float]
) -> Column:
    """Pick ``values[i]`` with probability proportional to ``weights[i]``.

    Raises:
        ValueError: Empty values, mismatched lengths, or non-positive weights.
    """
    if not values or len(values) != len(weights):
        raise ValueError(
            f"values and weights must be non-empty and of equal length, "
            f"got {len(values)} and {len(weights)}"
        )
    if any(w <= 0 for w in weights):
        raise ValueError(f"weights must be positive, got {list(weights)}")
    total = float(sum(weights))
    cumulative = 0.0
    choice: Column | None = None
    for value, weight in zip(values[:-1], weights[:-1], strict=True):
        cumulative += weight / total
        condition = u < F.lit(cumulative)
        choice = (
            F.when(condition, F.lit(value))
            if choice is None
            else choice.when(condition, F.lit(value))
        )
    last = F.lit(values[-1])
    return last if choice is None else choice.otherwise(last)


def pick(u: Column, values: Sequence[str]) -> Column:
    """Pick one of ``values`` uniformly."""
    if not values:
        raise ValueError("values must not be empty")
    return F.element_at(
        F.array(*[F.lit(v) for v in values]), (index_below(u, len(values)) + 1).cast("int")
    )


def zipf_weights(count: int, exponent: float = 1.0) -> tuple[float, ...]:
    """Weights ``1 / rank**exponent`` for ranks 1..count (a skewed, long-tailed mix)."""
    return tuple(1.0 / (rank**exponent) for rank in range(1, count + 1))


def uuid_from(seed: int, salt: Salt, *keys: Column) -> Column:
    """A UUID-shaped (version 4 layout) lowercase string derived from two 64-bit hashes."""

    def hex16(half: int) -> Column:
        hashed = F.xxhash64(F.lit(seed), F.lit(int(salt)), F.lit(half), *keys)
        return F.lpad(F.lower(F.hex(hashed)), 16, "0")

    digits = F.concat(hex16(0), hex16(1))
    return F.concat_ws(
        "-",
        F.substring(digits, 1, 8),
        F.substring(digits, 9, 4),
        F.concat(F.lit("4"), F.substring(digits, 14, 3)),
        F.concat(F.lit("8"), F.substring(digits, 18, 3)),
        F.substring(digits, 21, 12),
    )
