"""Age and grade bands (seed 003 categories), boundaries included."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from privacy_udfs import generalize_age, generalize_grade


def test_age_bands_at_birthday_boundaries(spark: SparkSession) -> None:
    as_of = dt.date(2026, 3, 1)
    source = spark.createDataFrame(
        [
            (dt.date(2013, 3, 1),),  # 13 today
            (dt.date(2013, 3, 2),),  # 13 tomorrow: still 12
            (dt.date(2008, 3, 1),),  # 18 today
            (dt.date(2008, 2, 29),),  # leap-day birthday: 18 on 1 March of a common year
            (None,),
            (dt.date(2027, 1, 1),),  # after as_of: bad data
        ],
        "birth_date date",
    )
    actual = source.withColumn("age_band", generalize_age("birth_date", as_of))
    expected = spark.createDataFrame(
        [
            (dt.date(2013, 3, 1), "13_17"),
            (dt.date(2013, 3, 2), "under_13"),
            (dt.date(2008, 3, 1), "18_plus"),
            (dt.date(2008, 2, 29), "18_plus"),
            (None, "not_provided"),
            (dt.date(2027, 1, 1), "not_provided"),
        ],
        "birth_date date, age_band string",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_age_reference_date_can_be_a_column(spark: SparkSession) -> None:
    source = spark.createDataFrame(
        [
            (dt.date(2010, 6, 15), dt.date(2023, 6, 14)),
            (dt.date(2010, 6, 15), dt.date(2023, 6, 15)),
        ],
        "birth_date date, as_of date",
    )
    actual = source.select(generalize_age(F.col("birth_date"), "as_of").alias("band"))
    expected = spark.createDataFrame([("under_13",), ("13_17",)], "band string")
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_grade_bands(spark: SparkSession) -> None:
    grades = ["K", "0", "2", "3", "5", "6", "8", "9", "12", "13", "-1", "abc", None]
    bands = ["K-2", "K-2", "K-2", "3-5", "3-5", "6-8", "6-8", "9-12", "9-12"] + ["not_provided"] * 4
    source = spark.createDataFrame([(g,) for g in grades], "grade string")
    actual = source.withColumn("band", generalize_grade("grade"))
    expected = spark.createDataFrame(
        list(zip(grades, bands, strict=True)), "grade string, band string"
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_integer_grades(spark: SparkSession) -> None:
    source = spark.createDataFrame([(0,), (4,), (7,), (11,), (None,)], "grade_level int")
    actual = source.withColumn("band", generalize_grade(F.col("grade_level")))
    expected = spark.createDataFrame(
        [(0, "K-2"), (4, "3-5"), (7, "6-8"), (11, "9-12"), (None, "not_provided")],
        "grade_level int, band string",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)
