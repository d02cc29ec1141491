"""Adjectival entanglement (paper 5.2): seed prompts "a <adj> <noun> <verb phrase>" and variants.

Each group varies only the adjective. All variants of a group share the seed prompt's
generation seed (the layout is fixed); the paper further fixes the cross-attention maps to the
seed prompt's (Hertz et al., 2022), which a runner can do from ``provenance["seed_prompt"]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from benchmark.splits.base import SplitItem, SplitOptions
from benchmark.splits.catalogue import SplitDataError, load_data
from benchmark.splits.seeds import item_seed
from benchmark.splits.text import with_article

DATA_FILE = "adjectives.yaml"


@dataclass(frozen=True)
class AdjectiveGroup:
    name: str
    noun: str
    verb_phrase: str
    adjectives: tuple[str, ...]  # the first is the seed adjective
    source: str

    def prompt(self, adjective: str) -> str:
        return f"{with_article(adjective)} {self.noun} {self.verb_phrase}"

    @property
    def seed_prompt(self) -> str:
        return self.prompt(self.adjectives[0])


@lru_cache(maxsize=1)
def adjective_data() -> tuple[tuple[AdjectiveGroup, ...], frozenset[str]]:
    """The seed-prompt groups and the colour adjectives."""
    data = load_data(DATA_FILE)
    groups, names = [], set()
    for i, g in enumerate(data.get("groups") or []):
        try:
            group = AdjectiveGroup(
                str(g["name"]),
                str(g["noun"]),
                str(g["verb_phrase"]),
                tuple(map(str, g["adjectives"])),
                str(g["source"]),
            )
        except (KeyError, TypeError) as err:
            raise SplitDataError(
                f"{DATA_FILE}: group #{i + 1} needs name, noun, verb_phrase, adjectives, source ({err})"
            ) from None
        if group.name in names or len(group.adjectives) < 2 or len(set(group.adjectives)) != len(group.adjectives):
            raise SplitDataError(f"{DATA_FILE}: group {group.name!r} is repeated or lacks two distinct adjectives")
        names.add(group.name)
        groups.append(group)
    if not groups:
        raise SplitDataError(f"{DATA_FILE}: no groups")
    return tuple(groups), frozenset(str(c) for c in data.get("colours") or ())


def build_adjective(options: SplitOptions) -> list[SplitItem]:
    groups, colours = adjective_data()
    items = []
    for group in groups:
        seed = item_seed(options.seed, f"adjective-{group.name}")
        for v, adjective in enumerate(group.adjectives):
            items.append(
                SplitItem(
                    key=f"adjective-{group.name}-{adjective}",
                    text=group.prompt(adjective),
                    words=(adjective, group.noun),
                    seed=seed,
                    provenance={
                        "group": group.name,
                        "seed_prompt": group.seed_prompt,
                        "seed_adjective": group.adjectives[0],
                        "adjective": adjective,
                        "noun": group.noun,
                        "variant": v,
                        "is_colour": adjective in colours,
                        "source": group.source,
                    },
                )
            )
    return items


def seed_prompt_of(prompt) -> str | None:
    """The seed prompt whose layout a stored adjective variant reuses (the split's generation hook)."""
    return prompt.provenance.get("seed_prompt")
