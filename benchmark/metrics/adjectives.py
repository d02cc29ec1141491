"""Adjectival entanglement (paper 5.2, figures 8-9): how far an adjective spreads beyond its noun.

With the layout fixed to the seed prompt's, only the adjective changes between a seed image and
a variant image, so any change outside the object is spill. The background is everything
outside the object's mask grown by ``margin`` pixels (edges blend object and background).

Colour adjectives (``colour_spill``). A pixel's *target-hue weight* is its chroma (HSV
saturation x value, i.e. max(R,G,B) - min(R,G,B), so greys whose hue is meaningless weigh 0)
times a triangular hue kernel, 1 at the target hue falling to 0 at ``width`` degrees away.
Spill is the change of that weight from the seed to the variant image over background pixels:
``background_gain`` is its mean, ``spill_fraction`` the share of background pixels whose
weight rose by more than ``threshold``. ``object_gain`` is the mean change on the object, to
show the adjective took effect where it should.

Other adjectives (``attribute_spill``): mean absolute RGB change in the background over that in
the object; 1 means the background changed as much as the object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.metrics.masks import as_mask

# Hues in degrees of the colour words the studies use (HSV hue circle).
COLOUR_HUES: dict[str, float] = {
    "red": 0.0,
    "orange": 30.0,
    "yellow": 60.0,
    "green": 120.0,
    "cyan": 180.0,
    "blue": 240.0,
    "purple": 280.0,
    "magenta": 300.0,
    "pink": 330.0,
}


def colour_hue(name: str) -> float:
    """The hue in degrees of a colour word (see ``COLOUR_HUES``)."""
    try:
        return COLOUR_HUES[name.lower()]
    except KeyError:
        raise KeyError(f"no hue for colour {name!r}; known: {', '.join(COLOUR_HUES)}") from None


def as_rgb(image: Any, what: str = "image") -> np.ndarray:
    """float64 RGB in [0, 1], shape (H, W, 3), from uint8, float in [0, 1], RGBA or a PIL image."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"{what} must be (H, W, 3) RGB or (H, W, 4) RGBA, got shape {arr.shape}")
    arr = arr[..., :3]
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{what} must be uint8 or float in [0, 1], got dtype {arr.dtype}")
    if arr.size and (not np.isfinite(arr).all() or arr.min() < 0.0 or arr.max() > 1.0):
        raise ValueError(f"float {what} must lie in [0, 1]")
    return arr.astype(np.float64)


def hue_weight(image: Any, target_hue: float, width: float = 30.0) -> np.ndarray:
    """Per-pixel target-hue weight in [0, 1]: chroma x max(0, 1 - hue distance / width)."""
    from skimage.color import rgb2hsv

    if not 0.0 < width <= 180.0:
        raise ValueError(f"width must lie in (0, 180] degrees, got {width}")
    hsv = rgb2hsv(as_rgb(image))
    hue_deg = hsv[..., 0] * 360.0
    distance = np.abs((hue_deg - target_hue + 180.0) % 360.0 - 180.0)
    chroma = hsv[..., 1] * hsv[..., 2]
    return chroma * np.clip(1.0 - distance / width, 0.0, 1.0)


def background_region(object_mask: Any, margin: int = 2) -> np.ndarray:
    """Pixels outside the object mask grown by ``margin`` pixels (square neighbourhood)."""
    from scipy.ndimage import binary_dilation

    mask = as_mask(object_mask, "object mask")
    if mask.ndim != 2:
        raise ValueError(f"object mask must be 2-D (H, W), got shape {mask.shape}")
    if margin < 0:
        raise ValueError(f"margin must be non-negative, got {margin}")
    grown = binary_dilation(mask, structure=np.ones((3, 3), bool), iterations=margin) if margin and mask.any() else mask
    return ~grown


def _check_pair(seed_image: Any, variant_image: Any, object_mask: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    seed, variant = as_rgb(seed_image, "seed image"), as_rgb(variant_image, "variant image")
    mask = as_mask(object_mask, "object mask")
    if seed.shape != variant.shape:
        raise ValueError(f"seed and variant images differ in shape: {seed.shape} vs {variant.shape}")
    if mask.shape != seed.shape[:2]:
        raise ValueError(f"object mask is {mask.shape} but the images are {seed.shape[:2]}")
    return seed, variant, mask


@dataclass(frozen=True)
class ColourSpill:
    """Change of target-hue weight from seed to variant image (see the module docstring)."""

    target_hue: float
    background_gain: float
    spill_fraction: float
    object_gain: float
    n_background: int


def colour_spill(
    seed_image: Any,
    variant_image: Any,
    object_mask: Any,
    target_hue: float,
    *,
    width: float = 30.0,
    threshold: float = 0.1,
    margin: int = 2,
) -> ColourSpill:
    """How much the colour ``target_hue`` (degrees) spread into the background of the variant.

    ``object_mask`` marks the object in both images (pass the union of the two masks when the
    object moved).
    """
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must lie in [0, 1), got {threshold}")
    seed, variant, mask = _check_pair(seed_image, variant_image, object_mask)
    change = hue_weight(variant, target_hue, width) - hue_weight(seed, target_hue, width)
    background = background_region(mask, margin)
    n = int(background.sum())
    if n == 0:
        raise ValueError("no background left: the object mask (grown by the margin) covers the image")
    return ColourSpill(
        float(target_hue % 360.0),
        float(change[background].mean()),
        float((change[background] > threshold).mean()),
        float(change[mask].mean()) if mask.any() else math.nan,
        n,
    )


@dataclass(frozen=True)
class AttributeSpill:
    """Mean absolute RGB change (in [0, 1]) outside and inside the object, and their ratio."""

    background_change: float
    object_change: float
    ratio: float  # background / object; inf if only the background changed, NaN if nothing did


def attribute_spill(seed_image: Any, variant_image: Any, object_mask: Any, *, margin: int = 2) -> AttributeSpill:
    """How much the image changed outside the object relative to inside it."""
    seed, variant, mask = _check_pair(seed_image, variant_image, object_mask)
    if not mask.any():
        raise ValueError("object mask is empty: attribute spill needs the object's region")
    background = background_region(mask, margin)
    if not background.any():
        raise ValueError("no background left: the object mask (grown by the margin) covers the image")
    diff = np.abs(variant - seed).mean(axis=-1)
    outside, inside = float(diff[background].mean()), float(diff[mask].mean())
    if inside > 0:
        ratio = outside / inside
    else:
        ratio = math.inf if outside > 0 else math.nan
    return AttributeSpill(outside, inside, ratio)
