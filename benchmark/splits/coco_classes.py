"""Which caption nouns are among COCO's 80 object classes (for mIoU-80, paper 3.1 / appendix B).

The rule, also stated in data/coco_classes.yaml: a noun belongs to a class when the noun and the
words just before it spell the class name or one of its aliases, word by word, each word compared
by lower-cased text or spaCy lemma. The longest phrase wins and belongs to its last word (the
head): "hot dog" makes "dog" the class "hot dog", never "dog"; in "cell phone" the head "phone"
is "cell phone" and "cell" is no class of its own.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from benchmark.splits.catalogue import SplitDataError, load_data

DATA_FILE = "coco_classes.yaml"
Forms = tuple[str, str]  # (lower-cased text, lower-cased lemma) of one token


@lru_cache(maxsize=1)
def coco_class_names() -> tuple[str, ...]:
    """COCO's 80 class names, as in the instances annotations."""
    data = load_data(DATA_FILE)
    names = tuple(data.get("classes") or ())
    if len(names) != 80 or len(set(names)) != 80:
        raise SplitDataError(f"{DATA_FILE} must list COCO's 80 distinct classes, found {len(set(names))}")
    return names


def _aliases() -> dict[str, list[str]]:
    aliases = load_data(DATA_FILE).get("aliases") or {}
    unknown = sorted(set(aliases) - set(coco_class_names()))
    if unknown:
        raise SplitDataError(f"{DATA_FILE}: aliases for unknown classes {unknown}")
    return aliases


@dataclass(frozen=True)
class ClassMatcher:
    """Class phrases, longest first; each word accepts its text and its lemma."""

    phrases: tuple[tuple[tuple[frozenset[str], ...], str], ...]

    def match(self, forms: Sequence[Forms], i: int) -> str | None:
        """The COCO class of the noun at token ``i`` given every token's forms, or None."""
        for words, name in self.phrases:
            start = i - len(words) + 1
            if start < 0:
                continue
            if all(set(forms[start + j]) & accepted for j, accepted in enumerate(words)):
                return name
        return None


@lru_cache(maxsize=None)
def class_matcher(spacy_model: str) -> ClassMatcher:
    """Class names and aliases lemmatised with the split's spaCy model, so forms compare alike."""
    from benchmark.splits.nlp import parse

    pairs = [(name, name) for name in coco_class_names()]
    pairs += [(alias, name) for name, aliases in _aliases().items() for alias in aliases]
    docs = parse(spacy_model, [phrase for phrase, _ in pairs])
    phrases = []
    for (phrase, name), doc in zip(pairs, docs):
        words = phrase.lower().split()
        lemmas = [t.lemma_.lower() for t in doc]
        if len(lemmas) != len(words):  # spaCy split a word; compare by text only
            lemmas = words
        phrases.append((tuple(frozenset({w, l}) for w, l in zip(words, lemmas)), name))
    phrases.sort(key=lambda p: -len(p[0]))  # stable: class names before aliases of equal length
    return ClassMatcher(tuple(phrases))


def token_forms(doc) -> list[Forms]:
    return [(t.lower_, t.lemma_.lower()) for t in doc]
