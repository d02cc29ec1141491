import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmark.metrics.masks import as_mask, as_soft, binarize, resize_labels, resize_mask, resize_soft


def test_as_mask_accepts_numpy_and_torch_bool():
    arr = np.array([[True, False], [False, True]])
    assert as_mask(arr) is arr
    out = as_mask(torch.from_numpy(arr))
    assert isinstance(out, np.ndarray) and out.dtype == np.bool_
    np.testing.assert_array_equal(out, arr)


def test_as_mask_refuses_non_bool_and_non_arrays():
    with pytest.raises(TypeError, match="binarize"):
        as_mask(np.ones((2, 2), np.uint8))
    with pytest.raises(TypeError, match="numpy array or a torch tensor"):
        as_mask([[True]])
    with pytest.raises(ValueError, match="2-D"):
        as_mask(np.ones(3, bool))


def test_as_soft_checks_range():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        as_soft(np.full((2, 2), 1.5, np.float32))
    with pytest.raises(TypeError, match="floating"):
        as_soft(np.ones((2, 2), np.int64))


def test_binarize_is_inclusive_and_matches_daam_word_map():
    from daam.maps import WordMap

    soft = torch.rand(32, 32, generator=torch.Generator().manual_seed(0))
    soft[0, 0] = 0.4  # exactly at the threshold: the paper's I(D >= tau) includes it
    soft[0, 1] = 0.7  # float32(0.7) < 0.7 in float64: the comparison must stay in float32
    wm = WordMap("dog", (1,), soft, soft)
    for tau in (0.0, 0.3, 0.4, 0.5, 0.7, 1.0):
        np.testing.assert_array_equal(binarize(soft, tau), wm.mask(tau).numpy())
        np.testing.assert_array_equal(binarize(soft.numpy(), np.float64(tau)), wm.mask(tau).numpy())
    assert binarize(soft, 0.4)[0, 0] and binarize(soft, 0.7)[0, 1]
    with pytest.raises(ValueError, match="tau"):
        binarize(soft, 1.2)


@pytest.mark.parametrize("src,dst", [((8, 8), (16, 16)), ((16, 12), (8, 6)), ((7, 5), (13, 11)), ((10, 10), (3, 4))])
def test_resize_mask_matches_torch_nearest_exact(src, dst):
    mask = np.random.default_rng(1).random(src) < 0.4
    expected = F.interpolate(torch.from_numpy(mask).float()[None, None], size=dst, mode="nearest-exact")[0, 0] > 0.5
    np.testing.assert_array_equal(resize_mask(mask, dst), expected.numpy())


def test_resize_mask_same_size_and_batched():
    masks = np.random.default_rng(2).random((3, 6, 6)) < 0.5
    np.testing.assert_array_equal(resize_mask(masks, (6, 6)), masks)
    assert resize_mask(masks, (12, 3)).shape == (3, 12, 3)
    with pytest.raises(ValueError, match="positive"):
        resize_mask(masks, (0, 3))


def test_resize_soft_bilinear_is_exact_on_a_ramp():
    # Bilinear interpolation reproduces a linear function; half-pixel centres, clamped at edges.
    w_in, w_out = 4, 8
    ramp = np.tile(np.arange(w_in, dtype=np.float32) / (w_in - 1), (3, 1))
    src = np.clip((np.arange(w_out) + 0.5) * w_in / w_out - 0.5, 0, w_in - 1)
    expected = np.tile(src / (w_in - 1), (3, 1))
    np.testing.assert_allclose(resize_soft(ramp, (3, w_out)), expected, atol=1e-6)


def test_resize_soft_bicubic_stays_in_unit_range():
    step = np.zeros((8, 8), np.float32)
    step[:, 4:] = 1.0
    out = resize_soft(torch.from_numpy(step), (32, 32), mode="bicubic")
    assert out.dtype == np.float32 and out.shape == (32, 32)
    assert out.min() >= 0.0 and out.max() <= 1.0
    with pytest.raises(ValueError, match="mode"):
        resize_soft(step, (4, 4), mode="nearest")


def test_resize_labels_keeps_ids():
    labels = np.arange(16).reshape(4, 4) * 3
    up = resize_labels(torch.from_numpy(labels), (8, 8))
    assert up.dtype == labels.dtype and set(np.unique(up)) == set(np.unique(labels))
    np.testing.assert_array_equal(resize_labels(up, (4, 4)), labels)
    with pytest.raises(ValueError, match="integer"):
        resize_labels(labels.astype(float), (2, 2))
