import math

import numpy as np
import pytest
import torch

from benchmark.metrics.masks import binarize
from benchmark.metrics.overlap import iou
from benchmark.metrics.segmentation import (
    MIOU80,
    MIOU_ALL,
    PAPER_TAUS,
    SWEEP_TAUS,
    MeanIoU,
    TauSweep,
    iou_by_tau,
    mean_iou,
    miou_by_subset,
    tau_sweep,
)


def _rect(rows, cols, shape=(10, 10)):
    m = np.zeros(shape, bool)
    m[rows[0] : rows[1], cols[0] : cols[1]] = True
    return m


def test_mean_iou_excludes_undefined_pairs():
    est = mean_iou([0.5, math.nan, 1.0, 0.0], n_resamples=200)
    assert est.value == pytest.approx(0.5) and est.n == 3
    assert est.ci_low <= est.value <= est.ci_high


def test_mean_iou_accumulator_by_subset():
    acc = MeanIoU(n_resamples=200)
    empty = np.zeros((10, 10), bool)
    # dog: IoU 1; cat: 50 px inside 100 px -> 0.5; spaceship (not COCO): 0; tree: both empty.
    assert acc.update(_rect((0, 5), (0, 5)), _rect((0, 5), (0, 5)), "dog") == 1.0
    assert acc.update(_rect((0, 5), (0, 10)), _rect((0, 10), (0, 10)), "cats") == 0.5
    assert acc.update(torch.from_numpy(_rect((0, 2), (0, 2))), _rect((5, 7), (5, 7)), "spaceship") == 0.0
    assert math.isnan(acc.update(empty, empty, "tree"))
    result = acc.compute()
    assert result[MIOU_ALL].value == pytest.approx(0.5) and result[MIOU_ALL].n == 3
    assert result[MIOU80].value == pytest.approx(0.75) and result[MIOU80].n == 2
    assert acc.n_excluded == 1
    assert result == miou_by_subset(acc.ious, acc.labels, n_resamples=200)  # seeded: same intervals
    # A split that knows better (e.g. "cats" in a caption about a hot dog stand) overrides the rule.
    flagged = miou_by_subset(acc.ious, acc.labels, [None, False, True, None], n_resamples=200)
    assert flagged[MIOU80].value == pytest.approx(0.5) and flagged[MIOU80].n == 2
    acc.reset()
    assert acc.compute()[MIOU_ALL].n == 0 and math.isnan(acc.compute()[MIOU_ALL].value)


def test_iou_by_tau_matches_binarize_then_iou():
    rng = np.random.default_rng(3)
    taus = SWEEP_TAUS + (0.33, 0.7)
    for _ in range(20):
        # Quantised maps put many values exactly on the thresholds (the >= edge case).
        soft = (np.round(rng.random((24, 18)) * 20) / 20).astype(np.float32)
        truth = rng.random((24, 18)) < rng.uniform(0.0, 0.6)
        expected = [iou(binarize(soft, t), truth) for t in taus]
        np.testing.assert_allclose(iou_by_tau(soft, truth, taus), expected, equal_nan=True)


def test_iou_by_tau_empty_truth_and_prediction_is_nan():
    soft = np.full((4, 4), 0.2, np.float32)
    truth = np.zeros((4, 4), bool)
    values = iou_by_tau(soft, truth, (0.1, 0.5))
    assert values[0] == 0.0 and math.isnan(values[1])


def test_sweep_peaks_where_the_truth_was_cut():
    # A ramp whose truth is ramp >= 0.5: IoU rises monotonically to 1 at tau 0.5, then falls.
    ramp = np.tile(np.linspace(0, 1, 101, dtype=np.float32), (5, 1))
    truth = ramp >= np.float32(0.5)
    curve = tau_sweep([ramp], [truth], n_resamples=50)
    values = curve.miou
    peak = SWEEP_TAUS.index(0.5)
    assert values[peak] == pytest.approx(1.0) and curve.best_tau == 0.5
    assert np.all(np.diff(values[: peak + 1]) > 0)
    assert np.all(np.diff(values[peak:]) < 0)


def test_sweep_is_non_increasing_when_truth_is_everything():
    # With the whole image as truth, IoU is the predicted share, which can only shrink with tau.
    rng = np.random.default_rng(4)
    softs = [rng.random((16, 16)).astype(np.float32) for _ in range(5)]
    truths = [np.ones((16, 16), bool)] * 5
    assert np.all(np.diff(tau_sweep(softs, truths, n_resamples=50).miou) <= 0)


def test_sweep_agrees_with_mean_iou_at_paper_taus():
    rng = np.random.default_rng(5)
    softs = [rng.random((12, 12)).astype(np.float32) for _ in range(8)]
    truths = [rng.random((12, 12)) < 0.4 for _ in range(8)]
    curve = tau_sweep(softs, truths, PAPER_TAUS, n_resamples=100)
    for tau in PAPER_TAUS:
        direct = mean_iou([iou(binarize(s, tau), t) for s, t in zip(softs, truths)], n_resamples=100)
        assert curve.at(tau) == direct
    with pytest.raises(KeyError, match="not on the curve"):
        curve.at(0.45)


def test_tau_sweep_accumulator_subsets():
    acc = TauSweep((0.3, 0.4, 0.5), n_resamples=50)
    soft = np.zeros((4, 4), np.float32)
    soft[:2] = 0.45
    truth = np.zeros((4, 4), bool)
    truth[:2] = True
    acc.update(soft, truth, "dog")
    acc.update(soft, ~truth, "shed")
    curves = acc.compute()
    np.testing.assert_allclose(curves[MIOU80].miou, [1.0, 1.0, 0.0])
    np.testing.assert_allclose(curves[MIOU_ALL].miou, [0.5, 0.5, 0.0])
    assert curves[MIOU_ALL].at(0.4).n == 2
    with pytest.raises(ValueError, match="tau"):
        TauSweep((0.5, 1.5))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="resize"):
        iou_by_tau(np.zeros((4, 4), np.float32), np.zeros((5, 5), bool))
