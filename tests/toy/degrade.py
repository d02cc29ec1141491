"""Degrade a clean render the way a small decoder might: soft edges, noise, colour drift, speckle."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def degrade(
    image: np.ndarray,
    rng: np.random.Generator,
    blur: float = 0.7,
    noise: float = 12.0,
    shift: float = 15.0,
    speckle: float = 0.01,
) -> np.ndarray:
    """Gaussian blur (sigma px), a colour shift of +-``shift`` per channel, Gaussian noise (sd),
    and salt-and-pepper on a ``speckle`` fraction of pixels."""
    x = ndi.gaussian_filter(image.astype(np.float64), (blur, blur, 0))
    x += rng.choice([-1.0, 1.0], size=3) * shift
    x += rng.normal(0.0, noise, size=x.shape)
    hit = rng.random(x.shape[:2]) < speckle
    x[hit] = rng.choice([0.0, 255.0], size=(int(hit.sum()), 1))
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)
