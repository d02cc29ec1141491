"""Side streams (ConceptAttention, open vocabulary) on Z-Image's single-stream main layers.

The side text enters as a caption (``cap_embedder``, padded to 32 with ``cap_pad_token`` for an
entry, ``context_refiner``), then in every main layer goes through the layer's own weights with
the caption's modulation and the caption positions (1 + i, 0, 0), attending to [the image's keys
(padded to 32); its own keys]. The same guarantees as on the double-stream families
(tests/daam/test_streams_more.py): the image is bitwise unchanged, and side tokens equal to the
prompt reproduce the caption's keys at every main layer and the prompt's own map.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import daam
from daam import streams
from tests.daam.side_keys import spy_side_keys
from tests.pipelines import load

PROMPT = "a giraffe and a zebra on a sofa"
# more than 32 tokens in Qwen3's chat template: a caption padded to 64, beside the empty negative's 32
LONG = "a wooden floor with a red carpet and a lamp beside a tall window in a quiet old house at dusk"
LAYERS = ["layers.0.attention", "layers.1.attention"]


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    from tests.dit_pipelines_more import build_z_image

    return load("ZImagePipeline", build_z_image(tmp_path_factory.mktemp("zimage-streams") / "zimage"))


def _kw(seed=0, **extra):
    kw = dict(num_inference_steps=2, output_type="np", height=32, width=32)
    kw["generator"] = torch.Generator().manual_seed(seed)
    kw.update(extra)
    return kw


def _padded(pipe, text):
    """The caption's length in the transformer's layout (its Qwen3 encoding padded to 32)."""
    (emb,), _ = pipe.encode_prompt(text, do_classifier_free_guidance=False)
    return len(emb) + (-len(emb)) % 32


def test_z_image_is_supported(pipe):
    assert "ZImagePipeline" in streams.supported_families()
    assert streams.supports(daam.adapters.adapter_for(pipe))


@pytest.mark.parametrize("prompt", [PROMPT, LONG])
def test_image_and_prompt_maps_bitwise_unchanged(pipe, prompt):
    """Both a caption as long as the empty negative's (no mask at the kernel) and a longer one
    (the CFG batch's rows differ in length: the kernel gets a key mask)."""
    ref = pipe(prompt=prompt, **_kw()).images
    with daam.trace(pipe) as tc:
        pipe(prompt=prompt, **_kw())
    plain = tc.results()[0]
    for space in ("output", "cross"):
        with daam.concept_attention(pipe, ["giraffe", "sofa", "sky"], space=space) as ca:
            out = pipe(prompt=prompt, **_kw()).images
        assert np.array_equal(ref, out)
        (maps,) = ca.results()
        assert maps.vocabulary_method == f"conceptattention-{space}"
        assert torch.equal(
            maps.word_map("wooden" if prompt is LONG else "zebra", source="prompt").raw,
            plain.word_map("wooden" if prompt is LONG else "zebra").raw,
        )
        sky = maps.word_map("sky")
        assert sky.soft.shape == (32, 32) and float(sky.soft.max()) == 1.0
        assert not torch.equal(sky.raw, maps.word_map("sofa", source="concepts").raw)
    with daam.trace(pipe, vocabulary=["hat", "wooden floor", LONG]) as tc:
        out = pipe(prompt=prompt, **_kw()).images
    assert np.array_equal(ref, out)
    maps = tc.results()[0]
    assert maps.vocabulary_method == "ovam-joint"
    assert maps.word_map("wooden floor").soft.shape == (32, 32)
    assert not torch.equal(maps.word_map("hat").raw, maps.word_map("wooden floor").raw)


@pytest.mark.parametrize("prompt", ["giraffe", LONG])
def test_side_tokens_equal_to_the_prompt_reproduce_its_caption(pipe, prompt, monkeypatch):
    """The caption attends to [image; itself], the side tokens to [image; their own]: with the
    prompt as the entry, every main layer's side keys are the caption's keys (modulation, q/k
    norms, rotary embedding at the caption's positions, after the image padded to 32), and the
    entry's map is the prompt's map. LONG: caption padded to 64, the kernel masks the negative's
    shorter row."""
    seen = spy_side_keys(monkeypatch, pipe)
    with daam.trace(pipe, vocabulary=[prompt], layers=LAYERS) as tc:
        pipe(prompt=prompt, **_kw())
    assert len(seen) == 2 * len(LAYERS)  # every main layer of both steps
    n = _padded(pipe, prompt)
    image = 64  # 32 x 32 pixels -> 16 x 16 latents -> 8 x 8 tokens, a multiple of 32 already
    for side_k, kernel_k, mask in seen:
        assert side_k.shape[2] == n and kernel_k.shape[0] == 2  # [positive; negative]
        assert (mask is not None) == (n > 32)
        assert torch.allclose(side_k, kernel_k[:1, :, image : image + n], rtol=1e-4, atol=1e-5)
    maps = tc.results()[0]
    words = prompt.split()  # the entry's map sums all its tokens: the prompt's maps of all its words
    prompt_map = sum(maps.word_map(w, words[:i].count(w), source="prompt").raw for i, w in enumerate(words))
    assert torch.allclose(maps.word_map(prompt, source="vocabulary").raw, prompt_map, rtol=1e-4, atol=1e-5)


def test_entries_padded_beside_longer_ones_are_masked(pipe):
    """Entries of different lengths are batched as the transformer batches captions (each padded to
    32 with the pad token, the rest masked): an entry's map does not depend on the others."""
    with daam.trace(pipe, vocabulary=["hat"]) as alone:
        pipe(prompt="a cat", **_kw())
    with daam.trace(pipe, vocabulary=["hat", LONG]) as padded:
        pipe(prompt="a cat", **_kw())
    a = alone.results()[0].word_map("hat").raw
    b = padded.results()[0].word_map("hat").raw
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_concept_maps_sum_to_one_per_layer_and_step(pipe):
    heads = pipe.transformer.config.n_heads
    for space, per in (("output", 1), ("cross", heads)):
        with daam.concept_attention(pipe, ["giraffe", "sofa", "sky"], space=space, layers=LAYERS) as ca:
            pipe(prompt=PROMPT, **_kw())
        (sums,) = ca.results()[0].vocabulary_sums.values()
        assert sums.shape[0] == 3
        total = sums.sum(0)
        assert torch.allclose(total, torch.full_like(total, per * len(LAYERS) * 2), rtol=1e-5)


def test_default_concept_layer(pipe):
    with daam.concept_attention(pipe, ["hat", "sofa"]) as ca:
        pipe(prompt=PROMPT, **_kw())
    assert ca._side.layers == frozenset(["layers.1.attention"])  # of 2 main layers, at the paper's relative depth
    assert list(ca.results()[0].vocabulary_sums) == [(8, 8)]


def test_each_row_of_a_batch_carries_its_own_side_stream(pipe):
    """A batch of captions of different lengths (padded to 64 and 32, the shorter rows masked by the
    kernel): with the prompts as entries, each image's entry map of its own prompt is its prompt map.
    (The tiny pipeline's images themselves differ between a batch and single calls, so a batch is
    checked against itself.)"""
    prompts = (LONG, "giraffe")
    gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
    with daam.trace(pipe, vocabulary=prompts) as tc:
        pipe(prompt=list(prompts), **_kw(generator=gens))  # (the pipeline rewrites a prompt list in place)
    for i, prompt in enumerate(prompts):
        maps = tc.results()[i]
        words = prompt.split()
        prompt_map = sum(maps.word_map(w, words[:j].count(w), source="prompt").raw for j, w in enumerate(words))
        assert torch.allclose(maps.word_map(prompt, source="vocabulary").raw, prompt_map, rtol=1e-4, atol=1e-5)
        other = maps.word_map(prompts[1 - i], source="vocabulary").raw
        assert not torch.allclose(other, prompt_map, rtol=1e-2, atol=1e-3)


def test_attribute_with_concepts_and_vocabulary(pipe):
    """On a real image (Z-Image's img2img pipeline, denoise mode)."""
    image = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    kw = dict(strength=0.75, steps=4, seed=1)
    maps = daam.attribute(pipe, image, "a dog", ["dog", "grass"], concepts=["dog", "grass"], **kw)
    assert maps.vocabulary_method == "conceptattention-output" and maps.n_steps == 3
    assert maps.word_map("grass").soft.shape == (32, 32)
    vocab = daam.attribute(pipe, image, "a dog", ["hat"], vocabulary=["hat"], **kw)
    assert vocab.vocabulary_method == "ovam-joint" and vocab.word_map("hat").soft.shape == (32, 32)
