"""Visuosyntactic overlap (paper 4, table 2; appendix B): mIoU, mIoD, mIoH per relation.

For each head-dependent pair of binarised word maps: IoU (similarity), intersection over the
dependent (IoD) and over the head (IoH). mIoD > mIoH means the head's map contains
(dominates) the dependent's. Each is a mean over pairs where it is defined (see
``benchmark.metrics.overlap``); the dominance ``delta`` = mean of IoD - IoH over the pairs
where both are defined. Two baselines frame the table: unrelated word pairs of the same
prompt (no arc either way, orientation random) and all head-dependent pairs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.metrics.overlap import PairOverlap, pair_overlap
from benchmark.stats import DEFAULT_RESAMPLES, DEFAULT_SEED, Estimate, mean_ci

UNRELATED = "unrelated"
ALL_ARCS = "all head-dependent"


@dataclass(frozen=True)
class Arc:
    """A dependency arc between word indices of a prompt (e.g. from spaCy or CoreNLP)."""

    dependent: int
    head: int
    relation: str


@dataclass(frozen=True)
class ParsedMaps:
    """One prompt's binarised word maps (by word index; None where unmapped) and its arcs."""

    masks: Mapping[int, Any] | Sequence[Any]
    arcs: Sequence[Arc]

    def mask(self, index: int) -> Any:
        if isinstance(self.masks, Mapping):
            return self.masks.get(index)
        return self.masks[index] if 0 <= index < len(self.masks) else None

    @property
    def indices(self) -> list[int]:
        keys = self.masks.keys() if isinstance(self.masks, Mapping) else range(len(self.masks))
        return sorted(i for i in keys if self.mask(i) is not None)


@dataclass(frozen=True)
class RelationOverlap:
    """mIoU, mIoD, mIoH and dominance delta (mIoD - mIoH, paired) over one set of pairs."""

    relation: str
    miou: Estimate
    miod: Estimate
    mioh: Estimate
    delta: Estimate
    n_pairs: int


def _mean(values: list[float], n_resamples: int, rng) -> Estimate:
    arr = np.asarray(values, dtype=np.float64)
    return mean_ci(arr[~np.isnan(arr)], n_resamples=n_resamples, rng=rng)


def summarise_overlaps(
    counts: Sequence[PairOverlap],
    relation: str = "",
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    rng: int | np.random.Generator = DEFAULT_SEED,
) -> RelationOverlap:
    """Aggregate per-pair counts (``a`` = dependent, ``b`` = head): means over defined pairs."""
    ious = [c.iou for c in counts]
    iods = [c.over_a for c in counts]
    iohs = [c.over_b for c in counts]
    deltas = [d - h for d, h in zip(iods, iohs)]  # NaN unless both are defined
    return RelationOverlap(
        relation,
        _mean(ious, n_resamples, rng),
        _mean(iods, n_resamples, rng),
        _mean(iohs, n_resamples, rng),
        _mean(deltas, n_resamples, rng),
        len(counts),
    )


def relation_overlap(
    pairs: Iterable[tuple[Any, Any]],
    relation: str = "",
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    rng: int | np.random.Generator = DEFAULT_SEED,
) -> RelationOverlap:
    """Aggregate (dependent mask, head mask) pairs: each measure a mean over defined pairs."""
    counts = [pair_overlap(d, h, "dependent and head maps") for d, h in pairs]
    return summarise_overlaps(counts, relation, n_resamples=n_resamples, rng=rng)


def arc_pairs(prompt: ParsedMaps, relations: Iterable[str] | None = None) -> list[tuple[str, Any, Any]]:
    """(relation, dependent mask, head mask) for each arc between two mapped words (no root)."""
    wanted = None if relations is None else set(relations)
    out = []
    for arc in prompt.arcs:
        if arc.head == arc.dependent or arc.head < 0 or (wanted is not None and arc.relation not in wanted):
            continue
        dep, head = prompt.mask(arc.dependent), prompt.mask(arc.head)
        if dep is not None and head is not None:
            out.append((arc.relation, dep, head))
    return out


