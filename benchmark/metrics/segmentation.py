"""Noun segmentation (paper 3.1, table 1): IoU per (prediction, truth) pair, mIoU over pairs.

mIoU is reported twice: unrestricted ("mIoU-all") and over nouns naming one of COCO's 80
classes ("mIoU80"). Pairs whose prediction and truth are both empty have no IoU and are
excluded, with their count kept (``n_excluded``). Soft maps are scored at a threshold tau
(DAAM-0.3/0.4/0.5) or over a grid of taus at once (``tau_sweep``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.metrics.masks import as_mask, as_soft, check_tau, same_shape
from benchmark.metrics.overlap import iou
from benchmark.stats import DEFAULT_RESAMPLES, DEFAULT_SEED, Estimate, mean_ci
from core.coco import is_coco_class
from core.thresholds import PAPER_TAUS, SWEEP_TAUS  # noqa: F401  (re-exported: benchmark.metrics)

MIOU_ALL = "mIoU-all"
MIOU80 = "mIoU80"


def mean_iou(
    ious: Sequence[float] | np.ndarray,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    rng: int | np.random.Generator = DEFAULT_SEED,
) -> Estimate:
    """Mean over pairs of per-pair IoUs (NaN pairs excluded) with a bootstrap 95% interval."""
    arr = np.asarray(ious, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"ious must be one-dimensional, got shape {arr.shape}")
    return mean_ci(arr[~np.isnan(arr)], n_resamples=n_resamples, rng=rng)


def coco_flags(labels: Sequence[str], coco80: Sequence[bool | None] | None = None) -> np.ndarray:
    """Which pairs count towards mIoU80: the given flag where known, else ``is_coco_class``.

    Splits that resolve classes from the parsed caption (e.g. "hot dog" vs "dog") pass their
    own decision as ``coco80``.
    """
    if coco80 is not None and len(coco80) != len(labels):
        raise ValueError(f"{len(labels)} labels but {len(coco80)} COCO flags")
    flags = coco80 if coco80 is not None else [None] * len(labels)
    return np.array([is_coco_class(lab) if f is None else bool(f) for lab, f in zip(labels, flags)], dtype=bool)


def miou_by_subset(
    ious: Sequence[float] | np.ndarray,
    labels: Sequence[str],
    coco80: Sequence[bool | None] | None = None,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    rng: int | np.random.Generator = DEFAULT_SEED,
) -> dict[str, Estimate]:
    """``{"mIoU-all": ..., "mIoU80": ...}`` from per-pair IoUs and each pair's noun."""
    arr = np.asarray(ious, dtype=np.float64)
    if len(arr) != len(labels):
        raise ValueError(f"{len(arr)} IoUs but {len(labels)} labels")
    coco = coco_flags(labels, coco80)
    return {
        MIOU_ALL: mean_iou(arr, n_resamples=n_resamples, rng=rng),
        MIOU80: mean_iou(arr[coco], n_resamples=n_resamples, rng=rng),
    }


def iou_by_tau(soft: Any, truth: Any, taus: Sequence[float] = SWEEP_TAUS) -> np.ndarray:
    """IoU of ``soft >= tau`` with ``truth`` for every tau at once (NaN where both are empty).

    One sort per pair instead of one binarisation per tau: areas above a threshold are counts
    of sorted values, found by binary search.
    """
    s = as_soft(soft, "soft map")
    t = as_mask(truth, "truth mask")
    same_shape(s, t, "soft map and truth")
    th = np.asarray([check_tau(x) for x in taus], dtype=np.float32)  # compare as binarize does
    every = np.sort(s, axis=None)
    inside = np.sort(s[t], axis=None)
    predicted = every.size - np.searchsorted(every, th, side="left")
    intersection = inside.size - np.searchsorted(inside, th, side="left")
    union = predicted + inside.size - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, intersection / np.maximum(union, 1), np.nan)


@dataclass(frozen=True)
class TauCurve:
    """mIoU at each tau, each with its interval and number of defined pairs."""

    taus: tuple[float, ...]
    estimates: tuple[Estimate, ...]

    @property
    def miou(self) -> np.ndarray:
        return np.array([e.value for e in self.estimates])

    @property
    def best_tau(self) -> float:
        """The tau with the highest mIoU (the paper finds 0.4)."""
        values = self.miou
        if np.isnan(values).all():
            raise ValueError("no tau has a defined mIoU")
        return self.taus[int(np.nanargmax(values))]

    def at(self, tau: float) -> Estimate:
        for t, e in zip(self.taus, self.estimates):
            if math.isclose(t, tau, abs_tol=1e-9):
                return e
        raise KeyError(f"tau {tau} is not on the curve (taus: {self.taus})")


