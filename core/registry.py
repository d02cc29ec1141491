"""One small registry for splits, baselines, metrics and studies.

Entries are registered by name with either an object or a lazy ``"module:attr"`` string, so
``bench --help`` stays instant and heavy models import only when used. Duplicate names are an
error; unknown names get a "did you mean" suggestion.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from typing import Any


class UnknownNameError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class Registry:
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Any] = {}

    def register(self, name: str, target: Any = None):
        """``register("x", "pkg.mod:obj")`` or, as a decorator, ``@register("x")``."""
        if target is None:
            return lambda obj: self.register(name, obj)
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = target
        return target

    def get(self, name: str) -> Any:
        if name not in self._entries:
            close = difflib.get_close_matches(name, list(self._entries), n=3)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise UnknownNameError(f"unknown {self.kind} {name!r}{hint} (known: {', '.join(sorted(self._entries))})")
        target = self._entries[name]
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            target = getattr(importlib.import_module(module), attr)
            self._entries[name] = target
        return target

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


SPLITS = Registry("split")
BASELINES = Registry("baseline")
METRICS = Registry("metric")
