"""The privacy engine: keyed pseudonyms, contribution bounding, secure noise, suppression, budget.

Import everything from here::

    from privacy_udfs import private_aggregate, Measure, ContributionBounds, PrivacyLevel

See ``docs/privacy_toolkit.md`` for a walkthrough with runnable examples.
"""

from __future__ import annotations

from privacy_udfs.aggregate import RELEASE_COLUMNS, private_aggregate
from privacy_udfs.bounding import (
    BoundedData,
    ContributionBounds,
    Sensitivities,
    bound_contributions,
    clamp,
)
from privacy_udfs.budget import (
    BudgetConflictError,
    BudgetExceededError,
    Charge,
    ChargeOutcome,
    PrivacyBudget,
)
from privacy_udfs.errors import MissingColumnsError, PrivacyConfigurationError
from privacy_udfs.generalize import AGE_BANDS, GRADE_BANDS, generalize_age, generalize_grade
from privacy_udfs.keys import PseudonymKey, PseudonymKeyError, derive_export_key, load_pseudonym_key
from privacy_udfs.levels import PrivacyLevel
from privacy_udfs.measures import Measure
from privacy_udfs.noise import exponential_quantile, laplace_count, laplace_sum
from privacy_udfs.partition_selection import select_partitions
from privacy_udfs.pseudonyms import hash_id
from privacy_udfs.randomness import (
    RandomSource,
    secure_random_source,
    seeded_random_source_for_tests,
)
from privacy_udfs.suppression import suppress_small_groups

__all__ = [
    "AGE_BANDS",
    "GRADE_BANDS",
    "RELEASE_COLUMNS",
    "BoundedData",
    "BudgetConflictError",
    "BudgetExceededError",
    "Charge",
    "ChargeOutcome",
    "ContributionBounds",
    "Measure",
    "MissingColumnsError",
    "PrivacyBudget",
    "PrivacyConfigurationError",
    "PrivacyLevel",
    "PseudonymKey",
    "PseudonymKeyError",
    "RandomSource",
    "Sensitivities",
    "bound_contributions",
    "clamp",
    "derive_export_key",
    "exponential_quantile",
    "generalize_age",
    "generalize_grade",
    "hash_id",
    "laplace_count",
    "laplace_sum",
    "load_pseudonym_key",
    "private_aggregate",
    "secure_random_source",
    "seeded_random_source_for_tests",
    "select_partitions",
    "suppress_small_groups",
]