def tau_curve(
    ious: np.ndarray,
    taus: Sequence[float],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    rng: int | np.random.Generator = DEFAULT_SEED,
) -> TauCurve:
    """Mean over pairs per tau from a ``[n_pairs, n_taus]`` IoU matrix."""
    if len(taus) == 0:
        raise ValueError("a tau curve needs at least one tau")
    ious = np.asarray(ious, dtype=np.float64).reshape(-1, len(taus))
    return TauCurve(
        tuple(float(t) for t in taus),
        tuple(mean_iou(ious[:, i], n_resamples=n_resamples, rng=rng) for i in range(len(taus))),
    )


def tau_sweep(
    softs: Iterable[Any],
    truths: Iterable[Any],
    taus: Sequence[float] = SWEEP_TAUS,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    rng: int | np.random.Generator = DEFAULT_SEED,
) -> TauCurve:
    """mIoU over (soft map, truth) pairs for every tau in ``taus``."""
    rows = [iou_by_tau(s, t, taus) for s, t in zip(softs, truths, strict=True)]
    matrix = np.stack(rows) if rows else np.empty((0, len(taus)))
    return tau_curve(matrix, taus, n_resamples=n_resamples, rng=rng)


class MeanIoU:
    """Accumulates per-pair IoUs of hard masks; ``compute`` gives mIoU-all and mIoU80."""

    def __init__(self, *, n_resamples: int = DEFAULT_RESAMPLES, rng: int = DEFAULT_SEED):
        self.n_resamples, self.rng = n_resamples, rng
        self.reset()

    def reset(self) -> None:
        self.ious: list[float] = []
        self.labels: list[str] = []
        self.coco80: list[bool | None] = []

    def update(self, prediction: Any, truth: Any, label: str, coco80: bool | None = None) -> float:
        """Add one (prediction, truth) pair for the noun ``label``; returns its IoU.

        ``coco80`` overrides the label rule for whether the pair counts towards mIoU80.
        """
        value = iou(prediction, truth)
        self.ious.append(value)
        self.labels.append(label)
        self.coco80.append(coco80)
        return value

    @property
    def n_excluded(self) -> int:
        """Pairs with both masks empty (no IoU), left out of every mean."""
        return int(np.isnan(np.asarray(self.ious, dtype=np.float64)).sum())

    def compute(self) -> dict[str, Estimate]:
        return miou_by_subset(self.ious, self.labels, self.coco80, n_resamples=self.n_resamples, rng=self.rng)


class TauSweep:
    """Accumulates per-pair IoUs of soft maps over a tau grid; ``compute`` gives a curve per subset."""

    def __init__(
        self, taus: Sequence[float] = SWEEP_TAUS, *, n_resamples: int = DEFAULT_RESAMPLES, rng: int = DEFAULT_SEED
    ):
        self.taus = tuple(check_tau(t) for t in taus)
        if not self.taus:
            raise ValueError("TauSweep needs at least one tau")
        self.n_resamples, self.rng = n_resamples, rng
        self.reset()

    def reset(self) -> None:
        self.rows: list[np.ndarray] = []
        self.labels: list[str] = []
        self.coco80: list[bool | None] = []

    def update(self, soft: Any, truth: Any, label: str, coco80: bool | None = None) -> np.ndarray:
        """Add one (soft map, truth) pair for the noun ``label``; returns its IoU per tau."""
        row = iou_by_tau(soft, truth, self.taus)
        self.rows.append(row)
        self.labels.append(label)
        self.coco80.append(coco80)
        return row

    def compute(self) -> dict[str, TauCurve]:
        matrix = np.stack(self.rows) if self.rows else np.empty((0, len(self.taus)))
        coco = coco_flags(self.labels, self.coco80)
        kw = dict(n_resamples=self.n_resamples, rng=self.rng)
        return {MIOU_ALL: tau_curve(matrix, self.taus, **kw), MIOU80: tau_curve(matrix[coco], self.taus, **kw)}