def unrelated_pairs(
    words: int | Sequence[int],
    arcs: Iterable[Arc],
    rng: np.random.Generator,
    limit: int | None = None,
) -> list[tuple[int, int]]:
    """Pairs of ``words`` (a count, or the mapped word indices) joined by no arc either way.

    Each pair comes in random orientation (which word plays the dependent), so mIoD and mIoH
    of the baseline are exchangeable. ``limit`` samples that many without replacement (all pairs when None).
    """
    indices = list(range(words)) if isinstance(words, int) else list(words)
    linked = {frozenset((a.dependent, a.head)) for a in arcs}
    candidates = [(a, b) for i, a in enumerate(indices) for b in indices[i + 1 :] if frozenset((a, b)) not in linked]
    if limit is not None:
        if limit < 0:
            raise ValueError(f"limit must be non-negative, got {limit}")
        if limit < len(candidates):
            chosen = rng.choice(len(candidates), size=limit, replace=False)
            candidates = [candidates[i] for i in sorted(chosen)]
    flips = rng.random(len(candidates)) < 0.5
    return [(b, a) if flip else (a, b) for (a, b), flip in zip(candidates, flips)]


def syntax_table(
    prompts: Iterable[ParsedMaps],
    relations: Iterable[str] | None = None,
    *,
    unrelated_per_prompt: int | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    rng: int | np.random.Generator = DEFAULT_SEED,
) -> dict[str, RelationOverlap]:
    """Table 2: the two baselines, then one row per relation (all relations found when None).

    The "all head-dependent" baseline pools every arc, whatever ``relations`` keeps.
    """
    gen = np.random.default_rng(rng)
    by_relation: dict[str, list[PairOverlap]] = defaultdict(list)
    every_arc: list[PairOverlap] = []
    unrelated: list[PairOverlap] = []
    wanted = None if relations is None else list(relations)
    for prompt in prompts:
        for relation, dep, head in arc_pairs(prompt):
            counts = pair_overlap(dep, head, f"{relation} dependent and head maps")
            every_arc.append(counts)
            if wanted is None or relation in wanted:
                by_relation[relation].append(counts)
        for a, b in unrelated_pairs(prompt.indices, prompt.arcs, gen, unrelated_per_prompt):
            unrelated.append(pair_overlap(prompt.mask(a), prompt.mask(b), "unrelated word maps"))
    kw = dict(n_resamples=n_resamples, rng=rng)
    table = {
        UNRELATED: summarise_overlaps(unrelated, UNRELATED, **kw),
        ALL_ARCS: summarise_overlaps(every_arc, ALL_ARCS, **kw),
    }
    for relation in wanted if wanted is not None else sorted(by_relation):
        table[relation] = summarise_overlaps(by_relation.get(relation, []), relation, **kw)
    return table


class OverlapAccumulator:
    """Collects (relation, dependent, head) map pairs; ``compute`` gives one row per relation.

    Only pixel counts are kept, never the masks, so thousands of 512x512 pairs stay small.
    """

    def __init__(self, *, n_resamples: int = DEFAULT_RESAMPLES, rng: int = DEFAULT_SEED):
        self.n_resamples, self.rng = n_resamples, rng
        self.reset()

    def reset(self) -> None:
        self.counts: dict[str, list[PairOverlap]] = defaultdict(list)

    def update(self, relation: str, dependent: Any, head: Any) -> PairOverlap:
        counts = pair_overlap(dependent, head, f"{relation} dependent and head maps")
        self.counts[relation].append(counts)
        return counts

    def compute(self) -> dict[str, RelationOverlap]:
        return {
            rel: summarise_overlaps(counts, rel, n_resamples=self.n_resamples, rng=self.rng)
            for rel, counts in sorted(self.counts.items())
        }
