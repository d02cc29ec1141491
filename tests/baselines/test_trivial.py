import math

import numpy as np
import pytest

from baselines import BaselineError, load_baseline
from baselines.trivial import CentreDisc, UniformRandom, WholeImage, centred_disc, disc_radius_for_area


def test_whole_image_is_all_ones(image):
    out = WholeImage().predict(image, "a dog and a cat", ["dog", "cat"])
    assert out.words == ["dog", "cat"] and out.size == (40, 56)
    assert all(m.dtype == np.float32 and m.shape == (40, 56) and (m == 1).all() for m in out.maps.values())


def test_disc_geometry():
    disc = centred_disc(200, 200, 0.3)
    assert disc.sum() / disc.size == pytest.approx(math.pi * 0.09, rel=0.01)
    assert disc[100, 100] == 1 and disc[0, 0] == 0 and disc[100, 100 + 59] == 1 and disc[100, 100 + 61] == 0
    assert np.array_equal(disc, disc[::-1]) and np.array_equal(disc, disc[:, ::-1]) and np.array_equal(disc, disc.T)
    wide = centred_disc(100, 300, 0.5)  # radius is a fraction of the shorter side, centred on both axes
    rows, cols = np.nonzero(wide)
    assert rows.min() == 0 and rows.max() == 99 and cols.min() == 100 and cols.max() == 199


def test_disc_radius_matches_a_mean_area():
    assert disc_radius_for_area(math.pi * 0.09) == pytest.approx(0.3)
    disc = CentreDisc.for_mean_area(0.2).predict(np.zeros((300, 300, 3), np.uint8), "p", ["a"]).maps["a"]
    assert disc.mean() == pytest.approx(0.2, rel=0.01)
    assert load_baseline("centre-disc").radius == 0.3
    with pytest.raises(BaselineError):
        CentreDisc(radius=0)
    with pytest.raises(BaselineError):
        disc_radius_for_area(1.5)


def test_random_maps_are_deterministic_per_image_and_word(image):
    a = UniformRandom().predict(image, "p", ["dog", "cat"])
    b = UniformRandom().predict(image, "another prompt", ["cat", "dog"])  # order and prompt do not matter
    assert np.array_equal(a.maps["dog"], b.maps["dog"]) and np.array_equal(a.maps["cat"], b.maps["cat"])
    assert not np.array_equal(a.maps["dog"], a.maps["cat"])
    other = image.copy()
    other[0, 0, 0] ^= 1
    assert not np.array_equal(UniformRandom().predict(other, "p", ["dog"]).maps["dog"], a.maps["dog"])
    assert not np.array_equal(UniformRandom(seed=1).predict(image, "p", ["dog"]).maps["dog"], a.maps["dog"])
    m = a.maps["dog"]
    assert m.dtype == np.float32 and m.min() >= 0 and m.max() < 1 and abs(m.mean() - 0.5) < 0.05
    with pytest.raises(BaselineError):
        UniformRandom(seed="0")
