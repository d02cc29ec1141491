import math

import numpy as np
import pytest
import torch

from benchmark.metrics.adjectives import (
    attribute_spill,
    background_region,
    colour_hue,
    colour_spill,
    hue_weight,
)

GREY, RED, GREEN = (128, 128, 128), (220, 30, 30), (0, 255, 0)


def _scene(size=40):
    """A grey image with a red square object at rows/cols 15-24."""
    img = np.empty((size, size, 3), np.uint8)
    img[:] = GREY
    mask = np.zeros((size, size), bool)
    mask[15:25, 15:25] = True
    img[mask] = RED
    return img, mask


def test_hue_weight_known_pixels():
    pixels = np.array([[[0, 1, 0], [0.5, 0.5, 0.5], [0, 1, 0.25], [1, 0, 1 / 6], [0, 0.5, 0]]])
    w_green = hue_weight(pixels, 120.0, width=30.0)[0]
    assert w_green[0] == pytest.approx(1.0)  # pure green
    assert w_green[1] == 0.0  # grey: no chroma, whatever its nominal hue
    assert w_green[2] == pytest.approx(0.5)  # hue 135: 15 of 30 degrees away
    assert w_green[4] == pytest.approx(0.5)  # dark green: chroma 0.5
    assert hue_weight(pixels, 0.0)[0, 3] == pytest.approx(2 / 3)  # hue 350 wraps round to red


def test_background_region_grows_the_mask():
    mask = np.zeros((9, 9), bool)
    mask[4, 4] = True
    assert (~background_region(mask, margin=2)).sum() == 25
    assert (~background_region(mask, margin=0)).sum() == 1
    assert background_region(np.zeros((3, 3), bool), margin=2).all()


def test_colour_spill_on_a_synthetic_pair():
    seed, mask = _scene()
    variant = seed.copy()
    variant[:, :8] = GREEN  # the green adjective also painted the left 8 columns of the background
    variant[mask] = GREEN  # ...and the object itself
    spill = colour_spill(seed, variant, mask, colour_hue("green"), margin=2)
    n_background = 40 * 40 - 14 * 14
    assert spill.n_background == n_background
    assert spill.spill_fraction == pytest.approx(8 * 40 / n_background)
    assert spill.background_gain == pytest.approx(8 * 40 / n_background)  # each spilled pixel gains 1
    assert spill.object_gain == pytest.approx(1.0)
    # Blue gained nowhere; red was lost on the object but never in the background.
    blue = colour_spill(seed, variant, mask, colour_hue("blue"))
    assert blue.background_gain == 0.0 and blue.spill_fraction == 0.0
    red = colour_spill(seed, variant, mask, colour_hue("red"))
    assert red.background_gain == 0.0 and red.object_gain < -0.5


def test_colour_spill_ignores_the_object_edge_and_accepts_floats():
    seed, mask = _scene()
    variant = seed.copy()
    grown = np.zeros_like(mask)
    grown[14:26, 14:26] = True
    variant[grown] = GREEN  # the object bled one pixel over its mask: inside the margin
    as_float = colour_spill(seed / 255.0, torch.from_numpy(variant).numpy() / 255.0, torch.from_numpy(mask), 120.0)
    assert as_float.spill_fraction == 0.0 and as_float.background_gain == 0.0
    assert colour_spill(seed, variant, mask, 120.0, margin=0).spill_fraction > 0


def test_attribute_spill_ratio():
    _, mask = _scene()
    seed = np.full(mask.shape + (3,), 0.5)
    variant = seed.copy()
    variant[mask] += 0.2
    variant[~mask] -= 0.1
    spill = attribute_spill(seed, variant, mask, margin=0)
    assert spill.object_change == pytest.approx(0.2) and spill.background_change == pytest.approx(0.1)
    assert spill.ratio == pytest.approx(0.5)
    only_background = seed.copy()
    only_background[~mask] += 0.1
    assert attribute_spill(seed, only_background, mask).ratio == math.inf
    assert math.isnan(attribute_spill(seed, seed, mask).ratio)


def test_bad_inputs():
    seed, mask = _scene()
    with pytest.raises(ValueError, match="differ in shape"):
        colour_spill(seed, seed[:20], mask, 120.0)
    with pytest.raises(ValueError, match="object mask is"):
        colour_spill(seed, seed, mask[:20], 120.0)
    with pytest.raises(TypeError, match="boolean"):
        attribute_spill(seed, seed, mask.astype(np.uint8))
    with pytest.raises(ValueError, match="empty"):
        attribute_spill(seed, seed, np.zeros_like(mask))
    with pytest.raises(ValueError, match="no background"):
        colour_spill(seed, seed, np.ones_like(mask), 120.0)
    with pytest.raises(KeyError, match="known"):
        colour_hue("rusty")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        colour_spill(seed * 2.0, seed * 2.0, mask, 120.0)
