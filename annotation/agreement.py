"""Inter-rater agreement: Krippendorff's alpha for ratings and presence, pairwise mask IoU.

Only current annotations count (newest valid version, excluded raters left out).  A value that
cannot be computed (fewer than two raters on any item, no variation at all) is None with a note.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

import db
from annotation.interface import SCALE
from annotation.judgements import current_annotations
from annotation.studies import build_tasks
from annotation.workspace import Workspace


@dataclass(frozen=True)
class Agreement:
    measure: str  # "krippendorff alpha (ordinal)", "mean pairwise IoU", ...
    value: float | None
    n_units: int  # units judged by two or more raters (items, item-noun pairs, mask pairs)
    note: str = ""

    def __str__(self) -> str:
        shown = "n/a" if self.value is None else f"{self.value:.3f}"
        note = f" ({self.note})" if self.note else ""
        return f"{self.measure} = {shown} over {self.n_units} units{note}"


def krippendorff_alpha(matrix: np.ndarray, level: str, domain: Sequence[float] | None = None,
                       measure: str | None = None) -> Agreement:
    """Alpha of a raters x units matrix (NaN = not judged)."""
    import krippendorff

    name = measure or f"krippendorff alpha ({level})"
    pairable = int((np.sum(~np.isnan(matrix), axis=0) >= 2).sum()) if matrix.size else 0
    if pairable == 0:
        return Agreement(name, None, 0, "no unit has two raters yet")
    try:
        with np.errstate(invalid="ignore", divide="ignore"):  # no variation: 0/0, reported below
            value = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level,
                                       value_domain=None if domain is None else list(domain))
    except ValueError as exc:
        return Agreement(name, None, pairable, str(exc))
    if value is None or not math.isfinite(value):
        return Agreement(name, None, pairable, "every judgement is the same: alpha is undefined")
    return Agreement(name, float(value), pairable)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float | None:
    """Intersection over union; None when both masks are empty (agreeing that nothing is there)."""
    union = int(np.logical_or(a, b).sum())
    if union == 0:
        return None
    return float(np.logical_and(a, b).sum()) / union


def pairwise_iou(masks: Sequence[np.ndarray]) -> list[float]:
    """IoU of every pair of raters' masks of one word (pairs of two empty masks are skipped)."""
    out = []
    for a, b in combinations(masks, 2):
        iou = mask_iou(a, b)
        if iou is not None:
            out.append(iou)
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
    cells = {(a.rater_id, a.generation_id): float(a.parsed["rating"])
             for a in current_annotations(store, "rating", run)
             if a.parsed.get("rating") is not None and not a.parsed.get("attention_check")}
    return krippendorff_alpha(_matrix(cells), "ordinal", range(1, len(SCALE) + 1))


def presence_agreement(store: db.Store, run: str, workspace: Workspace) -> Agreement:
    """Nominal alpha over (image, noun) units: did the rater pick the noun or not."""
    choices = build_tasks(store, "presence", run, workspace).choices
    cells: dict[tuple[int, object], float] = {}
    for a in current_annotations(store, "presence", run):
        picked = set(a.parsed["nouns"])
        for noun in choices:
            cells[(a.rater_id, (a.generation_id, noun))] = 1.0 if noun in picked else 0.0
    return krippendorff_alpha(_matrix(cells), "nominal", (0.0, 1.0),
                              "krippendorff alpha (nominal, image x noun)")


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
