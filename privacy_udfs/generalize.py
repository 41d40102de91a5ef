"""Generalization of quasi-identifiers into the coarse bands the curated tables publish."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column
from pyspark.sql import functions as F

from contracts.bands import AGE_BANDS, GRADE_BANDS, NOT_PROVIDED

__all__ = [
    "AGE_BANDS",
    "GRADE_BANDS",
    "NOT_PROVIDED",
    "age_in_years",
    "generalize_age",
    "generalize_grade",
]


def _as_column(value: Column | str) -> Column:
    return F.col(value) if isinstance(value, str) else value


def age_in_years(birth_date: Column | str, as_of: Column | str | dt.date) -> Column:
    """Completed years between ``birth_date`` and ``as_of`` (null when either is null).

    A birthday counts once its month and day are reached, so a 29 February
    birthday is reached on 1 March in common years.
    """
    birth = _as_column(birth_date).cast("date")
    at = (F.lit(as_of) if isinstance(as_of, dt.date) else _as_column(as_of)).cast("date")
    before_birthday = (F.month(at) < F.month(birth)) | (
        (F.month(at) == F.month(birth)) & (F.dayofmonth(at) < F.dayofmonth(birth))
    )
    return F.year(at) - F.year(birth) - before_birthday.cast("int")


def generalize_age(birth_date: Column | str, as_of: Column | str | dt.date) -> Column:
    """Age band on ``as_of``: ``under_13``, ``13_17``, ``18_plus`` or ``not_provided``.

    Missing birth dates, and birth dates after ``as_of`` (bad data), give
    ``not_provided``: an exact age never leaves this function.

    Args:
        birth_date: Date (or timestamp / ISO string) column, or its name.
        as_of: Reference date: a column, its name, or a :class:`datetime.date`.
    """
    age = age_in_years(birth_date, as_of)
    return (
        F.when(age.isNull() | (age < 0), F.lit(NOT_PROVIDED))
        .when(age < 13, F.lit("under_13"))
        .when(age < 18, F.lit("13_17"))
        .otherwise(F.lit("18_plus"))
    )


def generalize_grade(grade: Column | str) -> Column:
    """Grade band: ``K-2``, ``3-5``, ``6-8``, ``9-12`` or ``not_provided``.

    Grades are 0 (kindergarten) to 12; ``"K"``/``"KG"`` strings count as 0.
    Null, non-numeric and out-of-range grades give ``not_provided``.

    Args:
        grade: Grade column (int or string), or its name.
    """
    text = F.upper(F.trim(_as_column(grade).cast("string")))
    level = F.when(text.isin("K", "KG"), F.lit(0)).otherwise(text.try_cast("int"))
    return (
        F.when(level.isNull() | (level < 0) | (level > 12), F.lit(NOT_PROVIDED))
        .when(level <= 2, F.lit("K-2"))
        .when(level <= 5, F.lit("3-5"))
        .when(level <= 8, F.lit("6-8"))
        .otherwise(F.lit("9-12"))
    )
