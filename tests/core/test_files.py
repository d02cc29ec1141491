from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from core.files import GenerationImageError, MissingImageError, load_generation_image, load_rgb


def test_one_loader_for_a_generations_image(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "g.png")
    g = SimpleNamespace(id=7, image_path="g.png", height=4, width=6)
    assert np.array_equal(load_generation_image(tmp_path, g), pixels)
    assert np.array_equal(load_rgb(tmp_path / "g.png"), pixels)
    with pytest.raises(GenerationImageError, match="6x4, the store says 4x4"):
        load_generation_image(tmp_path, SimpleNamespace(id=7, image_path="g.png", height=4, width=4))
    with pytest.raises(MissingImageError, match="image of generation 8 is missing"):
        load_generation_image(tmp_path, SimpleNamespace(id=8, image_path="h.png", height=4, width=6))
    with pytest.raises(GenerationImageError, match="has no image_path"):
        load_generation_image(tmp_path, SimpleNamespace(id=9, image_path=None, height=4, width=6))
