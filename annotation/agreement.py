"""Inter-rater agreement: Krippendorff's alpha for ratings and presence, pairwise mask IoU.

Only current annotations count (newest valid version, excluded raters left out). Alpha is
``core.agreement``'s, the one the scorers store: a value that cannot be computed (fewer than two
raters on any item, no variation at all) is None with a note saying why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

import numpy as np

import db
from annotation.judgements import current_annotations
from annotation.studies import build_tasks
from annotation.workspace import Workspace
from benchmark.metrics.overlap import iou
from core.agreement import Agreement, alpha_agreement

__all__ = [
    "Agreement",
    "alpha_agreement",
    "mask_agreement",
    "mask_iou",
    "pairwise_iou",
    "presence_agreement",
    "rating_agreement",
]


def mask_iou(a: np.ndarray, b: np.ndarray) -> float | None:
    """Intersection over union (``benchmark.metrics.iou``); None when both masks are empty
    (agreeing that nothing is there)."""
    value = iou(a, b)
    return None if math.isnan(value) else value


def pairwise_iou(masks: Sequence[np.ndarray]) -> list[float]:
    """IoU of every pair of raters' masks of one word (pairs of two empty masks are skipped)."""
    out = []
    for a, b in combinations(masks, 2):
        value = mask_iou(a, b)
        if value is not None:
            out.append(value)
    return out


def _matrix(cells: dict[tuple[int, object], float]) -> np.ndarray:
    raters = sorted({r for r, _ in cells})
    units = sorted({u for _, u in cells}, key=str)
    matrix = np.full((len(raters), len(units)), np.nan)
    for (rater, unit), value in cells.items():
        matrix[raters.index(rater), units.index(unit)] = value
    return matrix


def rating_agreement(store: db.Store, run: str) -> Agreement:
    """Ordinal alpha over the 1..5 ratings of non-attention-check items."""
    cells = {
        (a.rater_id, a.generation_id): float(a.parsed["rating"])
        for a in current_annotations(store, "rating", run)
        if a.parsed.get("rating") is not None and not a.parsed.get("attention_check")
    }
    return alpha_agreement(_matrix(cells), "ordinal")


def presence_agreement(store: db.Store, run: str, workspace: Workspace) -> Agreement:
    """Nominal alpha over (image, noun) units: did the rater pick the noun or not."""
    choices = build_tasks(store, "presence", run, workspace).choices
    cells: dict[tuple[int, object], float] = {}
    for a in current_annotations(store, "presence", run):
        picked = set(a.parsed["nouns"])
        for noun in choices:
            cells[(a.rater_id, (a.generation_id, noun))] = 1.0 if noun in picked else 0.0
    return alpha_agreement(_matrix(cells), "nominal", "krippendorff alpha (nominal, image x noun)")


def mask_agreement(store: db.Store, run: str) -> Agreement:
    """Mean pairwise IoU between raters' newest human masks of the same word and image."""
    raters = {r.id: r for r in store.raters()}
    groups: dict[tuple[int, str, int], list[np.ndarray]] = {}
    for m in store.masks(run_id=store.get_run(run).id, source="human", latest_only=True):
        if m.rater_id is not None and not raters[m.rater_id].excluded:
            groups.setdefault((m.generation_id, m.word, m.occurrence), []).append(db.decode_mask(m))
    ious = [iou for masks in groups.values() for iou in pairwise_iou(masks)]
    if not ious:
        return Agreement("mean pairwise mask IoU", None, 0, "no word has masks from two raters yet")
    return Agreement("mean pairwise mask IoU", float(np.mean(ious)), len(ious))
