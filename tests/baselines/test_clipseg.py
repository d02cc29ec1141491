import numpy as np
import pytest
import torch
import torch.nn.functional as F

from baselines import BaselineError, load_baseline


@pytest.fixture(scope="module")
def clipseg(clipseg_path):
    return load_baseline("clipseg", model=str(clipseg_path))


def test_output_contract(clipseg, image):
    out = clipseg.predict(image, "a dog next to a cat", ["dog", "cat", "dog"])
    assert out.kind == "soft" and out.words == ["dog", "cat"] and out.size == (40, 56)
    for soft in out.maps.values():
        assert soft.dtype == np.float32 and soft.shape == (40, 56)
        assert soft.min() == 0.0 and soft.max() == 1.0  # min-max normalised, like DAAM
    assert not np.array_equal(out.maps["dog"], out.maps["cat"])  # each word is its own text query
    assert out.details["model"] == clipseg.model_name and out.details["normalise"] is True


def test_maps_are_the_models_sigmoid_upscaled(clipseg, image):
    """Independent path: the model called directly, one word at a time."""
    raw = load_baseline("clipseg", model=clipseg.model_name, normalise=False).predict(image, "p", ["dog", "cat"])
    for word in ("dog", "cat"):
        inputs = clipseg.processor(text=[word], images=[image], return_tensors="pt")
        with torch.no_grad():
            logits = clipseg.model(**inputs).logits.reshape(1, 1, 32, 32)
        expected = F.interpolate(logits.sigmoid(), size=(40, 56), mode="bilinear", align_corners=False)[0, 0]
        np.testing.assert_allclose(raw.maps[word], expected.numpy(), atol=1e-5)
        lo, hi = expected.min(), expected.max()
        normalised = clipseg.predict(image, "p", [word]).maps[word]
        np.testing.assert_allclose(normalised, ((expected - lo) / (hi - lo)).numpy(), atol=1e-5)


def test_chunked_batches_give_the_same_maps(clipseg, image):
    words = ["dog", "cat", "tree"]
    one_by_one = load_baseline("clipseg", model=clipseg.model_name, max_batch=1).predict(image, "p", words)
    together = clipseg.predict(image, "p", words)
    for word in words:
        np.testing.assert_allclose(one_by_one.maps[word], together.maps[word], atol=1e-5)


def test_template_changes_the_query(clipseg, image):
    templated = load_baseline("clipseg", model=clipseg.model_name, template="a photo of a {}.")
    plain = clipseg.predict(image, "p", ["dog"]).maps["dog"]
    assert not np.allclose(templated.predict(image, "p", ["dog"]).maps["dog"], plain)
    with pytest.raises(BaselineError, match="template"):
        load_baseline("clipseg", model=clipseg.model_name, template="a photo")


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(BaselineError, match="cannot load the CLIPSeg processor"):
        load_baseline("clipseg", model=str(tmp_path))
