"""Trivial references: they need no model, so the whole pipeline runs anywhere, and they bound
what a real method must beat (a map that ignores the image should score badly)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

from baselines.protocol import Baseline, BaselineError, BaselineOutput, as_rgb, check_words

# A salient captioned object in a square generated image is taken to cover about 28% of it:
# a disc of radius 0.3 x the shorter side (pi * 0.3^2 = 0.283). This is an assumption, not a
# measurement; set ``radius`` from the split's ground truth with ``disc_radius_for_area``.
DEFAULT_DISC_RADIUS = 0.3


class WholeImage(Baseline):
    """Every word covers the whole image (IoU = the object's area fraction)."""

    name = "whole-image"
    kind = "soft"

    def predict(self, image, prompt: str, words: Sequence[str]) -> BaselineOutput:
        h, w = as_rgb(image).shape[:2]
        maps = {word: np.ones((h, w), np.float32) for word in check_words(words)}
        return BaselineOutput(self.name, (h, w), maps=maps)


def disc_radius_for_area(area_fraction: float, height: int = 1, width: int = 1) -> float:
    """Radius (as a fraction of the shorter side) of a disc covering ``area_fraction`` of an image.

    Ignores clipping at the border, so it is exact while the disc fits (fractions up to pi/4 of a
    square image).
    """
    if not 0.0 < area_fraction <= 1.0:
        raise BaselineError(f"area_fraction must lie in (0, 1], got {area_fraction}")
    short = min(height, width)
    return math.sqrt(area_fraction * height * width / math.pi) / short


def centred_disc(height: int, width: int, radius: float) -> np.ndarray:
    """Float32 ``[H, W]``: 1 where a pixel centre lies within ``radius * min(H, W)`` of the image centre."""
    ys = np.arange(height, dtype=np.float64) + 0.5 - height / 2
    xs = np.arange(width, dtype=np.float64) + 0.5 - width / 2
    r = radius * min(height, width)
    return ((ys[:, None] ** 2 + xs[None, :] ** 2) <= r * r).astype(np.float32)


class CentreDisc(Baseline):
    """A centre prior: the same disc in the middle of the image for every word."""

    name = "centre-disc"
    kind = "soft"

    def __init__(self, radius: float = DEFAULT_DISC_RADIUS):
        if not radius > 0:
            raise BaselineError(f"radius must be > 0 (a fraction of the shorter side), got {radius}")
        self.radius = float(radius)

    @classmethod
    def for_mean_area(cls, area_fraction: float) -> CentreDisc:
        """The disc whose area matches a measured mean object area (fraction of a square image)."""
        return cls(disc_radius_for_area(area_fraction))

    def predict(self, image, prompt: str, words: Sequence[str]) -> BaselineOutput:
        h, w = as_rgb(image).shape[:2]
        disc = centred_disc(h, w, self.radius)
        return BaselineOutput(self.name, (h, w), maps={word: disc.copy() for word in check_words(words)})

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "radius": self.radius}


class UniformRandom(Baseline):
    """Independent uniform noise per pixel, seeded by (seed, image bytes, word): deterministic.

    The same image and word always get the same map, on any machine, whatever the order of calls.
    """

    name = "random"
    kind = "soft"

    def __init__(self, seed: int = 0):
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise BaselineError(f"seed must be an int, got {seed!r}")
        self.seed = seed

    def _rng(self, pixels: np.ndarray, word: str) -> np.random.Generator:
        digest = hashlib.sha256()
        digest.update(str(self.seed).encode())
        digest.update(np.asarray(pixels.shape, np.int64).tobytes())
        digest.update(pixels.tobytes())
        digest.update(word.encode("utf-8"))
        return np.random.default_rng(int.from_bytes(digest.digest()[:8], "little"))

    def predict(self, image, prompt: str, words: Sequence[str]) -> BaselineOutput:
        pixels = as_rgb(image)
        h, w = pixels.shape[:2]
        maps = {word: self._rng(pixels, word).random((h, w), dtype=np.float32) for word in check_words(words)}
        return BaselineOutput(self.name, (h, w), maps=maps)

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "seed": self.seed}
