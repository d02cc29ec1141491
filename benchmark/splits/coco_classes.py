"""Which caption nouns are among COCO's 80 object classes (for mIoU-80, paper 3.1 / appendix B).

The class names and aliases live in core/data/coco_classes.yaml (read through ``core.coco``),
which also states the rule: a noun belongs to a class when the noun and the words just before it
spell the class name or one of its aliases, word by word, each word compared
by lower-cased text or spaCy lemma. The longest phrase wins and belongs to its last word (the
head): "hot dog" makes "dog" the class "hot dog", never "dog"; in "cell phone" the head "phone"
is "cell phone" and "cell" is no class of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from core.coco import ALIASES, COCO80, coco_class_names  # the one table (core/data/coco_classes.yaml)

__all__ = ["ClassMatcher", "class_matcher", "coco_class_names", "token_forms"]

Forms = tuple[str, str]  # (lower-cased text, lower-cased lemma) of one token


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


@cache
def class_matcher(spacy_model: str, names: tuple[str, ...] | None = None) -> ClassMatcher:
    """Class names and aliases lemmatised with the split's spaCy model, so forms compare alike.

    ``names``: the classes to match (a COCO-format dataset's own categories); None: COCO's 80.
    A name among COCO's 80 also matches its aliases; any other name matches itself (and its
    plural, through the lemma)."""
    from benchmark.splits.nlp import parse

    names = COCO80 if names is None else tuple(dict.fromkeys(" ".join(n.lower().split()) for n in names))
    pairs = [(name, name) for name in names]
    pairs += [(alias, name) for name in names for alias in ALIASES.get(name, ())]
    docs = parse(spacy_model, [phrase for phrase, _ in pairs])
    phrases = []
    for (phrase, name), doc in zip(pairs, docs):
        words = phrase.lower().split()
        lemmas = [t.lemma_.lower() for t in doc]
        if len(lemmas) != len(words):  # spaCy split a word; compare by text only
            lemmas = words
        phrases.append((tuple(frozenset({w, lemma}) for w, lemma in zip(words, lemmas)), name))
    phrases.sort(key=lambda p: -len(p[0]))  # stable: class names before aliases of equal length
    return ClassMatcher(tuple(phrases))


def token_forms(doc) -> list[Forms]:
    return [(t.lower_, t.lemma_.lower()) for t in doc]
