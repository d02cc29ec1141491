import math

import numpy as np
import pytest
import torch
from pycocotools import mask as coco_mask

from benchmark.metrics.overlap import iod, ioh, iou, pair_overlap


def _rect(shape, rows, cols):
    m = np.zeros(shape, bool)
    m[rows[0] : rows[1], cols[0] : cols[1]] = True
    return m


def test_hand_worked_head_contains_dependent():
    # dependent: rows 0-1 x cols 0-1 (4 px); head: rows 0-3 x cols 0-1 (8 px).
    dependent = _rect((4, 4), (0, 2), (0, 2))
    head = _rect((4, 4), (0, 4), (0, 2))
    assert iou(dependent, head) == pytest.approx(4 / 8)
    assert iod(dependent, head) == pytest.approx(4 / 4)  # the head covers all of the dependent
    assert ioh(dependent, head) == pytest.approx(4 / 8)
    counts = pair_overlap(dependent, head)
    assert (counts.intersection, counts.area_a, counts.area_b, counts.union) == (4, 4, 8, 8)


def test_hand_worked_partial_overlap():
    a = _rect((5, 5), (0, 3), (0, 3))  # 9 px
    b = _rect((5, 5), (2, 5), (2, 5))  # 9 px, overlapping in one pixel
    assert iou(a, b) == pytest.approx(1 / 17)


def test_empty_masks():
    empty = np.zeros((3, 3), bool)
    full = np.ones((3, 3), bool)
    assert math.isnan(iou(empty, empty))  # excluded from means, not scored 0 or 1
    assert iou(empty, full) == 0.0
    assert math.isnan(iod(empty, full)) and ioh(empty, full) == 0.0
    assert iod(full, empty) == 0.0 and math.isnan(ioh(full, empty))


@pytest.mark.parametrize("density", [0.05, 0.3, 0.7])
def test_iou_matches_pycocotools(density):
    rng = np.random.default_rng(int(density * 100))
    for _ in range(10):
        pred = rng.random((37, 53)) < density
        truth = rng.random((37, 53)) < density
        rles = [coco_mask.encode(np.asfortranarray(m.astype(np.uint8))) for m in (pred, truth)]
        expected = coco_mask.iou([rles[0]], [rles[1]], [0])[0, 0]
        assert iou(pred, truth) == pytest.approx(expected, abs=1e-12)
        assert iou(torch.from_numpy(pred), torch.from_numpy(truth)) == pytest.approx(expected, abs=1e-12)


def test_shape_mismatch_names_the_fix():
    with pytest.raises(ValueError, match="resize_mask"):
        iou(np.zeros((2, 2), bool), np.zeros((3, 3), bool))


def test_batches_are_refused_not_pooled():
    with pytest.raises(ValueError, match="single 2-D"):
        iou(np.zeros((2, 3, 3), bool), np.zeros((2, 3, 3), bool))
