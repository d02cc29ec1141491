import numpy as np
import pytest
import torch

import daam
from baselines import BaselineError, load_baseline
from baselines.daam_vocabulary import DAAMVocabularyBaseline
from core.registry import BASELINES

PROMPT = "a dog and a cat"
VOCABULARY = ["dog", "hat", "wooden floor"]


@pytest.fixture(scope="module")
def traced(sd_path, tmp_path_factory):
    from tests.pipelines import load

    pipe = load("StableDiffusionPipeline", sd_path)
    with DAAMVocabularyBaseline.tracer(pipe, vocabulary=VOCABULARY) as tc:
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
    return image, maps, maps.save(tmp_path_factory.mktemp("vocab-maps") / "1.safetensors")


def test_registered_as_a_generation_method():
    cls = BASELINES.get("daam-vocabulary")
    assert cls is DAAMVocabularyBaseline
    assert (cls.kind, cls.stage, cls.reads_stored_maps) == ("soft", "generation", True)
    assert cls.title == "DAAM + vocabulary (OVAM)"


def test_words_in_and_out_of_the_prompt_get_their_vocabulary_maps(traced):
    image, maps, path = traced
    out = load_baseline("daam-vocabulary", maps=path).predict(image, PROMPT, ["dog", "hat", "Wooden Floor"])
    assert out.kind == "soft" and out.words == ["dog", "hat", "Wooden Floor"] and out.size == (64, 64)
    assert out.unsupported == () and out.details["vocabulary"] == VOCABULARY
    for word in out.words:  # a word of the prompt means its own encoding's map, not its token's
        np.testing.assert_array_equal(out.maps[word], maps.word_map(word, source="vocabulary").soft.numpy())
    assert not np.array_equal(out.maps["dog"], maps.word_map("dog", source="prompt").soft.numpy())
    in_memory = load_baseline("daam-vocabulary", maps=maps).predict(image, PROMPT, ["hat"])
    np.testing.assert_array_equal(in_memory.maps["hat"], out.maps["hat"])


def test_bad_input_is_refused(traced, sd_pipe, tmp_path):
    image, maps, path = traced
    baseline = load_baseline("daam-vocabulary", maps=path)
    with pytest.raises(BaselineError, match=r"no map for 'cat'.*not in the vocabulary"):
        baseline.predict(image, PROMPT, ["cat"])  # in the prompt, not in the vocabulary
    with pytest.raises(BaselineError, match="differs from the traced prompt"):
        baseline.predict(image, "a dog", ["dog"])
    with daam.trace(sd_pipe) as tc:
        sd_pipe("a dog", num_inference_steps=1, height=64, width=64, output_type="np")
    plain = tc.results()[0].save(tmp_path / "plain.safetensors")
    with pytest.raises(BaselineError, match="plain.safetensors hold none"):
        load_baseline("daam-vocabulary", maps=plain)
    with pytest.raises(BaselineError, match="vocabulary=\\[...\\]"):
        DAAMVocabularyBaseline.tracer(sd_pipe)
    with pytest.raises(BaselineError, match="got 'hat'"):
        DAAMVocabularyBaseline.tracer(sd_pipe, vocabulary="hat")
    with pytest.raises(BaselineError, match="extra_vocabulary="):
        DAAMVocabularyBaseline.attribute(sd_pipe, image, "a dog", ["dog"], vocabulary=["hat"])


def test_attribute_a_real_image(sd_pipe, tmp_path):
    image = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    maps = DAAMVocabularyBaseline.attribute(
        sd_pipe, image, "a dog", ["dog", "hat"], extra_vocabulary=["cat"], steps=2, strength=1.0
    )
    assert maps.vocabulary == ("dog", "hat", "cat")
    out = load_baseline("daam-vocabulary", maps=maps.save(tmp_path / "m.safetensors")).predict(
        image, "a dog", ["hat", "dog", "cat"]
    )
    assert out.size == (64, 64) and all(float(m.max()) == 1.0 for m in out.maps.values())
