"""ConceptAttention as two registered generation-time methods (output space and cross-attention)."""

import numpy as np
import pytest
import torch

import daam
from baselines import BaselineError, load_baseline
from baselines.concept_attention import concepts_for
from core.registry import BASELINES

PROMPT = "a giraffe on a sofa"
KW = dict(num_inference_steps=2, height=64, width=64, max_sequence_length=32)


@pytest.fixture(scope="module")
def flux(dit_paths):
    from tests.pipelines import load

    return load("FluxPipeline", dit_paths["flux"])


def test_both_spaces_are_registered_generation_methods():
    for name, space in (("conceptattention", "output"), ("conceptattention-cross", "cross")):
        cls = BASELINES.get(name)
        assert (cls.kind, cls.stage, cls.reads_stored_maps, cls.space) == ("soft", "generation", True, space)
    assert concepts_for(["Giraffe", "sofa", "background"]) == ["Giraffe", "sofa", "background"]
    assert concepts_for(["sofa"], background=["sky", "Sofa"]) == ["sofa", "sky"]


@pytest.mark.parametrize("name", ["conceptattention", "conceptattention-cross"])
def test_tracer_then_predict_reads_the_concept_maps(flux, name, tmp_path):
    cls = BASELINES.get(name)
    with pytest.raises(BaselineError, match="concepts="):
        cls.tracer(flux)
    with cls.tracer(flux, concepts=["giraffe", "sofa"]) as tc:
        out = flux(PROMPT, output_type="np", generator=torch.Generator().manual_seed(0), **KW)
    image = (out.images[0] * 255).round().astype(np.uint8)
    maps = tc.results()[0]
    assert maps.vocabulary == ("giraffe", "sofa", "background")
    path = maps.save(tmp_path / "m.safetensors")
    result = load_baseline(name, maps=path).predict(image, PROMPT, ["giraffe", "sofa"])
    assert result.kind == "soft" and result.words == ["giraffe", "sofa"] and result.size == (64, 64)
    np.testing.assert_array_equal(result.maps["sofa"], maps.word_map("sofa", source="concepts").soft.numpy())
    with pytest.raises(BaselineError, match="no concept 'zebra'"):
        load_baseline(name, maps=path).predict(image, PROMPT, ["zebra"])
    other = "conceptattention-cross" if name == "conceptattention" else "conceptattention"
    with pytest.raises(BaselineError, match="not conceptattention"):
        load_baseline(other, maps=path).predict(image, PROMPT, ["sofa"])


def test_attribute_takes_the_words_as_concepts(flux):
    image = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    cls = BASELINES.get("conceptattention")
    settings = dict(strength=0.75, steps=4, seed=1, pipeline_kwargs={"max_sequence_length": 32})
    maps = cls.attribute(flux, image, PROMPT, ["giraffe"], background=["sky", "grass"], **settings)
    assert maps.vocabulary == ("giraffe", "sky", "grass")
    direct = daam.attribute(flux, image, PROMPT, concepts=["giraffe", "sky", "grass"], **settings)
    assert maps.vocabulary_sums and all(
        torch.equal(t, direct.vocabulary_sums[r]) for r, t in maps.vocabulary_sums.items()
    )
    out = cls(maps=maps).predict(image, PROMPT, ["giraffe"])
    assert out.maps["giraffe"].shape == (64, 64)
