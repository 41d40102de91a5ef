"""The public band lists (quasi-identifiers generalised) and their coarser ladder.

One definition, used by the generalising functions (``privacy_udfs.generalize``), the
band-keyed releases (``weekly_active``), the k-anonymity ladder of ``learner_snapshots``
and the contracts' column comments. Band lists are public keys: every band is released
for every tenant, empty ones included, so which bands exist reveals nothing.
"""

from __future__ import annotations

NOT_PROVIDED = "not_provided"
AGE_BANDS: tuple[str, ...] = ("under_13", "13_17", "18_plus", NOT_PROVIDED)
GRADE_BANDS: tuple[str, ...] = ("K-2", "3-5", "6-8", "9-12", NOT_PROVIDED)

# One step up the generalisation ladder (learner_snapshots' k-anonymity).
COARSE_AGE: dict[str, str] = {
    "under_13": "under_18",
    "13_17": "under_18",
    "18_plus": "18_plus",
    NOT_PROVIDED: NOT_PROVIDED,
}
COARSE_GRADE: dict[str, str] = {
    "K-2": "K-5",
    "3-5": "K-5",
    "6-8": "6-12",
    "9-12": "6-12",
    NOT_PROVIDED: NOT_PROVIDED,
}
