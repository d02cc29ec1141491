"""Mask <-> COCO RLE conversion (pycocotools), kept JSON-friendly.

RLE dicts are stored with ``counts`` as ``str`` so they fit a JSON column and
can be handed unchanged to COCO tooling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from .errors import InvalidInputError
from .records import Mask


def check_mask(mask: Any, expected_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Return ``mask`` if it is a non-empty 2-D boolean array of the expected shape."""
    if not isinstance(mask, np.ndarray):
        raise InvalidInputError(f"mask must be a numpy array, got {type(mask).__name__}")
    if mask.dtype != np.bool_:
        raise InvalidInputError(f"mask must have dtype bool, got {mask.dtype}")
    if mask.ndim != 2:
        raise InvalidInputError(f"mask must be 2-D (height, width), got shape {mask.shape}")
    if mask.shape[0] == 0 or mask.shape[1] == 0:
        raise InvalidInputError(f"mask must not be empty, got shape {mask.shape}")
    if expected_shape is not None and tuple(mask.shape) != tuple(expected_shape):
        raise InvalidInputError(
            f"mask shape {tuple(mask.shape)} does not match the image shape (height, width) = {tuple(expected_shape)}"
        )
    return mask


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """Encode a boolean (H, W) mask as ``{"size": [H, W], "counts": str}``."""
    check_mask(mask)
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    counts = rle["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": counts}


def decode_rle(rle: dict[str, Any]) -> np.ndarray:
    """Decode a stored RLE dict into a boolean (H, W) array."""
    counts = rle["counts"]
    coco_rle = {
        "size": [int(rle["size"][0]), int(rle["size"][1])],
        "counts": counts.encode("ascii") if isinstance(counts, str) else counts,
    }
    return np.asarray(coco_mask.decode(coco_rle), dtype=bool)


def decode_mask(mask: Mask) -> np.ndarray:
    """Decode a ``Mask`` record into a boolean array of shape (height, width)."""
    array = decode_rle(mask.rle)
    if array.shape != (mask.height, mask.width):
        raise InvalidInputError(
            f"stored RLE of mask {mask.id} decodes to {array.shape}, expected {(mask.height, mask.width)}"
        )
    return array
