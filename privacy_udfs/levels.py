"""Privacy levels of a release: what each promises and what it is for."""

from __future__ import annotations

from enum import StrEnum


class PrivacyLevel(StrEnum):
    """The protection applied to one release (the S2-15 ``privacy_level`` values).

    ``anonymized`` publishes exact aggregates over pseudonymous data with
    k-suppression; the ``dp_*`` levels add calibrated noise with the total ε
    shown, split across the release's metrics by sequential composition.
    """

    ANONYMIZED = "anonymized"
    DP_LOW = "dp_low"
    DP_MEDIUM = "dp_medium"
    DP_HIGH = "dp_high"

    @property
    def epsilon(self) -> float | None:
        """Total ε of one release at this level; ``None`` for ``anonymized``."""
        return _EPSILON[self]

    @property
    def is_dp(self) -> bool:
        """Whether releases at this level are differentially private."""
        return self.epsilon is not None

    @property
    def description(self) -> str:
        """One sentence for users (``/privacy/levels``)."""
        return _DESCRIPTION[self]

    @property
    def suitable_for(self) -> str:
        """Who should consume releases at this level (``/privacy/levels``)."""
        return _SUITABLE_FOR[self]


_EPSILON: dict[PrivacyLevel, float | None] = {
    PrivacyLevel.ANONYMIZED: None,
    PrivacyLevel.DP_LOW: 2.0,
    PrivacyLevel.DP_MEDIUM: 1.0,
    PrivacyLevel.DP_HIGH: 0.5,
}

_DESCRIPTION: dict[PrivacyLevel, str] = {
    PrivacyLevel.ANONYMIZED: (
        "PII removed, data aggregated: exact values over keyed pseudonyms, "
        "metrics suppressed below k learners"
    ),
    PrivacyLevel.DP_LOW: "Low differential privacy noise (ε=2.0)",
    PrivacyLevel.DP_MEDIUM: "Medium differential privacy noise (ε=1.0)",
    PrivacyLevel.DP_HIGH: "High differential privacy noise (ε=0.5)",
}

_SUITABLE_FOR: dict[PrivacyLevel, str] = {
    PrivacyLevel.ANONYMIZED: "Educator dashboards, tenant analytics",
    PrivacyLevel.DP_LOW: "Internal research, trend monitoring across cohorts",
    PrivacyLevel.DP_MEDIUM: "Public reports, cross-tenant analytics",
    PrivacyLevel.DP_HIGH: "Open data, small or sensitive cohorts (IEP, rare categories)",
}
