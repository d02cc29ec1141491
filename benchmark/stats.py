"""Statistics for the benchmark: estimates with intervals, exact tests, agreement.

Every statistic returns an ``Estimate`` (value, interval, n) so a report can never show a
number without saying how sure it is and how many observations it rests on. scipy is imported
inside the functions that need it so that importing the metrics (and ``bench --help``) stays
fast.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

# Agreement lives below benchmark and annotation, so the stored score and `bench annotate status`
# compute one alpha; it is re-exported here beside the other statistics.
from core.agreement import AlphaUndefined, KrippendorffLevel, krippendorff_alpha  # noqa: F401

BootstrapMethod = Literal["percentile", "basic", "BCa"]
DEFAULT_RESAMPLES = 2000  # enough for stable 95% percentile bounds, cheap on two cores
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Estimate:
    """A statistic with its interval and the number of observations behind it.

    ``ci_low``/``ci_high`` are None when no interval can be formed (fewer than two
    observations); ``value`` is NaN when there are no observations at all.
    """

    value: float
    ci_low: float | None
    ci_high: float | None
    n: int

    @property
    def has_interval(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None

    def scaled(self, factor: float) -> Estimate:
        """The same estimate in other units (e.g. x100 for the paper's mIoU points)."""
        lo = None if self.ci_low is None else self.ci_low * factor
        hi = None if self.ci_high is None else self.ci_high * factor
        return Estimate(self.value * factor, lo, hi, self.n)

    def __str__(self) -> str:
        ci = f" [{self.ci_low:.4g}, {self.ci_high:.4g}]" if self.has_interval else ""
        return f"{self.value:.4g}{ci} (n={self.n})"


def _as_values(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{what} contain NaN: drop undefined observations before estimating")
    return arr


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")


def bootstrap_ci(
    data: Sequence[Sequence[float] | np.ndarray],
    statistic: Callable[..., np.ndarray],
    *,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    method: BootstrapMethod = "percentile",
    rng: int | np.random.Generator = DEFAULT_SEED,
) -> Estimate:
    """Bootstrap interval of ``statistic`` over observations resampled jointly (paired).

    ``data`` is one or more equally long 1-D arrays, one entry per observation (e.g. per item);
    ``statistic(*arrays, axis=-1)`` must be vectorised. With fewer than two observations the
    estimate has no interval; when every resample gives the same statistic (e.g. constant data)
    the interval collapses to the value (scipy's BCa would return NaN there).
    """
    _check_confidence(confidence)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples}")
    if method not in ("percentile", "basic", "BCa"):
        raise ValueError(f"unknown bootstrap method {method!r}: use 'percentile', 'basic' or 'BCa'")
    arrays = [_as_values(d, "bootstrap data") for d in data]
    if not arrays:
        raise ValueError("bootstrap_ci needs at least one data array")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"paired data arrays differ in length: {[len(a) for a in arrays]}")
    if n == 0:
        return Estimate(math.nan, None, None, 0)
    value = float(statistic(*arrays, axis=-1))
    if n < 2:
        return Estimate(value, None, None, n)
    if all(np.ptp(a) == 0 for a in arrays):
        return Estimate(value, value, value, n)
    from scipy.stats import DegenerateDataWarning, bootstrap

    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", DegenerateDataWarning)  # degenerate resamples: handled below
        res = bootstrap(
            tuple(arrays),
            statistic,
            n_resamples=n_resamples,
            confidence_level=confidence,
            method=method,
            paired=len(arrays) > 1,
            vectorized=True,
            axis=-1,
            rng=np.random.default_rng(rng),
        )
    if np.ptp(res.bootstrap_distribution) == 0:  # e.g. a ratio whose numerators are all zero
        return Estimate(value, value, value, n)
    return Estimate(value, float(res.confidence_interval.low), float(res.confidence_interval.high), n)


def mean_ci(
    values: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    method: BootstrapMethod = "percentile",
    rng: int | np.random.Generator = DEFAULT_SEED,
) -> Estimate:
    """The mean of ``values`` with a bootstrap interval (seeded: same input, same interval)."""
    return bootstrap_ci([values], np.mean, confidence=confidence, n_resamples=n_resamples, method=method, rng=rng)


def _ratio_of_sums(numerators: np.ndarray, denominators: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.sum(numerators, axis=axis) / np.sum(denominators, axis=axis)


def ratio_ci(
    numerators: Sequence[float] | np.ndarray,
    denominators: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    method: BootstrapMethod = "percentile",
    rng: int | np.random.Generator = DEFAULT_SEED,
) -> Estimate:
    """sum(numerators) / sum(denominators) with a cluster bootstrap over the clusters.

    Used where observations (ratings) are nested in clusters (items): resampling whole clusters
    keeps the raters of one item together. ``n`` is the number of clusters.
    """
    den = _as_values(denominators, "denominators")
    if (den < 0).any() or (len(den) and den.sum() == 0):
        raise ValueError("denominators must be non-negative with a positive sum")
    return bootstrap_ci(
        [numerators, den],
        _ratio_of_sums,
        confidence=confidence,
        n_resamples=n_resamples,
        method=method,
        rng=rng,
    )


def proportion_ci(successes: int, n: int, *, confidence: float = 0.95, method: str = "wilson") -> Estimate:
    """A binomial proportion with its interval (Wilson by default, 'exact' for Clopper-Pearson)."""
    _check_confidence(confidence)
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return Estimate(math.nan, None, None, 0)
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method=method)
    return Estimate(successes / n, float(ci.low), float(ci.high), int(n))


@dataclass(frozen=True)
class FisherResult:
    """Fisher's exact test on a 2x2 table; ``odds_ratio`` is the sample (cross-product) ratio."""

    odds_ratio: float
    p_value: float
    table: tuple[tuple[int, int], tuple[int, int]]
    alternative: str


def fisher_exact_test(table: Sequence[Sequence[int]] | np.ndarray, alternative: str = "two-sided") -> FisherResult:
    """Fisher's exact test (scipy) on a 2x2 table of non-negative counts."""
    arr = np.asarray(table)
    if arr.shape != (2, 2):
        raise ValueError(f"Fisher's exact test needs a 2x2 table, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"table entries must be whole counts, got {arr.tolist()}")
        arr = arr.astype(np.int64)
    if (arr < 0).any():
        raise ValueError(f"table entries must be non-negative counts, got {arr.tolist()}")
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(f"alternative must be 'two-sided', 'less' or 'greater', got {alternative!r}")
    from scipy.stats import fisher_exact

    res = fisher_exact(arr, alternative=alternative)
    as_tuple = ((int(arr[0, 0]), int(arr[0, 1])), (int(arr[1, 0]), int(arr[1, 1])))
    return FisherResult(float(res.statistic), float(res.pvalue), as_tuple, alternative)
