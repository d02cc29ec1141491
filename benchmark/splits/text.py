"""Prompt text helpers shared by the builders: words as DAAM sees them, articles, whitespace.

An item's words must be words in DAAM's sense (``daam.words.split_words``: letters/digits joined
by hyphens or apostrophes, or one punctuation mark), because the runner asks for
``word_map(word, occurrence)``. spaCy tokenises differently ("dog's" is two tokens, "ice-cream"
three), so builders map each spaCy token to the DAAM word that contains it.
"""

from __future__ import annotations

from dataclasses import dataclass

# Vowel letters that sound like consonants and silent h's that sound like vowels.
_CONSONANT_SOUND = ("uni", "use", "usu", "uti", "eu", "one", "once")
_VOWEL_SOUND = ("hour", "honest", "honour", "honor", "heir")


def normalise(text: str) -> str:
    """One space between words, none at the ends (COCO captions carry stray newlines)."""
    return " ".join(text.split())


def article(word: str) -> str:
    """'a' or 'an' for the word that follows, by its sound: "an apple", "a hot dog", "an hour"."""
    w = word.lower()
    if w.startswith(_VOWEL_SOUND):
        return "an"
    if w.startswith(_CONSONANT_SOUND):
        return "a"
    return "an" if w[:1] in ("a", "e", "i", "o", "u") else "a"


def with_article(phrase: str) -> str:
    return f"{article(phrase)} {phrase}"


@dataclass(frozen=True)
class PromptWords:
    """The DAAM words of a prompt with their character spans."""

    text: str
    words: tuple[tuple[str, int, int], ...]

    @classmethod
    def of(cls, text: str) -> PromptWords:
        from daam.words import split_words

        return cls(text, tuple(split_words(text)))

    def containing(self, char: int) -> int | None:
        """Index of the word whose span contains character ``char``."""
        for i, (_, start, end) in enumerate(self.words):
            if start <= char < end:
                return i
        return None

    def exactly(self, start: int, end: int) -> int | None:
        """Index of the word spanning exactly ``[start, end)``; None if a token is part of a word."""
        for i, (_, s, e) in enumerate(self.words):
            if (s, e) == (start, end):
                return i
        return None

    def text_of(self, index: int) -> str:
        return self.words[index][0]

    def occurrence(self, index: int) -> int:
        """How many times this word (case-insensitively) appeared before: DAAM's ``occurrence``."""
        key = self.words[index][0].lower()
        return sum(1 for w, _, _ in self.words[:index] if w.lower() == key)

    def lower_set(self) -> set[str]:
        return {w.lower() for w, _, _ in self.words}


def token_word(token, words: PromptWords) -> int | None:
    """The DAAM word a spaCy token lies in (its first character decides)."""
    return words.containing(token.idx)


def token_exact_word(token, words: PromptWords) -> int | None:
    """The DAAM word that is exactly this spaCy token, or None ("'s" in "dog's" has none)."""
    return words.exactly(token.idx, token.idx + len(token.text))


def dedupe(words) -> tuple[str, ...]:
    """First occurrence of each word, compared case-insensitively as DAAM compares them."""
    seen: set[str] = set()
    out = []
    for w in words:
        if w.lower() not in seen:
            seen.add(w.lower())
            out.append(w)
    return tuple(out)
