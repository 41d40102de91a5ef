"""The privacy engine: keyed pseudonyms, contribution bounding, secure noise, suppression, budget.

Import everything from here::

    from privacy_udfs import private_aggregate, Measure, ContributionBounds, PrivacyLevel

See ``docs/privacy_toolkit.md`` for a walkthrough with runnable examples.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Spark is imported lazily: the Spark-free parts (levels, mechanisms, accounting, keys)
# serve processes without a JVM, such as the API, through ``privacy_udfs.<module>`` or here.
_EXPORTS: dict[str, str] = {
    "AGE_BANDS": "privacy_udfs.generalize",
    "BoundedData": "privacy_udfs.bounding",
    "BudgetConflictError": "privacy_udfs.budget",
    "BudgetExceededError": "privacy_udfs.budget",
    "Accountant": "privacy_udfs.accountant",
    "AccountingWindow": "privacy_udfs.windows",
    "Audience": "contracts.levels",
    "BudgetCheck": "privacy_udfs.accountant",
    "Charge": "privacy_udfs.accountant",
    "Refusal": "privacy_udfs.accountant",
    "WindowAccount": "privacy_udfs.accountant",
    "windows_touched": "privacy_udfs.windows",
    "ChargeOutcome": "privacy_udfs.budget",
    "ContributionBounds": "privacy_udfs.bounding",
    "GRADE_BANDS": "privacy_udfs.generalize",
    "LEARNERS_COMPONENT": "privacy_udfs.measures",
    "Measure": "privacy_udfs.measures",
    "SELECTION_COMPONENT": "privacy_udfs.measures",
    "MissingColumnsError": "privacy_udfs.errors",
    "PrivacyBudget": "privacy_udfs.budget",
    "PrivacyConfigurationError": "privacy_udfs.errors",
    "PrivacyError": "privacy_udfs.errors",
    "PrivacyLevel": "contracts.levels",
    "PseudonymKey": "privacy_udfs.keys",
    "PseudonymKeyError": "privacy_udfs.keys",
    "RELEASE_COLUMNS": "privacy_udfs.aggregate",
    "RandomSource": "privacy_udfs.randomness",
    "TunedBounds": "privacy_udfs.tuning",
    "TuningPlan": "privacy_udfs.tuning",
    "Sensitivities": "privacy_udfs.bounding",
    "PairColumns": "privacy_udfs.bounding",
    "Partition": "privacy_udfs.consistency",
    "bound_contributions": "privacy_udfs.bounding",
    "bounded_pairs": "privacy_udfs.bounding",
    "clamp": "privacy_udfs.bounding",
    "compare_mechanisms": "privacy_udfs.zcdp",
    "consistent_partitions": "privacy_udfs.consistency",
    "derive_export_key": "privacy_udfs.keys",
    "epsilon_of_rho": "privacy_udfs.zcdp",
    "exponential_quantile": "privacy_udfs.noise",
    "gaussian_count": "privacy_udfs.noise",
    "gaussian_sum": "privacy_udfs.noise",
    "generalize_age": "privacy_udfs.generalize",
    "generalize_grade": "privacy_udfs.generalize",
    "hash_id": "privacy_udfs.pseudonyms",
    "laplace_count": "privacy_udfs.noise",
    "laplace_sum": "privacy_udfs.noise",
    "load_pseudonym_key": "privacy_udfs.keys",
    "private_aggregate": "privacy_udfs.aggregate",
    "rho_for_epsilon": "privacy_udfs.zcdp",
    "secure_random_source": "privacy_udfs.randomness",
    "seeded_random_source_for_tests": "privacy_udfs.randomness",
    "select_partitions": "privacy_udfs.partition_selection",
    "suppress_small_groups": "privacy_udfs.suppression",
    "tune_bounds": "privacy_udfs.tuning",
    "with_consistent_parts": "privacy_udfs.consistency",
}

if TYPE_CHECKING:
    from contracts.levels import Audience, PrivacyLevel
    from privacy_udfs.accountant import (
        Accountant,
        BudgetCheck,
        Charge,
        Refusal,
        WindowAccount,
    )
    from privacy_udfs.aggregate import RELEASE_COLUMNS, private_aggregate
    from privacy_udfs.bounding import (
        BoundedData,
        ContributionBounds,
        PairColumns,
        Sensitivities,
        bound_contributions,
        bounded_pairs,
        clamp,
    )
    from privacy_udfs.budget import (
        BudgetConflictError,
        BudgetExceededError,
        ChargeOutcome,
        PrivacyBudget,
    )
    from privacy_udfs.consistency import Partition, consistent_partitions, with_consistent_parts
    from privacy_udfs.errors import MissingColumnsError, PrivacyConfigurationError, PrivacyError
    from privacy_udfs.generalize import AGE_BANDS, GRADE_BANDS, generalize_age, generalize_grade
    from privacy_udfs.keys import (
        PseudonymKey,
        PseudonymKeyError,
        derive_export_key,
        load_pseudonym_key,
    )
    from privacy_udfs.measures import LEARNERS_COMPONENT, SELECTION_COMPONENT, Measure
    from privacy_udfs.noise import (
        exponential_quantile,
        gaussian_count,
        gaussian_sum,
        laplace_count,
        laplace_sum,
    )
    from privacy_udfs.partition_selection import select_partitions
    from privacy_udfs.pseudonyms import hash_id
    from privacy_udfs.randomness import (
        RandomSource,
        secure_random_source,
        seeded_random_source_for_tests,
    )
    from privacy_udfs.suppression import suppress_small_groups
    from privacy_udfs.tuning import TunedBounds, TuningPlan, tune_bounds
    from privacy_udfs.windows import AccountingWindow, windows_touched
    from privacy_udfs.zcdp import compare_mechanisms, epsilon_of_rho, rho_for_epsilon

__all__ = [
    "AGE_BANDS",
    "GRADE_BANDS",
    "LEARNERS_COMPONENT",
    "RELEASE_COLUMNS",
    "SELECTION_COMPONENT",
    "Accountant",
    "AccountingWindow",
    "Audience",
    "BoundedData",
    "BudgetCheck",
    "BudgetConflictError",
    "BudgetExceededError",
    "Charge",
    "ChargeOutcome",
    "ContributionBounds",
    "Measure",
    "MissingColumnsError",
    "PairColumns",
    "Partition",
    "PrivacyBudget",
    "PrivacyConfigurationError",
    "PrivacyError",
    "PrivacyLevel",
    "PseudonymKey",
    "PseudonymKeyError",
    "RandomSource",
    "Refusal",
    "Sensitivities",
    "TunedBounds",
    "TuningPlan",
    "WindowAccount",
    "bound_contributions",
    "bounded_pairs",
    "clamp",
    "compare_mechanisms",
    "consistent_partitions",
    "derive_export_key",
    "epsilon_of_rho",
    "exponential_quantile",
    "gaussian_count",
    "gaussian_sum",
    "generalize_age",
    "generalize_grade",
    "hash_id",
    "laplace_count",
    "laplace_sum",
    "load_pseudonym_key",
    "private_aggregate",
    "rho_for_epsilon",
    "secure_random_source",
    "seeded_random_source_for_tests",
    "select_partitions",
    "suppress_small_groups",
    "tune_bounds",
    "windows_touched",
    "with_consistent_parts",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'privacy_udfs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
