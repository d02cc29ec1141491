"""Generation accuracy on the toy world: the one rule that `bench run`'s scorer and `bench toy eval`
both apply, and the tau of the cheap DAAM check.

An image is correct when the automatic annotator finds every requested object. Accuracy is
reported over ``all``, ``<n>-object``, ``held-out``/``seen`` and ``<n>-object/held-out|seen``,
with Wilson intervals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from benchmark.toy.world import COLOURS
from core.thresholds import BEST_TAU

# The threshold of the quick DAAM check logged while training and by `bench toy eval`, and the
# one the model card's targets name: the paper's headline tau. (Moves to the shared home of the
# taus once there is one; PAPER_TAUS in benchmark.metrics.segmentation holds the scorer's.)
DAAM_TAU = BEST_TAU  # core.thresholds: the paper's best threshold


@dataclass(frozen=True)
class Outcome:
    """One generated image: did it show every requested object?"""

    correct: bool
    n_objects: int
    held_out: bool  # its caption combines a colour and a shape held out from training


def subsets(n_objects: int, held_out: bool) -> tuple[str, ...]:
    """The accuracy subsets one image counts in."""
    held = "held-out" if held_out else "seen"
    return ("all", f"{n_objects}-object", held, f"{n_objects}-object/{held}")


def accuracy_by_subset(outcomes: Iterable[Outcome]) -> dict:
    """Generation accuracy per subset (a ``benchmark.stats.Estimate`` each), subsets sorted by name."""
    from benchmark.stats import proportion_ci

    groups: dict[str, list[bool]] = defaultdict(list)
    for o in outcomes:
        for subset in subsets(o.n_objects, o.held_out):
            groups[subset].append(bool(o.correct))
    return {subset: proportion_ci(int(sum(values)), len(values)) for subset, values in sorted(groups.items())}


def word_kind(word: str) -> str:
    """``colour`` or ``shape``: the two kinds of word a toy caption scores."""
    return "colour" if word in COLOURS else "shape"
