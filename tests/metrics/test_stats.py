import math
from itertools import combinations

import numpy as np
import pytest

from benchmark.stats import (
    Estimate,
    bootstrap_ci,
    fisher_exact_test,
    krippendorff_alpha,
    mean_ci,
    proportion_ci,
    ratio_ci,
)

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C: four observers,
# twelve units, missing values; the paper gives nominal alpha = 0.743.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)


def _alpha_by_hand(data: np.ndarray, level: str) -> float:
    """Coincidence-matrix alpha, written from Krippendorff's definitions (independent of the package)."""
    values = np.unique(data[~np.isnan(data)])
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for unit in data.T:
        present = unit[~np.isnan(unit)]
        m = len(present)
        if m < 2:
            continue
        for a, b in combinations(range(m), 2):
            i, j = index[present[a]], index[present[b]]
            o[i, j] += 1 / (m - 1)
            o[j, i] += 1 / (m - 1)
    n_c = o.sum(1)
    n = n_c.sum()
    delta = np.zeros_like(o)
    for c in range(len(values)):
        for k in range(len(values)):
            if level == "nominal":
                delta[c, k] = float(c != k)
            else:  # ordinal: (sum of marginals from c to k, minus half of both ends) squared
                lo, hi = min(c, k), max(c, k)
                delta[c, k] = (n_c[lo : hi + 1].sum() - (n_c[c] + n_c[k]) / 2) ** 2
    observed = (o * delta).sum()
    expected = (np.outer(n_c, n_c) * delta).sum() / (n - 1)
    return 1 - observed / expected


def test_estimate_str_and_scaling():
    est = Estimate(0.5, 0.4, 0.6, 10)
    assert str(est) == "0.5 [0.4, 0.6] (n=10)"
    assert est.scaled(100) == Estimate(50.0, 40.0, 60.0, 10)
    assert not Estimate(1.0, None, None, 1).has_interval


def test_mean_ci_contains_the_mean_and_is_seeded():
    values = np.random.default_rng(0).normal(0.5, 0.2, 300)
    a = mean_ci(values, rng=7)
    assert a.value == pytest.approx(values.mean()) and a.n == 300
    assert a.ci_low < a.value < a.ci_high
    assert mean_ci(values, rng=7) == a
    assert mean_ci(values, rng=8) != a
    # The percentile interval agrees with the normal approximation at this n.
    half = 1.96 * values.std(ddof=1) / math.sqrt(len(values))
    assert (a.ci_high - a.ci_low) / 2 == pytest.approx(half, rel=0.15)


def test_small_and_degenerate_samples():
    assert mean_ci([]).n == 0 and math.isnan(mean_ci([]).value)
    assert mean_ci([0.3]) == Estimate(0.3, None, None, 1)
    constant = mean_ci([0.2, 0.2, 0.2], method="BCa")  # scipy's BCa alone would give NaN bounds
    assert constant.value == pytest.approx(0.2) and constant.ci_low == constant.ci_high == constant.value
    with pytest.raises(ValueError, match="NaN"):
        mean_ci([0.1, math.nan])
    with pytest.raises(ValueError, match="method"):
        mean_ci([0.1, 0.2], method="normal")


def test_bca_interval():
    values = np.random.default_rng(1).exponential(1.0, 200)
    est = mean_ci(values, method="BCa", n_resamples=500)
    assert est.ci_low < values.mean() < est.ci_high


def test_ratio_ci_pools_clusters():
    est = ratio_ci([2, 3, 0, 3], [3, 3, 2, 3], n_resamples=500)
    assert est.value == pytest.approx(8 / 11) and est.n == 4
    assert est.ci_low <= est.value <= est.ci_high
    zero = ratio_ci([0, 0, 0], [3, 2, 1], method="BCa", n_resamples=200)
    assert (zero.value, zero.ci_low, zero.ci_high) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="differ in length"):
        bootstrap_ci([[1, 2], [1]], np.mean)


def test_proportion_wilson_by_hand():
    k, n, z = 52, 100, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    est = proportion_ci(k, n)
    assert est.value == 0.52 and est.n == 100
    assert est.ci_low == pytest.approx(centre - half) and est.ci_high == pytest.approx(centre + half)
    with pytest.raises(ValueError, match="successes"):
        proportion_ci(5, 3)


def test_fisher_tea_tasting():
    # Fisher's lady tasting tea: P(x) = C(4,x) C(4,4-x) / C(8,4) = 1,16,36,16,1 over 70.
    res = fisher_exact_test([[3, 1], [1, 3]])
    assert res.odds_ratio == pytest.approx(9.0)
    assert res.p_value == pytest.approx(34 / 70) and round(res.p_value, 4) == 0.4857
    assert fisher_exact_test([[3, 1], [1, 3]], alternative="greater").p_value == pytest.approx(17 / 70)
    assert res.table == ((3, 1), (1, 3))


def test_fisher_rejects_bad_tables():
    with pytest.raises(ValueError, match="2x2"):
        fisher_exact_test([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match="non-negative"):
        fisher_exact_test([[1, -2], [3, 4]])
    with pytest.raises(ValueError, match="whole counts"):
        fisher_exact_test([[1.5, 2], [3, 4]])


def test_krippendorff_published_example():
    assert krippendorff_alpha(KRIPPENDORFF_2011, "nominal") == pytest.approx(0.743, abs=5e-4)
    for level in ("nominal", "ordinal"):
        assert krippendorff_alpha(KRIPPENDORFF_2011, level) == pytest.approx(_alpha_by_hand(KRIPPENDORFF_2011, level))


def test_krippendorff_on_seeded_likert_ratings():
    rng = np.random.default_rng(2)
    truth = rng.integers(1, 6, 40)
    data = np.clip(truth + rng.integers(-1, 2, (3, 40)), 1, 5).astype(float)
    data[rng.random(data.shape) < 0.1] = np.nan
    for level in ("nominal", "ordinal"):
        assert krippendorff_alpha(data, level) == pytest.approx(_alpha_by_hand(data, level))


def test_krippendorff_perfect_and_chance_agreement():
    perfect = np.array([[1, 2, 3, 4, 5, 1], [1, 2, 3, 4, 5, 1]], float)
    assert krippendorff_alpha(perfect, "ordinal") == pytest.approx(1.0)
    # Raters always disagree on four units: o_12 = o_21 = 4, n_1 = n_2 = 4, n = 8, so
    # alpha = 1 - (n - 1) * (o_12 + o_21) / (2 * n_1 * n_2) = 1 - 7 * 8 / 32 = -0.75.
    opposite = np.array([[1, 2, 1, 2], [2, 1, 2, 1]], float)
    assert krippendorff_alpha(opposite, "nominal") == pytest.approx(-0.75)
    # Independent raters agree only by chance: alpha near 0.
    independent = np.random.default_rng(3).integers(1, 6, (2, 3000)).astype(float)
    assert abs(krippendorff_alpha(independent, "nominal")) < 0.05


def test_krippendorff_input_errors():
    with pytest.raises(ValueError, match="two raters"):
        krippendorff_alpha([[1, 2, 3]])
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha(KRIPPENDORFF_2011, "likert")
    with pytest.raises(ValueError, match="2-D"):
        krippendorff_alpha([1, 2, 3])
    with pytest.raises(ValueError, match="undefined"):
        krippendorff_alpha([[1, 1], [1, 1]])
