"""Open-vocabulary maps (OVAM): words not in the prompt, from their own text encoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import daam


def _run(pipe, vocabulary=None, prompt="a dog on a sofa", **trace_kw):
    kw = dict(num_inference_steps=3, output_type="np", generator=torch.Generator().manual_seed(0))
    if vocabulary is None and not trace_kw:
        return pipe(prompt, **kw).images, None
    with daam.trace(pipe, vocabulary=vocabulary, **trace_kw) as tc:
        out = pipe(prompt, **kw).images
    return out, tc.results()[0]


def test_image_bitwise_unchanged_and_prompt_maps_too(sd_pipe):
    ref, _ = _run(sd_pipe)
    plain, maps0 = _run(sd_pipe, keep_steps=False)
    out, maps = _run(sd_pipe, ["hat", "wooden floor"])
    assert np.array_equal(ref, out) and np.array_equal(ref, plain)
    assert torch.equal(maps.word_map("dog").raw, maps0.word_map("dog").raw)
    hat = maps.word_map("hat")
    assert hat.word == "hat" and hat.soft.shape == maps.word_map("dog").soft.shape
    assert float(hat.soft.max()) == 1.0
    assert maps.word_map("Wooden  Floor").word == "wooden floor"
    assert not torch.equal(maps.word_map("hat").raw, maps.word_map("wooden floor").raw)
    with pytest.raises(daam.WordNotFoundError):
        maps.word_map("cat")
    with pytest.raises(daam.WordNotFoundError):
        maps.word_map("dog", source="vocabulary")


def test_an_entry_equal_to_the_prompt_gives_the_prompts_map(sd_pipe):
    # the entry's own encoding is the prompt's: same keys, same softmax, same token columns
    _, maps = _run(sd_pipe, ["dog"], prompt="dog")
    with pytest.raises(ValueError, match="source="):
        maps.word_map("dog")
    prompt_map = maps.word_map("dog", source="prompt").raw
    vocab_map = maps.word_map("dog", source="vocabulary").raw
    assert torch.allclose(prompt_map, vocab_map, rtol=1e-5, atol=1e-6)
    # several words: the entry's map is the prompt's map summed over all its word tokens
    _, maps = _run(sd_pipe, ["a red dog"], prompt="a red dog")
    cols = sorted({c for w in maps.prompt_words() for c in w.tokens})
    assert cols == [1, 2, 3]  # CLIP: after the start token, the end token excluded
    vocab_map = maps.word_map("a red dog", source="vocabulary").raw
    assert torch.allclose(maps.word_map(cols).raw, vocab_map, rtol=1e-5, atol=1e-6)


def test_vocabulary_with_heads_and_attribute_and_save_load(sd_pipe, tmp_path):
    image = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    for mode in ("denoise", "probe"):
        maps = daam.attribute(sd_pipe, image, "a dog", ["dog", "hat"], mode=mode, steps=2, vocabulary=["hat"])
        assert maps.word_map("hat").soft.shape == (64, 64)
    path = maps.save(tmp_path / "m.safetensors")
    back = daam.load(path)
    assert back.vocabulary == ("hat",)
    assert torch.equal(back.word_map("hat").raw, maps.word_map("hat").raw)
    _, one_head = _run(sd_pipe, ["hat"], heads=[0])
    assert one_head.word_map("hat").soft.shape == (64, 64)
    with pytest.raises(ValueError, match="detail"):
        one_head.word_map("hat", steps=[0])


def test_sdxl_vocabulary(sdxl_path):
    from tests.pipelines import load

    pipe = load("StableDiffusionXLPipeline", sdxl_path)
    ref, _ = _run(pipe)
    out, maps = _run(pipe, ["hat"])
    assert np.array_equal(ref, out)
    assert maps.word_map("hat").soft.shape == maps.word_map("dog").soft.shape
