import itertools

import numpy as np
import pytest
import torch

from benchmark.metrics.matching import hungarian_match, iou_matrix, match_clusters
from benchmark.metrics.overlap import iou


def _blobs(seed: int, k: int, size: int = 24) -> np.ndarray:
    """A label map of k regions: each pixel takes the label of its nearest of k random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, size, (k, 2))
    yy, xx = np.mgrid[:size, :size]
    dist = (yy[..., None] - centres[:, 0]) ** 2 + (xx[..., None] - centres[:, 1]) ** 2
    return dist.argmin(-1)


WORDS = ("dog", "cat", "tree", "car", "sky")


def test_recovers_a_known_permutation_of_cluster_ids():
    truth_labels = _blobs(0, len(WORDS))
    truths = {w: truth_labels == i for i, w in enumerate(WORDS)}
    perm = np.random.default_rng(1).permutation(len(WORDS))
    clusters = perm[truth_labels] * 7 + 3  # shuffled, non-contiguous ids
    assignment = match_clusters(clusters, truths)
    assert assignment == {w: int(perm[i] * 7 + 3) for i, w in enumerate(WORDS)}
    for w, pred in hungarian_match(torch.from_numpy(clusters), truths).items():
        np.testing.assert_array_equal(pred, truths[w])


def test_is_optimal_against_brute_force():
    rng = np.random.default_rng(2)
    truth_labels = _blobs(3, 4)
    truths = {w: truth_labels == i for i, w in enumerate(WORDS[:4])}
    clusters = _blobs(4, 4)
    clusters[rng.random(clusters.shape) < 0.2] = 9  # a fifth, noisy cluster
    matched = hungarian_match(clusters, truths)
    total = sum(iou(matched[w], truths[w]) for w in truths)
    ids = np.unique(clusters)
    best = max(
        sum(iou(clusters == c, truths[w]) for w, c in zip(truths, chosen))
        for chosen in itertools.permutations(ids, len(truths))
    )
    assert total == pytest.approx(best)


def test_unmatched_words_get_empty_masks():
    truth_labels = _blobs(5, 3)
    truths = {w: truth_labels == i for i, w in enumerate(WORDS[:3])}
    truths["sky"] = np.zeros_like(truth_labels, dtype=bool)  # absent from the image
    clusters = np.where(truth_labels == 2, 1, 0)  # two clusters for three present words
    matched = hungarian_match(clusters, truths)
    assert sum(m.any() for m in matched.values()) == 2
    assert not matched["sky"].any()
    assert match_clusters(clusters, truths)["sky"] is None


def test_ignore_index_pixels_belong_to_no_cluster():
    clusters = np.array([[0, 0, -1, -1]])
    truths = {"dog": np.array([[True, True, True, True]])}
    matrix, ids = iou_matrix(clusters, truths, ignore_index=-1)
    assert ids.tolist() == [0] and matrix[0, 0] == pytest.approx(0.5)
    assert not hungarian_match(clusters, truths, ignore_index=-1)["dog"][0, 2:].any()


def test_bad_cluster_maps():
    truths = {"dog": np.ones((2, 2), bool)}
    with pytest.raises(TypeError, match="integer"):
        hungarian_match(np.zeros((2, 2), np.float32), truths)
    with pytest.raises(ValueError, match="shape"):
        hungarian_match(np.zeros((3, 3), np.int64), truths)
