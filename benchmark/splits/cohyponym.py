"""Cohyponym entanglement (paper 5.1): "a(n) X and a(n) Y", cohyponyms in exactly half.

Cohyponym and non-cohyponym prompts are drawn uniformly from their unordered noun pairs, in
random order, and interleaved at random. Pairs repeat (the ontology has 40 cohyponym pairs), so
every prompt has its own generation seed.
"""

from __future__ import annotations

from benchmark.splits.base import SplitItem, SplitOptions
from benchmark.splits.catalogue import spec
from benchmark.splits.ontology import ontology
from benchmark.splits.seeds import item_seed, rng
from benchmark.splits.text import with_article

SPLIT = "cohyponym"


def head_word(noun: str) -> str:
    """The word whose map stands for a noun: the last ("dog" of "hot dog", "phone" of "cell phone")."""
    return noun.split()[-1]


def build_cohyponym(options: SplitOptions) -> list[SplitItem]:
    n = options.size or spec(SPLIT).info.default_size
    onto = ontology()
    pools = {True: onto.cohyponym_pairs(), False: onto.other_pairs()}
    stream = rng(options.seed, SPLIT)
    labels = [True] * (n // 2) + [False] * (n - n // 2)  # odd sizes: one more non-cohyponym
    labels = [labels[int(i)] for i in stream.permutation(n)]
    items = []
    for i, cohyponym in enumerate(labels):
        pool = pools[cohyponym]
        pair = pool[int(stream.integers(len(pool)))]
        first, second = pair if stream.integers(2) == 0 else pair[::-1]
        key = f"cohyponym-{i:04d}"
        items.append(
            SplitItem(
                key=key,
                text=f"{with_article(first)} and {with_article(second)}",
                words=(head_word(first), head_word(second)),
                seed=item_seed(options.seed, key),
                provenance={
                    "nouns": [first, second],
                    "cohyponym": cohyponym,
                    "parents": [onto.parent(first), onto.parent(second)],
                    "words_for": {first: head_word(first), second: head_word(second)},
                },
            )
        )
    return items
