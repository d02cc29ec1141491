"""The nouns of a caption, as DAAM words: the words COCO-Gen and Unreal-Gen ask to segment.

A noun is a token spaCy tags NOUN (common nouns; the paper segments "countable nouns"). Its word
is the DAAM word containing it, so "dog's" stays one word as DAAM sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.splits.text import PromptWords, token_word


@dataclass(frozen=True)
class Noun:
    token: int  # spaCy token index
    word: int  # index of the DAAM word containing it
    text: str  # the DAAM word, as in the prompt


def caption_nouns(doc, words: PromptWords) -> list[Noun]:
    out = []
    for t in doc:
        if t.pos_ == "NOUN":
            w = token_word(t, words)
            if w is not None:
                out.append(Noun(t.i, w, words.text_of(w)))
    return out


def classes_by_word(nouns: list[Noun], classes: list[str | None]) -> dict[str, str]:
    """word -> COCO class, decided by each word's first occurrence (the one DAAM maps)."""
    seen: set[str] = set()
    out: dict[str, str] = {}
    for noun, cls in zip(nouns, classes):
        if noun.text.lower() in seen:
            continue
        seen.add(noun.text.lower())
        if cls is not None:
            out[noun.text] = cls
    return out
