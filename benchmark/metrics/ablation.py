"""The paper's time-step and resolution ablation (appendix A.1, figure 11).

DAAM sums attention over every step and layer. The ablation asks how much each part carries: the
mIoU of a word's map when only the first j steps are summed, only the last j steps, or only one
layer resolution. It needs maps traced with per-step detail (``daam.trace(pipe, keep_steps=True)``,
``bench run --keep-detail``); maps without it are skipped.

``ablation_ious`` scores one (word, image) pair; ``ablation_scores`` turns many pairs into one
"ablation" score per curve (``details``: ``kind``, ``x``, ``miou`` and each point's bootstrap 95%
interval ``ci_low``/``ci_high``), the shape the report plots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from benchmark.metrics.overlap import iou
from benchmark.results import ScoreRecord
from benchmark.stats import Estimate, mean_ci
from core.thresholds import BEST_TAU as ABLATION_TAU  # the paper reports the ablation at its best tau

CURVES = {  # name -> (what is varied, label)
    "steps-up-to": ("steps", "first j steps only"),
    "steps-from": ("steps", "last j steps only"),
    "resolutions": ("resolutions", "one resolution only"),
}


def has_step_detail(maps) -> bool:
    """Whether ``maps`` (a ``daam.GenerationMaps``) kept per-step detail at trace time."""
    return any(step is not None for step, _ in maps.detail)


def step_cuts(n_steps: int) -> list[int]:
    """The j of the step curves: 10, 25, 50, 75, 90 and 100 % of the steps, deduplicated."""
    if n_steps < 1:
        raise ValueError(f"n_steps must be positive, got {n_steps}")
    return sorted({max(1, round(n_steps * f)) for f in (0.1, 0.25, 0.5, 0.75, 0.9)} | {n_steps})


def ablation_ious(
    maps,
    word: str,
    occurrence: int,
    truths: Sequence[np.ndarray],
    *,
    tau: float = ABLATION_TAU,
    fit: Callable[[np.ndarray, tuple[int, int]], np.ndarray] | None = None,
    source: str | None = None,
) -> dict | None:
    """IoU at ``tau`` (averaged over ``truths``, e.g. several raters) for every point of each curve.

    Returns None when ``maps`` has no per-step detail. ``fit(soft, size)`` resizes a soft map to a
    truth's size when they differ (the segmentation scorer's resizer). The result holds one list
    per curve of ``CURVES`` plus ``full`` (every step and layer), ``steps`` (the cuts) and
    ``resolutions`` (as "HxW"). ``source`` goes to ``word_map`` ("prompt" where the word is also a
    vocabulary entry of the trace).
    """
    if not has_step_detail(maps):
        return None
    if not truths:
        raise ValueError("ablation_ious needs at least one truth mask")
    n = maps.n_steps
    cuts = step_cuts(n)
    resolutions = sorted(maps.sums)

    def score(**selection) -> float:
        soft = maps.word_map(word, occurrence, source=source, **selection).soft.numpy()
        values = []
        for truth in truths:
            s = soft if fit is None or soft.shape == truth.shape else fit(soft, truth.shape)
            values.append(iou(s >= tau, truth))
        return float(np.mean(values))

    return {
        "steps-up-to": [score(steps=lambda s, j=j: s < j) for j in cuts],
        "steps-from": [score(steps=lambda s, j=j: s >= n - j) for j in cuts],
        "resolutions": [score(resolutions=[r]) for r in resolutions],
        "full": score(),
        "steps": cuts,
        "resolution_names": [f"{h}x{w}" for h, w in resolutions],
    }


def _mean(values) -> Estimate:
    """Mean over pairs with a bootstrap 95% interval; pairs without a score (NaN) are left out."""
    arr = np.asarray(values, dtype=float)
    return mean_ci(arr[~np.isnan(arr)])


def ablation_scores(
    records: Sequence[dict | None], study: str, method: str, subset: str = "", tau: float = ABLATION_TAU
) -> list[ScoreRecord]:
    """One "ablation" score per curve from ``ablation_ious`` records (None records are skipped).

    Records must share their steps and resolutions (one model and setting); those that differ
    from the first are left out, and the count kept is the score's ``n``. A score's value is the
    mIoU with every step and layer (with its interval), its curve is in ``details``: ``miou`` per
    point of ``x`` and, per point, the bootstrap 95% interval over pairs (``ci_low``, ``ci_high``;
    None where fewer than two pairs have a score).
    """
    kept = [r for r in records if r is not None]
    if not kept:
        return []
    first = kept[0]
    kept = [r for r in kept if r["steps"] == first["steps"] and r["resolution_names"] == first["resolution_names"]]
    full = _mean([r["full"] for r in kept])
    out = []
    for name, (kind, label) in CURVES.items():
        xs = first["steps"] if kind == "steps" else first["resolution_names"]
        points = np.array([r[name] for r in kept], dtype=float)  # pairs x points
        curve = [_mean(points[:, j]) for j in range(points.shape[1])]
        out.append(
            ScoreRecord(
                study,
                f"{method}@{tau}",
                "ablation",
                f"{subset}{name}",
                full.value,
                full.ci_low,
                full.ci_high,
                len(kept),
                {
                    "kind": kind,
                    "x": list(xs),
                    "miou": [e.value for e in curve],
                    "ci_low": [e.ci_low for e in curve],
                    "ci_high": [e.ci_high for e in curve],
                    "what": label,
                    "value": "mIoU with every step and layer",
                },
            )
        )
    return out
