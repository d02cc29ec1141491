"""Overlays: a perceptual colour map, each pixel as opaque as its value, and a colour bar in plots."""

from __future__ import annotations

import matplotlib
import numpy as np
import torch

import daam
from daam.maps import CMAP, OVERLAY_ALPHA, WordMap

matplotlib.use("Agg")


def test_the_image_shows_where_the_map_is_low():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    soft = torch.zeros(4, 6)
    soft[:, 3:] = 1.0
    out = daam.overlay(image, soft)
    np.testing.assert_array_equal(out[:, :3], image[:, :3])  # value 0: fully transparent
    hot = np.asarray(matplotlib.colormaps[CMAP](1.0)[:3]) * 255
    expected = (image[:, 3:] * (1 - OVERLAY_ALPHA) + hot * OVERLAY_ALPHA).round()
    np.testing.assert_allclose(out[:, 3:], expected, atol=1)
    assert CMAP != "jet"


def test_uniform_blending_on_request():
    image = np.full((2, 2, 3), 200, np.uint8)
    soft = torch.zeros(2, 2)
    out = daam.overlay(image, soft, alpha=0.5, by_value=False)
    cold = np.asarray(matplotlib.colormaps[CMAP](0.0)[:3]) * 255
    np.testing.assert_allclose(out, np.broadcast_to((200 * 0.5 + cold * 0.5).round(), out.shape), atol=1)


def test_plots_have_a_colour_bar_and_the_image_beside():
    import matplotlib.pyplot as plt

    soft = torch.linspace(0, 1, 16).reshape(4, 4)
    wm = WordMap("dog", (1,), soft, soft)
    fig, ax = plt.subplots()
    wm.plot(np.zeros((4, 4, 3), np.uint8), ax=ax, colorbar=True)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel().startswith("attribution")
    plt.close(fig)
