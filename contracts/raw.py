"""The raw ("bronze") data contract: five Delta tables under ``<data_root>/raw/``.

Raw tables are the only place PII lives (names, emails, addresses, birth
dates, raw learner ids). Jobs read them, validate every row against this
contract and quarantine what does not fit; nothing below is ever copied to a
curated table.
"""

from __future__ import annotations

from enum import StrEnum

from contracts.columns import Column


class EventType(StrEnum):
    """The event types the platform emits; anything else is quarantined."""

    SESSION = "session"
    LESSON_COMPLETED = "lesson_completed"
    ASSESSMENT_COMPLETED = "assessment_completed"
    IEP_GOAL_MEASUREMENT = "iep_goal_measurement"
    COURSE_ENROLLED = "course_enrolled"
    COURSE_COMPLETED = "course_completed"


SUBJECTS: tuple[str, ...] = (
    "math",
    "reading",
    "science",
    "writing",
    "history",
    "coding",
    "art",
    "latin",
)
IEP_CATEGORIES: tuple[str, ...] = (
    "reading_fluency",
    "math_calculation",
    "written_expression",
    "speech_language",
    "social_emotional",
    "behavior",
    "adaptive_living",
    "orientation_mobility",
)
SUPPORT_LEVELS: tuple[str, ...] = ("minimal", "moderate", "intensive")
DIFFICULTIES: tuple[str, ...] = ("introductory", "intermediate", "advanced")

SCORE_RANGE = (0.0, 100.0)
MAX_SESSION_MINUTES = 24 * 60.0  # longer "sessions" are client bugs, not learning

TENANTS: tuple[Column, ...] = (
    Column(
        "tenant_id",
        "string",
        "Tenant (UUID). The registry is the public list of tenants: every tenant released.",
        False,
    ),
    Column("name", "string", "Tenant's display name, e.g. a school district (not PII)."),
    Column("state_province", "string", "State or province of the tenant (coarse geography)."),
    Column(
        "joined_on",
        "date",
        "Tenant's first day on the platform (UTC). A tenant that joins during a period "
        "enters platform-wide releases from the next period.",
        False,
    ),
)

LEARNERS: tuple[Column, ...] = (
    Column("learner_id", "string", "Raw learner id (UUID). PII: never leaves raw/.", False, "pii"),
    Column("tenant_id", "string", "School district / tenant (UUID).", False),
    Column("full_name", "string", "Learner's full name. PII.", True, "pii"),
    Column("email", "string", "Learner's or guardian's email. PII.", True, "pii"),
    Column("date_of_birth", "date", "Birth date. PII; only age bands are published.", True, "pii"),
    Column("street_address", "string", "Street address. PII.", True, "pii"),
    Column("city", "string", "City. PII (quasi-identifier).", True, "pii"),
    Column("postal_code", "string", "Postal code. PII (quasi-identifier).", True, "pii"),
    Column("grade_level", "int", "School grade, 0 (kindergarten) to 12; null if unknown."),
    Column("state_province", "string", "State or province (coarse geography)."),
    Column("has_iep", "boolean", "Learner has an Individualized Education Program."),
    Column("enrolled_at", "timestamp", "When the learner joined the platform (UTC)."),
)

EVENTS: tuple[Column, ...] = (
    Column("event_id", "string", "Unique event id; at-least-once delivery may repeat it.", False),
    Column("tenant_id", "string", "Tenant the event belongs to (UUID).", False),
    Column("learner_id", "string", "Raw learner id. PII.", True, "pii"),
    Column("event_type", "string", "One of EventType.", False),
    Column("occurred_at", "timestamp", "When it happened (UTC); session end for sessions.", False),
    Column("course_id", "string", "Course (UUID), when the event concerns one."),
    Column("subject", "string", "Subject of the session, lesson or assessment."),
    Column("session_started_at", "timestamp", "session: start time (UTC)."),
    Column("session_ended_at", "timestamp", "session: end time (UTC)."),
    Column("lesson_id", "string", "lesson_completed: lesson id."),
    Column("score", "double", "assessment_completed: score in [0, 100]."),
    Column("attempt", "int", "assessment_completed: 1 for the first try, 2+ for retries."),
    Column("goal_id", "string", "iep_goal_measurement: the IEP goal measured."),
    Column("measurement", "double", "iep_goal_measurement: measured value on the goal's scale."),
)

IEP_GOALS: tuple[Column, ...] = (
    Column("goal_id", "string", "IEP goal id.", False),
    Column("tenant_id", "string", "Tenant (UUID).", False),
    Column("learner_id", "string", "Raw learner id. PII.", False, "pii"),
    Column("category", "string", "One of IEP_CATEGORIES.", False),
    Column("baseline", "double", "Score when the goal was set."),
    Column("target", "double", "Score the goal aims at."),
    Column("set_at", "date", "Date the goal was set."),
    Column("support_level", "string", "One of SUPPORT_LEVELS."),
)

COURSES: tuple[Column, ...] = (
    Column("course_id", "string", "Course id (UUID).", False),
    Column("tenant_id", "string", "Tenant offering the course (UUID).", False),
    Column("name", "string", "Course title (not PII)."),
    Column("subject", "string", "One of SUBJECTS."),
    Column("difficulty", "string", "One of DIFFICULTIES."),
)

RAW_TABLES: dict[str, tuple[Column, ...]] = {
    "tenants": TENANTS,
    "learners": LEARNERS,
    "events": EVENTS,
    "iep_goals": IEP_GOALS,
    "courses": COURSES,
}

PII_COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(c.name for c in columns if c.treatment == "pii")
    for table, columns in RAW_TABLES.items()
}
