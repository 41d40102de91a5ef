"""Privacy levels of a release: what each promises, and who may read it.

This is the one definition of the levels. Jobs, the API and the pages all read it;
none keeps its own copy of the ε, the texts or the audiences. Spark-free.

A level is only as strong as the weakest release the same reader can see: a reader
of both an exact and a noisy release of the same data gets no protection from the
noise. So every level names its audiences, and the API serves a level only to them.
"""

from __future__ import annotations

from enum import StrEnum


class Audience(StrEnum):
    """Who reads a release (the API's roles: public < researcher < admin < root)."""

    PUBLIC = "public"
    RESEARCHER = "researcher"
    TENANT_ADMIN = "admin"
    ROOT = "root"


class PrivacyLevel(StrEnum):
    """The protection applied to one release (the ``privacy_level`` column's values).

    ``anonymized`` publishes exact aggregates over pseudonymous data with
    k-suppression; the ``dp_*`` levels add calibrated noise with the total ε
    shown, split across the release's measurements by the release plan.
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

    def description(self, k_threshold: int) -> str:
        """One sentence for users, with the configured k (``MIN_COHORT_SIZE``)."""
        if self is PrivacyLevel.ANONYMIZED:
            return (
                "Exact aggregates over keyed pseudonyms; groups under "
                f"k={k_threshold} learners suppressed, with complementary suppression; no noise"
            )
        return (
            f"Differential privacy, ε={self.epsilon} per release; cells published only when "
            f"their noisy learner count clears k={k_threshold} plus its error bar"
        )

    @property
    def suitable_for(self) -> str:
        """Who should consume releases at this level (``/privacy/levels``)."""
        return _SUITABLE_FOR[self]

    @property
    def audiences(self) -> frozenset[Audience]:
        """Who may read releases at this level without a grant.

        ``anonymized`` is exact: tenant admins (their own tenant) and root only. A root
        grant can open one tenant's ``anonymized`` release to one researcher; it is
        recorded in the audit log. Public readers never see it.
        """
        if self.is_dp:
            return frozenset(Audience)
        return frozenset({Audience.TENANT_ADMIN, Audience.ROOT})

    def readable_by(self, audience: Audience | str, *, granted: bool = False) -> bool:
        """Whether ``audience`` may read this level (``granted``: a root grant applies)."""
        who = Audience(audience)
        if who in self.audiences:
            return True
        return granted and who is Audience.RESEARCHER and not self.is_dp


_EPSILON: dict[PrivacyLevel, float | None] = {
    PrivacyLevel.ANONYMIZED: None,
    PrivacyLevel.DP_LOW: 2.0,
    PrivacyLevel.DP_MEDIUM: 1.0,
    PrivacyLevel.DP_HIGH: 0.5,
}

_SUITABLE_FOR: dict[PrivacyLevel, str] = {
    PrivacyLevel.ANONYMIZED: "A tenant's own educator dashboards and administrators (not public)",
    PrivacyLevel.DP_LOW: "Internal research, trend monitoring across cohorts",
    PrivacyLevel.DP_MEDIUM: "Public reports, cross-tenant analytics, research",
    PrivacyLevel.DP_HIGH: "Open data, small or sensitive cohorts (IEP, rare categories)",
}

DP_LEVELS: tuple[PrivacyLevel, ...] = tuple(level for level in PrivacyLevel if level.is_dp)
# Most private first: where several DP releases exist, readers get the most private one.
MOST_PRIVATE_FIRST: tuple[PrivacyLevel, ...] = (
    PrivacyLevel.DP_HIGH,
    PrivacyLevel.DP_MEDIUM,
    PrivacyLevel.DP_LOW,
    PrivacyLevel.ANONYMIZED,
)
