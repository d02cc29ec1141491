"""Cohyponym entanglement (paper 5.1, figure 6).

Prompts "a(n) <noun> and a(n) <noun>" pair two cohyponyms or two non-cohyponyms. A generation
is correct when both nouns are present in the image (the consensus of the raters). We report
accuracy per group with Fisher's exact test on the 2x2 table (cohyponymy x correctness), the
mIoU between the two nouns' binarised maps by cohyponymy and correctness, and accuracy by
overlap bucket ("<=0.4", "0.4-0.6", ">=0.6"; 0.4 itself is low, 0.6 high).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmark.stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    Estimate,
    FisherResult,
    fisher_exact_test,
    mean_ci,
    proportion_ci,
)

COHYPONYM, NON_COHYPONYM = "cohyponym", "non-cohyponym"
CORRECT, INCORRECT = "correct", "incorrect"
LOW_CUTOFF, HIGH_CUTOFF = 0.4, 0.6  # the paper's cut points, after the statistics of section 4
LOW, MID, HIGH = f"<={LOW_CUTOFF}", f"{LOW_CUTOFF}-{HIGH_CUTOFF}", f">={HIGH_CUTOFF}"  # bucket names


def consensus_objects(selections: Sequence[Sequence[str]], k: int = 2) -> tuple[str, ...]:
    """The ``k`` nouns picked most often across raters, ties broken by submission order.

    ``selections`` holds each rater's picked nouns, in the order the raters submitted.
    """
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for selection in selections:
        for noun in dict.fromkeys(selection):  # a rater picking a noun twice counts once
            counts[noun] += 1
            first_seen.setdefault(noun, len(first_seen))
    ranked = sorted(counts, key=lambda noun: (-counts[noun], first_seen[noun]))
    return tuple(ranked[:k])


def generation_correct(prompt_nouns: Sequence[str], present: Sequence[str]) -> bool:
    """Correct when every noun of the prompt is among the nouns judged present."""
    return set(prompt_nouns) <= set(present)


def _bools(values: Sequence[bool], what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or (arr.size and arr.dtype != np.bool_):
        raise TypeError(f"{what} must be a 1-D sequence of booleans, got dtype {arr.dtype}, shape {arr.shape}")
    return arr.astype(bool)


def contingency_table(cohyponym: Sequence[bool], correct: Sequence[bool]) -> np.ndarray:
    """Rows cohyponym / non-cohyponym, columns correct / incorrect."""
    coh, ok = _bools(cohyponym, "cohyponym"), _bools(correct, "correct")
    if len(coh) != len(ok):
        raise ValueError(f"{len(coh)} cohyponym flags but {len(ok)} correctness flags")
    return np.array([[np.sum(coh & ok), np.sum(coh & ~ok)], [np.sum(~coh & ok), np.sum(~coh & ~ok)]], dtype=np.int64)


@dataclass(frozen=True)
class CohyponymAccuracy:
    """Generation accuracy per group and Fisher's exact test between the groups."""

    cohyponym: Estimate
    non_cohyponym: Estimate
    fisher: FisherResult


def generation_accuracy(cohyponym: Sequence[bool], correct: Sequence[bool]) -> CohyponymAccuracy:
    """Share of correct generations for cohyponym and non-cohyponym prompts, tested exactly."""
    table = contingency_table(cohyponym, correct)
    return CohyponymAccuracy(
        proportion_ci(int(table[0, 0]), int(table[0].sum())),
        proportion_ci(int(table[1, 0]), int(table[1].sum())),
        fisher_exact_test(table),
    )


def _group_name(coh: bool, ok: bool | None = None) -> str:
    name = COHYPONYM if coh else NON_COHYPONYM
    return name if ok is None else f"{name}/{CORRECT if ok else INCORRECT}"


def miou_by_group(
    ious: Sequence[float],
    cohyponym: Sequence[bool],
    correct: Sequence[bool],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    rng: int | np.random.Generator = DEFAULT_SEED,
) -> dict[str, Estimate]:
    """mIoU of the two nouns' maps per cohyponymy and per (cohyponymy, correctness) cell.

    Keys: "cohyponym", "non-cohyponym", "cohyponym/correct", ..., "non-cohyponym/incorrect".
    Prompts whose two maps are both empty (NaN IoU) are left out.
    """
    values = np.asarray(ious, dtype=np.float64)
    coh, ok = _bools(cohyponym, "cohyponym"), _bools(correct, "correct")
    if not len(values) == len(coh) == len(ok):
        raise ValueError(f"lengths differ: {len(values)} IoUs, {len(coh)} cohyponym, {len(ok)} correct flags")
    defined = ~np.isnan(values)
    out: dict[str, Estimate] = {}
    for c in (True, False):
        out[_group_name(c)] = mean_ci(values[defined & (coh == c)], n_resamples=n_resamples, rng=rng)
        for k in (True, False):
            cell = defined & (coh == c) & (ok == k)
            out[_group_name(c, k)] = mean_ci(values[cell], n_resamples=n_resamples, rng=rng)
    return out


def overlap_bucket(iou: float) -> str:
    """The overlap bucket of an IoU: "<=0.4", "0.4-0.6" (exclusive) or ">=0.6"."""
    if math.isnan(iou) or not 0.0 <= iou <= 1.0:
        raise ValueError(f"IoU must lie in [0, 1], got {iou}")
    if iou <= LOW_CUTOFF:
        return LOW
    return HIGH if iou >= HIGH_CUTOFF else MID


def accuracy_by_overlap(
    ious: Sequence[float],
    correct: Sequence[bool],
    cohyponym: Sequence[bool] | None = None,
) -> dict[str, Estimate]:
    """Generation accuracy per overlap bucket; per (cohyponymy, bucket) too when given.

    Keys: "<=0.4", "0.4-0.6", ">=0.6", and with ``cohyponym`` also "cohyponym/<=0.4", ...
    Prompts with NaN IoU are left out.
    """
    values = np.asarray(ious, dtype=np.float64)
    ok = _bools(correct, "correct")
    if len(values) != len(ok):
        raise ValueError(f"{len(values)} IoUs but {len(ok)} correctness flags")
    defined = ~np.isnan(values)
    buckets = np.array([overlap_bucket(v) if d else "" for v, d in zip(values, defined)])
    groups: list[tuple[str, np.ndarray]] = [("", defined)]
    if cohyponym is not None:
        coh = _bools(cohyponym, "cohyponym")
        if len(coh) != len(ok):
            raise ValueError(f"{len(coh)} cohyponym flags but {len(ok)} correctness flags")
        groups += [(f"{_group_name(c)}/", defined & (coh == c)) for c in (True, False)]
    out: dict[str, Estimate] = {}
    for prefix, keep in groups:
        for bucket in (LOW, MID, HIGH):
            sel = keep & (buckets == bucket)
            out[prefix + bucket] = proportion_ci(int(ok[sel].sum()), int(sel.sum()))
    return out
