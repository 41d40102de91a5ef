"""Realistic-looking PII with optional canaries.

A canary is ``CANARY_PREFIX`` + a field letter + the learner index as 10 hex
digits: unique per value across all PII fields, and a string no real data or
pipeline code would ever produce, so a later test can scan curated output for
``CANARY_PREFIX`` and prove that no PII reached it.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from jobs.generator.randomness import Salt, index_below, pick, uniform

CANARY_PREFIX = "CNRYqz7X"

FIRST_NAMES = (
    "Ava",
    "Liam",
    "Noah",
    "Emma",
    "Olivia",
    "Mateo",
    "Amara",
    "Yusuf",
    "Mei",
    "Priya",
    "Santiago",
    "Zoe",
    "Kofi",
    "Ingrid",
    "Hiro",
    "Fatima",
    "Lucas",
    "Chloe",
    "Omar",
    "Nia",
    "Elijah",
    "Sofia",
    "Aiden",
    "Layla",
    "Diego",
    "Hana",
    "Arjun",
    "Isla",
    "Tariq",
    "Freya",
)
LAST_NAMES = (
    "Smith",
    "Garcia",
    "Nguyen",
    "Johnson",
    "Okafor",
    "Kim",
    "Patel",
    "Müller",
    "Rossi",
    "Brown",
    "Hernandez",
    "Chen",
    "Singh",
    "Dubois",
    "Kowalski",
    "Silva",
    "Haddad",
    "Ito",
    "O'Brien",
    "Andersen",
    "Mensah",
    "Lopez",
    "Yilmaz",
    "Novak",
    "Ivanova",
    "Cohen",
)
EMAIL_DOMAINS = ("example.org", "example.com", "example.net", "mail.example.edu")
STREETS = (
    "Maple St",
    "Oak Ave",
    "Pine Rd",
    "Cedar Ln",
    "Elm St",
    "Lakeview Dr",
    "Hillcrest Rd",
    "Park Ave",
    "Main St",
    "River Rd",
    "Sunset Blvd",
    "Birch Way",
)
CITIES = (
    "Springfield",
    "Riverton",
    "Fairview",
    "Greenville",
    "Madison",
    "Georgetown",
    "Salem",
    "Franklin",
    "Clinton",
    "Arlington",
    "Ashland",
    "Burlington",
    "Dover",
    "Milton",
)


def canary(field_code: str, learner_index: Column) -> Column:
    """The unique marker of one PII value: prefix, field letter, learner index in hex."""
    return F.concat(
        F.lit(CANARY_PREFIX), F.lit(field_code), F.lpad(F.lower(F.hex(learner_index)), 10, "0")
    )


def _with_marker(
    value: Column, separator: str, field_code: str, learner_index: Column, canaries: bool
) -> Column:
    if not canaries:
        return value
    return F.concat(value, F.lit(separator), canary(field_code, learner_index))


def pii_columns(seed: int, learner_index: Column, canaries: bool) -> dict[str, Column]:
    """The PII string columns of the learners table (date of birth is in :mod:`learners`)."""
    first = pick(uniform(seed, Salt.FIRST_NAME, learner_index), FIRST_NAMES)
    last = pick(uniform(seed, Salt.LAST_NAME, learner_index), LAST_NAMES)
    domain = pick(uniform(seed, Salt.EMAIL_DOMAIN, learner_index), EMAIL_DOMAINS)
    mailbox = F.concat(F.lower(first), F.lit("."), F.regexp_replace(F.lower(last), "[^a-z]", ""))
    if canaries:
        mailbox = F.concat(mailbox, F.lit("+"), canary("E", learner_index))
    street_number = index_below(uniform(seed, Salt.STREET_NUMBER, learner_index), 9_899) + 100
    street = F.concat_ws(
        " ",
        street_number.cast("string"),
        pick(uniform(seed, Salt.STREET, learner_index), STREETS),
    )
    postal = F.lpad(
        (index_below(uniform(seed, Salt.POSTAL, learner_index), 98_999) + 1_000).cast("string"),
        5,
        "0",
    )
    city = pick(uniform(seed, Salt.CITY, learner_index), CITIES)
    return {
        "full_name": _with_marker(F.concat_ws(" ", first, last), " ", "N", learner_index, canaries),
        "email": F.concat(mailbox, F.lit("@"), domain),
        "street_address": _with_marker(street, " ", "A", learner_index, canaries),
        "city": _with_marker(city, " ", "C", learner_index, canaries),
        "postal_code": _with_marker(postal, "-", "P", learner_index, canaries),
    }
