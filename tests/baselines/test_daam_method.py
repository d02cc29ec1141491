import numpy as np
import pytest
import torch

import daam
from baselines import BaselineError, load_baseline

PROMPT = "a dog and a cat"


@pytest.fixture(scope="module")
def traced(sd_path, tmp_path_factory):
    from tests.pipelines import load

    pipe = load("StableDiffusionPipeline", sd_path)
    with daam.trace(pipe) as tc:
        out = pipe(
            PROMPT,
            num_inference_steps=2,
            height=64,
            width=64,
            output_type="np",
            generator=torch.Generator().manual_seed(0),
        )
    image = (out.images[0] * 255).round().astype(np.uint8)
    maps = tc.results()[0]
    return image, maps, maps.save(tmp_path_factory.mktemp("maps") / "1.safetensors")


def test_daam_is_one_method_like_the_others(traced):
    image, maps, path = traced
    out = load_baseline("daam", maps=path).predict(image, PROMPT, ["dog", "cat"])
    assert out.kind == "soft" and out.words == ["dog", "cat"] and out.size == (64, 64) and out.unsupported == ()
    for word in ("dog", "cat"):
        assert out.maps[word].dtype == np.float32
        np.testing.assert_array_equal(out.maps[word], maps.word_map(word).soft.numpy())
    in_memory = load_baseline("daam", maps=maps).predict(image, PROMPT, ["dog"])
    np.testing.assert_array_equal(in_memory.maps["dog"], out.maps["dog"])


def test_maps_of_another_generation_are_refused(traced, tmp_path):
    image, maps, path = traced
    baseline = load_baseline("daam", maps=path)
    with pytest.raises(BaselineError, match="differs from the traced prompt"):
        baseline.predict(image, "a dog and a bird", ["dog"])
    with pytest.raises(BaselineError, match="image is 32x64"):
        baseline.predict(image[:32], PROMPT, ["dog"])
    with pytest.raises(BaselineError, match="no map for 'bird'"):
        baseline.predict(image, PROMPT, ["bird"])
    with pytest.raises(BaselineError, match="no DAAM maps file"):
        load_baseline("daam", maps=tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(BaselineError, match="not a DAAM maps file"):
        load_baseline("daam", maps=tmp_path / "junk.safetensors")
