"""The paper's semantic relation ontology (appendix C), read from data/ontology.yaml.

Nouns with the same immediate parent category are cohyponyms ("giraffe" and "zebra" under
WILD ANIMAL); "cake" (BAKED GOODS) and "pizza" (DISH) are not, though both are FOOD.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from benchmark.splits.catalogue import SplitDataError, load_data

DATA_FILE = "ontology.yaml"


@dataclass(frozen=True)
class Ontology:
    parents: dict[str, tuple[str, ...]]  # noun -> categories from the root down to its parent

    @property
    def nouns(self) -> tuple[str, ...]:
        return tuple(self.parents)

    def parent(self, noun: str) -> str:
        return self.parents[noun][-1]

    def are_cohyponyms(self, a: str, b: str) -> bool:
        return a != b and self.parent(a) == self.parent(b)

    def cohyponym_pairs(self) -> list[tuple[str, str]]:
        return [(a, b) for a, b in combinations(self.nouns, 2) if self.are_cohyponyms(a, b)]

    def other_pairs(self) -> list[tuple[str, str]]:
        return [(a, b) for a, b in combinations(self.nouns, 2) if not self.are_cohyponyms(a, b)]


def _walk(tree, path: tuple[str, ...], out: dict[str, tuple[str, ...]]) -> None:
    if isinstance(tree, list):
        for noun in tree:
            if not isinstance(noun, str) or noun in out:
                raise SplitDataError(f"{DATA_FILE}: noun {noun!r} under {' > '.join(path)} is not a new string")
            out[noun] = path
        return
    if not isinstance(tree, dict) or not tree:
        raise SplitDataError(f"{DATA_FILE}: category {' > '.join(path)} must map sub-categories or list nouns")
    for category, sub in tree.items():
        _walk(sub, path + (str(category),), out)


@lru_cache(maxsize=1)
def ontology() -> Ontology:
    data = load_data(DATA_FILE)
    if not isinstance(data, dict) or not isinstance(data.get("ontology"), dict):
        raise SplitDataError(f"{DATA_FILE}: expected an 'ontology' mapping")
    parents: dict[str, tuple[str, ...]] = {}
    _walk(data["ontology"], (), parents)
    return Ontology(parents)
