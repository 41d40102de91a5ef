"""The four privacy levels of the design (DESIGN.md §2), as the API describes them."""

from __future__ import annotations

from serving.models.responses import PrivacyLevelInfo

PRIVACY_LEVELS: tuple[PrivacyLevelInfo, ...] = (
    PrivacyLevelInfo(
        level="anonymized",
        description="Keyed pseudonyms and k-suppression (k=5); no noise",
        epsilon=0.0,
        suitable_for="Educator dashboards, tenant analytics",
    ),
    PrivacyLevelInfo(
        level="dp_low",
        description="Low differential privacy noise (ε=2.0)",
        epsilon=2.0,
        suitable_for="Internal cross-cohort analytics",
    ),
    PrivacyLevelInfo(
        level="dp_medium",
        description="Medium differential privacy noise (ε=1.0)",
        epsilon=1.0,
        suitable_for="Public reports, cross-tenant analytics",
    ),
    PrivacyLevelInfo(
        level="dp_high",
        description="High differential privacy noise (ε=0.5)",
        epsilon=0.5,
        suitable_for="Research exports, small populations",
    ),
)
# Most private first: the public page shows the most private release available.
MOST_PRIVATE_FIRST = ("dp_high", "dp_medium", "dp_low", "anonymized")


def epsilon_of(level: str) -> float:
    """ε of a privacy level (0 for anonymized)."""
    return next(info.epsilon for info in PRIVACY_LEVELS if info.level == level)
