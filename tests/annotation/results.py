"""Label Studio results as a rater's browser would send them, for simulated raters."""

from __future__ import annotations

import numpy as np
from label_studio_sdk.converter.brush import mask2rle


def random_mask(seed: int, height: int, width: int) -> np.ndarray:
    """A blobby random mask (smoothed noise), never empty."""
    rng = np.random.default_rng(seed)
    noise = rng.random((height // 4 + 1, width // 4 + 1))
    mask = np.kron(noise, np.ones((4, 4)))[:height, :width] > 0.55
    mask[rng.integers(height), rng.integers(width)] = True
    return mask


def brush(mask: np.ndarray, label: str, **override) -> dict:
    item = {
        "from_name": "brush",
        "to_name": "image",
        "type": "brushlabels",
        "original_width": int(mask.shape[1]),
        "original_height": int(mask.shape[0]),
        "image_rotation": 0,
        "value": {"format": "rle", "rle": mask2rle(mask.astype(np.uint8) * 255), "brushlabels": [label]},
    }
    item.update(override)
    return item


def polygon(points: list[list[float]], label: str, height: int, width: int) -> dict:
    return {
        "from_name": "polygon",
        "to_name": "image",
        "type": "polygonlabels",
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
        "value": {"points": points, "polygonlabels": [label], "closed": True},
    }


def choice(name: str, *values: str) -> dict:
    return {"from_name": name, "to_name": "image", "type": "choices", "value": {"choices": list(values)}}
