"""Seeded randomness for builders: one independent stream per purpose, stable per-item seeds.

Streams are keyed by a name so that, for example, Unreal-Gen's noun swaps never shift
COCO-Gen's caption sample, and per-item seeds depend only on (seed, key), not on list order.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def rng(seed: int, stream: str) -> np.random.Generator:
    """A generator for one purpose (e.g. "coco-sample"), independent of every other stream."""
    return np.random.default_rng([seed, _digest(stream)])


def item_seed(seed: int, key: str) -> int:
    """The generation seed of one item (or one group of items sharing a layout)."""
    return _digest(f"{seed}:{key}") % 2**31
