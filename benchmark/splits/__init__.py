"""The benchmark's splits: versioned data (``data/splits.yaml``) plus registered builders.

``list_splits()`` and ``split_info()`` read only the data; ``build_split()`` imports the one
builder it needs. Builders are registered lazily in ``core.registry.SPLITS``.
"""

from __future__ import annotations

from benchmark.splits.base import SplitInfo, SplitItem, SplitOptions
from benchmark.splits.catalogue import SplitDataError, SplitSpec, catalogue, spec
from benchmark.splits.checks import SplitBuildError, check_items, check_options
from benchmark.splits.errors import SplitError
from benchmark.splits.options import InvalidOptionError, MissingOptionError, require
from core.registry import SPLITS

__all__ = [
    "SplitInfo",
    "SplitItem",
    "SplitOptions",
    "SplitSpec",
    "list_splits",
    "split_info",
    "build_split",
    "split_sizes",
    "SplitError",
    "MissingOptionError",
    "InvalidOptionError",
    "SplitDataError",
    "SplitBuildError",
]


def list_splits() -> list[SplitInfo]:
    """Every split, in catalogue order, without importing any builder."""
    return [s.info for s in catalogue().values()]


def split_info(name: str) -> SplitInfo:
    return spec(name).info


def build_split(name: str, options: SplitOptions | None = None) -> list[SplitItem]:
    """The items of split ``name``: required options checked, ``options.limit`` applied."""
    options = options or SplitOptions()
    info = spec(name).info
    check_options(options)
    for field in info.needs:
        require(options, field, name)
    items = list(SPLITS.get(name)(options))
    if options.limit is not None:
        items = items[: options.limit]
    check_items(name, items)
    return items


def split_sizes() -> list[tuple[SplitInfo, str]]:
    """Each split with its size as `bench splits` shows it: "500 captions" or "depends on input"."""
    rows = []
    for s in catalogue().values():
        if s.info.default_size is None:
            size = "depends on input"
        else:
            size = f"{s.info.default_size} {s.unit}" if s.unit else str(s.info.default_size)
        rows.append((s.info, size))
    return rows
