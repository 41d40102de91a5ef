"""Reference distributions and goodness-of-fit helpers shared by the distribution tests."""

from __future__ import annotations

import numpy as np
from scipy import stats


def discrete_laplace_pmf(support: np.ndarray, scale: float) -> np.ndarray:
    """P(X = k) for the discrete Laplace with ``P ∝ exp(-|k|/scale)``."""
    alpha = np.exp(-1.0 / scale)
    pmf: np.ndarray = (1 - alpha) / (1 + alpha) * alpha ** np.abs(support)
    return pmf


def discrete_laplace_chi2_pvalue(
    samples: np.ndarray, scale: float, min_expected: float = 20.0
) -> float:
    """χ² p-value of integer ``samples`` against the discrete Laplace of ``scale``.

    Cells are the integers whose expected count is at least ``min_expected``;
    the two tails are pooled into one cell each.
    """
    n = len(samples)
    limit = int(np.floor(scale * np.log(n / min_expected)))  # expected count at ±limit ≈ 20
    support = np.arange(-limit, limit + 1)
    pmf = discrete_laplace_pmf(support, scale)
    observed = np.array([np.sum(samples == k) for k in support], dtype=float)
    lower_tail = np.sum(samples < -limit)
    upper_tail = np.sum(samples > limit)
    tail_mass = (1.0 - pmf.sum()) / 2.0
    observed = np.concatenate([[lower_tail], observed, [upper_tail]])
    expected = n * np.concatenate([[tail_mass], pmf, [tail_mass]])
    return float(stats.chisquare(observed, expected).pvalue)


def laplace_ks_pvalue(samples: np.ndarray, scale: float) -> float:
    """Kolmogorov-Smirnov p-value of ``samples`` against the continuous Laplace(0, scale)."""
    return float(stats.kstest(samples, "laplace", args=(0.0, scale)).pvalue)


def discrete_gaussian_pmf(support: np.ndarray, sigma: float) -> np.ndarray:
    """P(X = k) for ``N_Z(0, σ²)``, normalized over ±(40σ + 10) (the rest is below 1e-300)."""
    limit = int(np.ceil(40 * sigma)) + 10
    everything = np.arange(-limit, limit + 1)
    normalizer = np.exp(-(everything.astype(float) ** 2) / (2 * sigma**2)).sum()
    pmf: np.ndarray = np.exp(-(support.astype(float) ** 2) / (2 * sigma**2)) / normalizer
    return pmf


def discrete_gaussian_chi2_pvalue(
    samples: np.ndarray, sigma: float, min_expected: float = 20.0
) -> float:
    """χ² p-value of integer ``samples`` against ``N_Z(0, σ²)``.

    Cells are the integers whose expected count is at least ``min_expected``;
    the two tails are pooled into one cell each.
    """
    n = len(samples)
    limit = int(np.ceil(12 * sigma)) + 2
    candidates = np.arange(-limit, limit + 1)
    pmf = discrete_gaussian_pmf(candidates, sigma)
    support = candidates[n * pmf >= min_expected]
    low, high = int(support.min()), int(support.max())
    support = np.arange(low, high + 1)
    pmf = discrete_gaussian_pmf(support, sigma)
    counts = np.bincount(
        samples[(samples >= low) & (samples <= high)] - low, minlength=len(support)
    )
    tail_mass = (1.0 - pmf.sum()) / 2.0
    observed = np.concatenate([[np.sum(samples < low)], counts, [np.sum(samples > high)]])
    expected = n * np.concatenate([[tail_mass], pmf, [tail_mass]])
    return float(stats.chisquare(observed, expected).pvalue)
