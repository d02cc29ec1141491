import numpy as np
import pytest


@pytest.fixture(scope="session")
def clipseg_path(tmp_path_factory, clip_tokenizer_dir):
    from tests.baselines.models import build_clipseg

    return build_clipseg(tmp_path_factory.mktemp("tiny-clipseg"), clip_tokenizer_dir)


@pytest.fixture(scope="session")
def mask2former_path(tmp_path_factory):
    from tests.baselines.models import build_mask2former

    return build_mask2former(tmp_path_factory.mktemp("tiny-mask2former"))


@pytest.fixture(scope="session")
def dino_path(tmp_path_factory):
    from tests.baselines.models import build_dino_vit

    return build_dino_vit(tmp_path_factory.mktemp("tiny-dino"))


@pytest.fixture
def image():
    """A 40 x 56 RGB image: a red disc on a grey-green gradient (not square, to catch H/W swaps)."""
    h, w = 40, 56
    yy, xx = np.mgrid[:h, :w]
    pixels = np.stack([xx * 4, yy * 5, np.full((h, w), 90)], -1).astype(np.uint8)
    pixels[(yy - 20) ** 2 + (xx - 30) ** 2 < 100] = (220, 30, 30)
    return pixels
