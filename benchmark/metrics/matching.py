"""Hungarian matching of unlabeled clusters to words (for STEGO, PiCIE and similar baselines).

Unsupervised methods output a label map of anonymous cluster ids. Each word of the ground
truth is given the one cluster that maximises the total IoU over all words (each cluster used
at most once), as is standard for scoring unsupervised segmentation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from benchmark.metrics.masks import as_mask, same_shape


def _label_map(clusters: Any) -> np.ndarray:
    arr = clusters.detach().cpu().numpy() if hasattr(clusters, "detach") else np.asarray(clusters)
    if arr.ndim != 2:
        raise ValueError(f"cluster map must be 2-D (H, W), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"cluster map must hold integer cluster ids, got dtype {arr.dtype}")
    return arr


def iou_matrix(
    clusters: Any, truths: Mapping[str, Any], ignore_index: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """IoU of every (word, cluster) pair: ``(iou [n_words, n_clusters], cluster ids)``.

    Pixels labelled ``ignore_index`` belong to no cluster (they still count in the truth area).
    """
    labels = _label_map(clusters)
    words = list(truths)
    masks = [as_mask(truths[w], f"truth mask of {w!r}") for w in words]
    for w, m in zip(words, masks):
        same_shape(labels, m, f"cluster map and truth mask of {w!r}")
    flat_labels = labels.ravel()
    valid = np.ones(flat_labels.size, bool) if ignore_index is None else flat_labels != ignore_index
    ids = np.unique(flat_labels[valid])
    index = np.searchsorted(ids, flat_labels)  # exact for valid pixels
    cluster_area = np.bincount(index[valid], minlength=len(ids))
    result = np.zeros((len(words), len(ids)))
    for i, m in enumerate(masks):
        flat = m.ravel()
        inter = np.bincount(index[valid & flat], minlength=len(ids))
        union = cluster_area + np.count_nonzero(flat) - inter
        result[i] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return result, ids


def match_clusters(clusters: Any, truths: Mapping[str, Any], ignore_index: int | None = None) -> dict[str, int | None]:
    """The cluster id given to each word, or None when the word gets no overlapping cluster.

    A word assigned a cluster it does not overlap at all (IoU 0) counts as unmatched: the
    assignment among zero-IoU pairs is arbitrary, and an empty prediction is the honest one.
    """
    from scipy.optimize import linear_sum_assignment

    matrix, ids = iou_matrix(clusters, truths, ignore_index)
    words = list(truths)
    matched: dict[str, int | None] = dict.fromkeys(words)
    if matrix.size:
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        for r, c in zip(rows, cols):
            if matrix[r, c] > 0:
                matched[words[r]] = int(ids[c])
    return matched


def hungarian_match(clusters: Any, truths: Mapping[str, Any], ignore_index: int | None = None) -> dict[str, np.ndarray]:
    """Per-word predicted masks from an unlabeled cluster map, maximising total IoU.

    Returns one boolean mask per word of ``truths``; words left without a cluster get an
    empty mask.
    """
    labels = _label_map(clusters)
    return {
        word: (labels == cid) if cid is not None else np.zeros(labels.shape, dtype=bool)
        for word, cid in match_clusters(labels, truths, ignore_index).items()
    }
