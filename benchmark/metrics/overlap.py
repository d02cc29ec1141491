"""Set overlap of two binary maps: IoU, and the directional IoD / IoH (paper appendix B).

Undefined ratios are NaN, never 0 or 1: IoU when both masks are empty (nothing to segment and
nothing predicted), IoD when the dependent's map is empty, IoH when the head's is. Aggregates
drop NaN pairs and report how many pairs they kept, following the paper, which averages over
pairs that exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.metrics.masks import as_mask, same_shape


@dataclass(frozen=True)
class PairOverlap:
    """Pixel counts of two masks ``a`` and ``b``; every overlap ratio derives from them."""

    intersection: int
    area_a: int
    area_b: int

    @property
    def union(self) -> int:
        return self.area_a + self.area_b - self.intersection

    @property
    def iou(self) -> float:
        return self.intersection / self.union if self.union else math.nan

    @property
    def over_a(self) -> float:
        """Intersection over |a| (IoD when ``a`` is the dependent)."""
        return self.intersection / self.area_a if self.area_a else math.nan

    @property
    def over_b(self) -> float:
        """Intersection over |b| (IoH when ``b`` is the head)."""
        return self.intersection / self.area_b if self.area_b else math.nan


def pair_overlap(a: Any, b: Any, what: str = "masks") -> PairOverlap:
    """Intersection and areas of two same-shape boolean masks."""
    a, b = as_mask(a, f"first of the {what}"), as_mask(b, f"second of the {what}")
    same_shape(a, b, what)
    return PairOverlap(int(np.count_nonzero(a & b)), int(np.count_nonzero(a)), int(np.count_nonzero(b)))


def iou(prediction: Any, truth: Any) -> float:
    """|P ∧ T| / |P ∨ T|; NaN when both masks are empty (the pair is excluded from means)."""
    return pair_overlap(prediction, truth, "prediction and truth").iou


def iod(dependent: Any, head: Any) -> float:
    """Intersection over the dependent's map, I / |D_dep| (eqn. 9); NaN if it is empty."""
    return pair_overlap(dependent, head, "dependent and head maps").over_a


def ioh(dependent: Any, head: Any) -> float:
    """Intersection over the head's map, I / |D_head| (eqn. 10); NaN if it is empty."""
    return pair_overlap(dependent, head, "dependent and head maps").over_b
