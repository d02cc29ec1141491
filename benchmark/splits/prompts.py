"""Ad-hoc prompts: a user's own file, as a split.

``.txt``: one prompt per line; blank lines and lines starting with ``#`` are skipped.
``.jsonl``: one object per line, ``{"text": ..., "words": [...], "key": ..., "seed": ...}``, all
but ``text`` optional. Words default to the prompt's nouns (spaCy), or, where spaCy finds none,
to every word with a letter in it. The provenance's ``nouns`` (the nouns, or the words a
``.jsonl`` line names) are what the segmentation study asks raters to outline.

Editing the file continues a run: keys default to a hash of the text and the file name and line
number are not stored (``SplitItem.volatile``), so adding, removing or reordering lines leaves
every other item as stored, and only new prompts are generated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from benchmark.splits.base import SplitItem, SplitOptions
from benchmark.splits.errors import SplitError
from benchmark.splits.nlp import parse
from benchmark.splits.nouns import caption_nouns
from benchmark.splits.options import flag, require_file
from benchmark.splits.text import PromptWords, dedupe, normalise

SPLIT = "prompts"
SUFFIXES = (".txt", ".jsonl")
_FIELDS = {"text", "words", "key", "seed"}
# spaCy refuses texts over its max_length (1,000,000) with a traceback; a text encoder reads at
# most a few hundred tokens, so a longer line is a mistake to name, not a prompt
MAX_PROMPT_CHARS = 10_000


class PromptsFileError(SplitError, ValueError):
    """A line of the user's prompts file is malformed."""


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    words: tuple[str, ...] | None = None
    key: str | None = None
    seed: int | None = None


def _txt(path: Path, lines: list[str]) -> list[_Line]:
    return [
        _Line(n, normalise(line))
        for n, line in enumerate(lines, 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _jsonl(path: Path, lines: list[str]) -> list[_Line]:
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}, line {n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise PromptsFileError(f"{where}: not valid JSON ({err.msg})") from None
        if not isinstance(obj, dict):
            raise PromptsFileError(f'{where}: expected a JSON object like {{"text": "a dog"}}')
        unknown = sorted(set(obj) - _FIELDS)
        if unknown:
            raise PromptsFileError(f"{where}: unknown fields {unknown}; allowed: {sorted(_FIELDS)}")
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            raise PromptsFileError(f"{where}: 'text' must be a non-empty string")
        words = obj.get("words")
        if words is not None and (
            not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words)
        ):
            raise PromptsFileError(f"{where}: 'words' must be a non-empty list of strings")
        key = obj.get("key")
        if key is not None and (not isinstance(key, str) or not key.strip()):
            raise PromptsFileError(f"{where}: 'key' must be a non-empty string")
        seed = obj.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise PromptsFileError(f"{where}: 'seed' must be a non-negative integer")
        out.append(_Line(n, normalise(text), tuple(w.strip() for w in words) if words else None, key, seed))
    return out


def read_prompts(path: Path) -> list[_Line]:
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise PromptsFileError(f"{flag('prompts_file')} {path}: expected a .txt or .jsonl file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise PromptsFileError(f"{flag('prompts_file')} {path}: not UTF-8 text ({err})") from None
    parsed = (_txt if path.suffix == ".txt" else _jsonl)(path, lines)
    if not parsed:
        raise PromptsFileError(f"{flag('prompts_file')} {path} has no prompts")
    for line in parsed:
        if len(line.text) > MAX_PROMPT_CHARS:
            raise PromptsFileError(
                f"{flag('prompts_file')} {path}, line {line.number}: the prompt has {len(line.text):,} characters; "
                f"at most {MAX_PROMPT_CHARS:,}"
            )
    return parsed


def _nouns(doc, words: PromptWords) -> tuple[str, ...]:
    return dedupe(n.text for n in caption_nouns(doc, words))


def _every_word(words: PromptWords) -> tuple[str, ...]:
    return dedupe(w for w, _, _ in words.words if any(c.isalpha() for c in w))


def build_prompts(options: SplitOptions) -> list[SplitItem]:
    path = require_file(options, "prompts_file", SPLIT)
    lines = read_prompts(path)
    docs = parse(options.spacy_model, [line.text for line in lines])
    items, keys = [], {}
    for line, doc in zip(lines, docs):
        words = PromptWords.of(line.text)
        if line.words is not None:
            missing = [w for w in line.words if w.lower() not in words.lower_set()]
            if missing:
                raise PromptsFileError(
                    f"{path}, line {line.number}: words {missing} are not words of {line.text!r}; its words are "
                    + ", ".join(w for w, _, _ in words.words)
                )
        key = line.key or "prompt-" + hashlib.sha1(line.text.encode()).hexdigest()[:10]
        if key in keys:
            raise PromptsFileError(
                f"{path}, line {line.number}: key {key!r} repeats line {keys[key]} (a repeated prompt needs its own 'key')"
            )
        keys[key] = line.number
        # the words a line names are what its user wants outlined; else the prompt's nouns
        nouns = dedupe(line.words) if line.words is not None else _nouns(doc, words)
        items.append(
            SplitItem(
                key=key,
                text=line.text,
                words=nouns or _every_word(words),
                seed=line.seed,
                provenance={"nouns": list(nouns), "file": path.name, "line": line.number},
                volatile=("file", "line"),
            )
        )
    return items
