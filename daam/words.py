"""Prompt words <-> text-encoder token positions, by character offsets.

A *word* is a run of letters/digits joined by hyphens or apostrophes ("ice-cream", "1girl",
"dog's") or a single punctuation mark (so attention checks can target ","). A word's tokens are
the tokens whose character span overlaps the word's span, so multi-token words, repeated words
and punctuation all resolve without guessing from decoded strings.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

WORD_PATTERN = re.compile(r"\w+(?:[-'\u2019]\w+)*|[^\w\s]", re.UNICODE)


class WordNotFoundError(KeyError):
    """A word asked for is not in the prompt (or was cut off by the tokenizer's limit)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Word:
    text: str
    start: int  # character span in the prompt
    end: int
    index: int  # position among the prompt's words
    occurrence: int  # 0 for the first time this (lower-cased) word appears, 1 for the second...
    tokens: tuple[int, ...]  # positions in the encoded sequence (0 is the start token)


@dataclass(frozen=True)
class PromptTokens:
    """A prompt as the text encoder saw it."""

    prompt: str
    token_ids: tuple[int, ...]  # the kept sequence, start and end tokens included, no padding
    token_spans: tuple[tuple[int, int], ...]  # character span per token; (0, 0) for specials
    words: tuple[Word, ...]  # words with at least one kept token
    cut_words: tuple[str, ...] = ()  # words lost to truncation
    # position of token 0 in the encoder's kept sequence: a template's prefix (a chat template, a
    # system prompt) comes before the prompt and belongs to no word, so it is not among the tokens
    position: int = 0

    @property
    def word_texts(self) -> list[str]:
        return [w.text for w in self.words]

    def find(self, word: str, occurrence: int = 0) -> Word:
        """The ``occurrence``-th appearance of ``word`` (case-insensitive)."""
        key = word.strip().lower()
        matches = [w for w in self.words if w.text.lower() == key]
        if len(matches) > occurrence:
            return matches[occurrence]
        if key in (c.lower() for c in self.cut_words):
            raise WordNotFoundError(
                f"word {word!r} was cut off: it lies past the text encoder's token limit for prompt {self.prompt!r}"
            )
        if matches:
            raise WordNotFoundError(
                f"word {word!r} occurs {len(matches)} time(s) in {self.prompt!r}; "
                f"occurrence={occurrence} asked (occurrences count from 0)"
            )
        raise WordNotFoundError(
            f"word {word!r} is not in the prompt {self.prompt!r}; its words are: "
            + ", ".join(repr(t) for t in self.word_texts)
        )


@dataclass(frozen=True)
class TokenSegment:
    """One text encoder's tokens of a prompt and where they sit among the stored map columns.

    SD3 conditions on 77 CLIP positions then its T5 tokens: two segments. A word's map sums its
    tokens in every segment that carries it.
    """

    name: str  # "clip", "t5", ...
    start: int  # stored column of the segment's token 0
    tokens: PromptTokens


def split_words(prompt: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in WORD_PATTERN.finditer(prompt)]


def _offsets_from_tokens(tokenizer, prompt: str, ids: list[int]) -> list[tuple[int, int]]:
    """Fallback for tokenizers without offset mapping: locate each decoded token in the text."""
    lowered = prompt.lower()
    spans, pos = [], 0
    special = set(getattr(tokenizer, "all_special_ids", []))
    for tid in ids:
        if tid in special:
            spans.append((0, 0))
            continue
        piece = tokenizer.decode([tid]).strip().lower()
        at = lowered.find(piece, pos) if piece else -1
        if at < 0:
            spans.append((pos, pos))
            continue
        spans.append((at, at + len(piece)))
        pos = at + len(piece)
    return spans


def _char_map(seen: str, prompt: str) -> list[int | None]:
    """For each character of ``seen`` (the text an encoder saw), its position in ``prompt``."""
    if seen == prompt:
        return list(range(len(prompt)))
    from difflib import SequenceMatcher

    out: list[int | None] = [None] * len(seen)
    blocks = SequenceMatcher(None, seen.lower(), prompt.lower(), autojunk=False).get_matching_blocks()
    for a, b, n in blocks:
        for i in range(n):
            out[a + i] = b + i
    return out


def _map_spans(spans, seen: str, prompt: str):
    """Token spans in ``seen`` -> spans in ``prompt`` (empty where no character matches)."""
    where = _char_map(seen, prompt)
    mapped = []
    for s, e in spans:
        pos = [where[i] for i in range(s, min(e, len(where))) if where[i] is not None]
        mapped.append((min(pos), max(pos) + 1) if pos else (0, 0))
    return mapped


def align(
    tokenizer: PreTrainedTokenizerBase,
    prompt: str,
    max_length: int | None = None,
    warn: bool = True,
    preprocess: Callable[[str], str] | None = None,
    encoder: str = "the text encoder",
) -> PromptTokens:
    """Tokenize ``prompt`` as a diffusers pipeline does and map words to token positions.

    ``max_length`` defaults to the tokenizer's ``model_max_length`` (77 for CLIP). Tokens past the
    limit are dropped, as the pipeline drops them, with a warning that names the cut text.
    ``preprocess`` is the pipeline's own text preprocessing (PixArt lowercases and cleans
    captions): the encoder's tokens are aligned back to the user's words by characters.
    """
    limit = max_length or int(getattr(tokenizer, "model_max_length", 77))
    if limit > 100_000:  # tokenizers without a limit report a huge sentinel
        limit = 77
    text_seen = preprocess(prompt) if preprocess is not None else prompt
    try:
        enc = tokenizer(text_seen, add_special_tokens=True, truncation=False, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        spans = [tuple(s) for s in enc["offset_mapping"]]
    except (NotImplementedError, TypeError, ValueError):
        ids = list(tokenizer(text_seen, add_special_tokens=True, truncation=False)["input_ids"])
        spans = _offsets_from_tokens(tokenizer, text_seen, ids)
    if text_seen != prompt:
        spans = _map_spans(spans, text_seen, prompt)
    special = set(getattr(tokenizer, "all_special_ids", []))
    cut_at = None
    if len(ids) > limit:
        content = [i for i in range(len(ids)) if ids[i] not in special]
        n_total = len(ids)
        kept_content = limit - (len(ids) - len(content))  # room left beside start/end tokens
        first_cut = content[kept_content]
        cut_at = spans[first_cut][0]
        ids = ids[:first_cut] + [t for t in ids[first_cut:] if t in special][-1:]
        spans = spans[:first_cut] + [(0, 0)] * (len(ids) - first_cut)
        if warn:
            warnings.warn(
                f"prompt is {n_total} tokens, over "
                f"{encoder}'s limit of {limit}: {encoder} ignores {prompt[cut_at:]!r}; maps cover the kept tokens only",
                stacklevel=3,
            )
    words, cut = _words(prompt, spans, [ids[t] in special for t in range(len(ids))])
    return PromptTokens(prompt, tuple(ids), tuple(spans), words, cut)


def _words(prompt: str, spans, skip=None) -> tuple[tuple[Word, ...], tuple[str, ...]]:
    """The prompt's words with the tokens whose spans overlap them, and the words no token covers."""
    words, cut, seen = [], [], {}
    for idx, (text, start, end) in enumerate(split_words(prompt)):
        toks = tuple(t for t, (s, e) in enumerate(spans) if not (skip and skip[t]) and s < end and e > start)
        if not toks:
            cut.append(text)
            continue
        occ = seen.get(text.lower(), 0)
        seen[text.lower()] = occ + 1
        words.append(Word(text, start, end, idx, occ, toks))
    return tuple(words), tuple(cut)


def align_rendered(
    tokenizer: PreTrainedTokenizerBase,
    prompt: str,
    render: Callable[[str], str],
    *,
    keep: Callable[[int], Sequence[int]] | None = None,
    preprocess: Callable[[str], str] | None = None,
    add_special_tokens: bool = True,
    max_length: int | None = None,
    warn: bool = True,
    encoder: str = "the text encoder",
) -> PromptTokens:
    """Align a prompt that the pipeline wraps in a template before its LLM encoder sees it.

    ``render`` gives the full text the tokenizer sees (Qwen-Image's template, a chat template with
    its system message, Sana's instruction + prompt); ``keep(n)`` the indices of the full token
    sequence the pipeline keeps, in order (Qwen-Image drops the template's first 34 tokens, Sana
    keeps ``[0] + the last 299``); ``max_length`` cuts the kept sequence. Only the prompt's own
    tokens are returned (template tokens belong to no word), with ``position`` their first
    token's place in the kept sequence.
    """
    text = preprocess(prompt) if preprocess is not None else prompt
    full = render(text)
    at = full.rfind(text)
    if at < 0:
        raise ValueError(f"{encoder}: the pipeline's template does not contain the prompt {text!r}")
    enc = tokenizer(full, add_special_tokens=add_special_tokens, truncation=False, return_offsets_mapping=True)
    ids, spans = list(enc["input_ids"]), [tuple(x) for x in enc["offset_mapping"]]
    kept = list(keep(len(ids))) if keep is not None else list(range(len(ids)))
    if max_length is not None:
        kept = kept[:max_length]
    end = at + len(text)
    inside = [i for i, (s, e) in enumerate(spans) if e > s and s < end and e > at]
    kept_at = {i: p for p, i in enumerate(kept)}
    mine = [i for i in inside if i in kept_at]
    local = [(max(s, at) - at, min(e, end) - at) for s, e in (spans[i] for i in mine)]
    if text != prompt:
        local = _map_spans(local, text, prompt)
    words, cut = _words(prompt, local)
    lost = [i for i in inside if i not in kept_at]
    if lost and warn:
        first = spans[lost[0]][0] - at
        warnings.warn(
            f"prompt is {len(inside)} tokens in {encoder}, over what the pipeline keeps: {encoder} "
            f"ignores {prompt[max(first, 0) :]!r}; maps cover the kept tokens only",
            stacklevel=3,
        )
    return PromptTokens(
        prompt, tuple(ids[i] for i in mine), tuple(local), words, cut, position=kept_at[mine[0]] if mine else 0
    )
