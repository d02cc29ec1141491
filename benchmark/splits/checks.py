"""Checks every built split passes, whichever builder made it, before anything is generated."""

from __future__ import annotations

import json

from benchmark.splits.base import SplitItem, SplitOptions
from benchmark.splits.options import InvalidOptionError, flag


class SplitBuildError(ValueError):
    """A builder returned items the runner could not use (a bug in the builder, not the input)."""


def check_options(options: SplitOptions) -> None:
    if isinstance(options.seed, bool) or not isinstance(options.seed, int) or options.seed < 0:
        raise InvalidOptionError(f"{flag('seed')} must be a non-negative integer, got {options.seed!r}")
    for field in ("limit", "size", "captions_per_image"):
        value = getattr(options, field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InvalidOptionError(f"{flag(field)} must be a positive integer, got {value!r}")


def check_items(split: str, items: list) -> None:
    """Keys unique, text present, words findable by DAAM in the text, provenance JSON-able."""
    from daam.words import split_words

    seen: set[str] = set()
    for item in items:
        if not isinstance(item, SplitItem):
            raise SplitBuildError(f"split {split!r} built {type(item).__name__}, not SplitItem")
        if not item.key or item.key in seen:
            raise SplitBuildError(f"split {split!r}: item key {item.key!r} is empty or repeated")
        seen.add(item.key)
        if not item.text.strip():
            raise SplitBuildError(f"split {split!r}, item {item.key!r}: empty prompt")
        prompt_words = {w.lower() for w, _, _ in split_words(item.text)}
        missing = [w for w in item.words if w.lower() not in prompt_words]
        if missing:
            raise SplitBuildError(f"split {split!r}, item {item.key!r}: words {missing} are not words of {item.text!r}")
        try:
            json.dumps(item.provenance)
        except (TypeError, ValueError) as err:
            raise SplitBuildError(f"split {split!r}, item {item.key!r}: provenance is not JSON-able: {err}") from None
