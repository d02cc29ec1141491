"""Side streams through joint DiT blocks: ConceptAttention and open vocabulary on SD3/SD3.5/FLUX.1
(Chroma, Qwen-Image, FLUX.2: tests/daam/test_streams_more.py).

The side stream must leave the generation alone (image and prompt maps bitwise unchanged), and
it must be the block's own text stream: side tokens equal to the prompt's own encoding reproduce
the prompt's text keys at every joint block, and the entry's map equals the prompt's DAAM map.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import daam
from daam import streams
from tests.daam.side_keys import spy_side_keys
from tests.pipelines import load

FAMILIES = {
    "sd3": ("StableDiffusion3Pipeline", {}),
    "sd35": ("StableDiffusion3Pipeline", {}),
    "flux": ("FluxPipeline", {"max_sequence_length": 32}),
}
PROMPT = "a giraffe and a zebra on a sofa"


@pytest.fixture(scope="module")
def pipes(dit_paths):
    return {name: load(cls, dit_paths[name]) for name, (cls, _) in FAMILIES.items()}


def _kw(family, seed=0, **extra):
    kw = dict(num_inference_steps=2, height=64, width=64, output_type="np")
    kw.update(FAMILIES[family][1])
    kw["generator"] = torch.Generator().manual_seed(seed)
    kw.update(extra)
    return kw


def _joint(pipe):
    return [n for n, kind in daam.attention_layers(pipe).items() if kind == "joint"]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_image_and_prompt_maps_bitwise_unchanged(pipes, family):
    pipe = pipes[family]
    ref = pipe(PROMPT, **_kw(family)).images
    with daam.trace(pipe) as tc:
        pipe(PROMPT, **_kw(family))
    plain = tc.results()[0]
    for space in ("output", "cross"):
        with daam.concept_attention(pipe, ["giraffe", "sofa", "sky"], space=space) as ca:
            out = pipe(PROMPT, **_kw(family)).images
        assert np.array_equal(ref, out)
        (maps,) = ca.results()
        assert maps.vocabulary == ("giraffe", "sofa", "sky")
        assert maps.vocabulary_method == f"conceptattention-{space}"
        for w in ("giraffe", "zebra"):
            assert torch.equal(maps.word_map(w, source="prompt").raw, plain.word_map(w).raw)
        sky = maps.word_map("sky")
        assert sky.soft.shape == (64, 64) and float(sky.soft.max()) == 1.0
        assert not torch.equal(sky.raw, maps.word_map("sofa", source="concepts").raw)
        with pytest.raises(ValueError, match="source="):
            maps.word_map("giraffe")
    with daam.trace(pipe, vocabulary=["hat", "wooden floor"]) as tc:
        out = pipe(PROMPT, **_kw(family)).images
    assert np.array_equal(ref, out)
    maps = tc.results()[0]
    assert maps.vocabulary_method == "ovam-joint"
    assert torch.equal(maps.word_map("zebra").raw, plain.word_map("zebra").raw)
    assert maps.word_map("wooden floor").soft.shape == (64, 64)
    assert not torch.equal(maps.word_map("hat").raw, maps.word_map("wooden floor").raw)
    with pytest.raises(daam.WordNotFoundError, match="ConceptAttention"):
        maps.word_map("hat", source="concepts")


@pytest.mark.parametrize("family", list(FAMILIES))
def test_side_tokens_equal_to_the_prompt_reproduce_its_text_stream(pipes, family, monkeypatch):
    """The prompt's text attends to [image; itself], as side tokens attend to [image; their own]:
    with the prompt as the entry, every joint block's side keys are the prompt's text keys."""
    pipe = pipes[family]
    prompt = "giraffe"
    joint = _joint(pipe)
    seen = spy_side_keys(monkeypatch, pipe)
    with daam.trace(pipe, vocabulary=[prompt], layers=joint) as tc:
        pipe(prompt, **_kw(family))
    assert len(seen) == 2 * len(joint)  # every joint block of both steps
    rows = slice(1, 2) if family != "flux" else slice(0, 1)  # SD3 guides: [uncond; cond]
    for side_k, kernel_k, _ in seen:
        n = side_k.shape[2]
        text_k = kernel_k[rows, :, :n] if family == "flux" else kernel_k[rows, :, -n:]
        assert torch.allclose(side_k, text_k, rtol=1e-4, atol=1e-5)
    maps = tc.results()[0]
    prompt_map = maps.word_map(prompt, source="prompt").raw
    assert torch.allclose(maps.word_map(prompt, source="vocabulary").raw, prompt_map, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("family", ["sd3", "flux"])
def test_concept_maps_sum_to_one_per_layer_and_step(pipes, family):
    pipe = pipes[family]
    joint = _joint(pipe)
    heads = pipe.transformer.config.num_attention_heads
    for space, per in (("output", 1), ("cross", heads)):
        with daam.concept_attention(pipe, ["giraffe", "sofa", "sky"], space=space, layers=joint) as ca:
            pipe(PROMPT, **_kw(family))
        (sums,) = ca.results()[0].vocabulary_sums.values()
        assert sums.shape[0] == 3
        total = sums.sum(0)
        assert torch.allclose(total, torch.full_like(total, per * len(joint) * 2), rtol=1e-5)
    with daam.concept_attention(pipe, ["sky", "sofa"], layers=[0], steps=[1]) as ca:
        pipe(PROMPT, **_kw(family))
    (sums,) = ca.results()[0].vocabulary_sums.values()
    assert torch.allclose(sums.sum(0), torch.ones_like(sums[0]), rtol=1e-5)


@pytest.mark.parametrize("family", ["sd3", "flux"])
def test_a_batch_equals_single_prompts(pipes, family):
    pipe = pipes[family]
    prompts = ["a giraffe on a sofa", "a zebra"]
    vocab = ["hat", "sofa"]
    gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
    with daam.trace(pipe, vocabulary=vocab) as tc:
        pipe(prompts, **_kw(family, generator=gens))
    gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
    with daam.concept_attention(pipe, vocab) as ca:
        pipe(prompts, **_kw(family, generator=gens))
    for i, p in enumerate(prompts):
        with daam.trace(pipe, vocabulary=vocab) as one:
            pipe(p, **_kw(family, seed=i + 1))
        with daam.concept_attention(pipe, vocab) as one_ca:
            pipe(p, **_kw(family, seed=i + 1))
        for batch, single in ((tc, one), (ca, one_ca)):
            for w in vocab:
                a = batch.results()[i].word_map(w, source="vocabulary").raw
                b = single.results()[0].word_map(w, source="vocabulary").raw
                assert torch.allclose(a, b, rtol=1e-4, atol=1e-5), (i, w)


def test_save_load_and_default_layers(pipes, tmp_path):
    pipe = pipes["flux"]
    with daam.concept_attention(pipe, ["sky", "giraffe"], space="cross") as ca:
        pipe(PROMPT, **_kw("flux"))
    maps = ca.results()[0]
    back = daam.load(maps.save(tmp_path / "m.safetensors"))
    assert back.vocabulary == ("sky", "giraffe") and back.vocabulary_method == "conceptattention-cross"
    assert torch.equal(back.word_map("giraffe", source="concepts").raw, maps.word_map("giraffe", source="concepts").raw)
    assert torch.equal(back.word_map("giraffe", source="prompt").raw, maps.word_map("giraffe", source="prompt").raw)
    assert streams.default_concept_layers(19) == list(range(10, 18))  # the paper's FLUX.1 layers
    assert streams.default_concept_layers(24) == list(range(12, 22))
    assert streams.default_concept_layers(2) == [1]
    assert ca._side.layers == {"transformer_blocks.1.attn"}
    # heads= selects heads of the entries' maps too: the two heads' maps add up to the whole
    parts = []
    for heads in ([0], [1], None):
        with daam.trace(pipe, vocabulary=["hat"], heads=heads, steps=[1]) as tc:
            pipe(PROMPT, **_kw("flux"))
        parts.append(tc.results()[0].word_map("hat").raw)
    assert not torch.allclose(parts[0], parts[1])
    assert torch.allclose(parts[0] + parts[1], parts[2], rtol=1e-5, atol=1e-6)


def test_bad_requests_are_refused_clearly(pipes, dit_paths):
    pipe = pipes["flux"]
    with pytest.raises(daam.TraceError, match="not a joint"):
        daam.concept_attention(pipe, ["sky"], layers=["single_transformer_blocks.0.attn"])
    with pytest.raises(daam.TraceError, match="joint block 5"):
        daam.concept_attention(pipe, ["sky"], layers=[5])
    with pytest.raises(ValueError, match="space"):
        daam.concept_attention(pipe, ["sky"], space="value")
    with pytest.raises(ValueError, match="at least one"):
        daam.concept_attention(pipe, [])
    with pytest.raises(TypeError, match="vocabulary"):
        daam.concept_attention(pipe, ["sky"], vocabulary=["hat"])
    pixart = load("PixArtSigmaPipeline", dit_paths["pixart"])  # cross-attention: no joint blocks
    with pytest.raises(NotImplementedError, match="FluxPipeline.*StableDiffusion3Pipeline.*not PixArtSigmaPipeline"):
        daam.concept_attention(pixart, ["sky"])
    with pytest.raises(daam.TraceError):
        with daam.concept_attention(pipe, ["sky"]):
            raise daam.TraceError("boom")  # restored after an exception
    ref = pipe(PROMPT, **_kw("flux")).images
    with daam.trace(pipe) as tc:
        out = pipe(PROMPT, **_kw("flux")).images
    assert np.array_equal(ref, out) and tc.results()


@pytest.mark.parametrize("family", ["sd3", "flux"])
def test_attribute_with_concepts_and_vocabulary(pipes, family):
    pipe = pipes[family]
    image = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    kw = dict(strength=0.75, steps=4, seed=1, pipeline_kwargs=FAMILIES[family][1])
    maps = daam.attribute(pipe, image, "a dog", ["dog", "grass"], concepts=["dog", "grass"], **kw)
    assert maps.vocabulary_method == "conceptattention-output" and maps.n_steps == 3
    assert maps.word_map("grass").soft.shape == (64, 64)
    again = daam.attribute(pipe, image, "a dog", concepts=["dog", "grass"], **kw)
    assert torch.equal(again.word_map("dog", source="concepts").raw, maps.word_map("dog", source="concepts").raw)
    cross = daam.attribute(pipe, image, "a dog", concepts=["dog", "grass"], concept_space="cross", **kw)
    assert cross.vocabulary_method == "conceptattention-cross"
    vocab = daam.attribute(pipe, image, "a dog", ["hat"], vocabulary=["hat"], **kw)
    assert vocab.vocabulary_method == "ovam-joint" and vocab.word_map("hat").soft.shape == (64, 64)
    with pytest.raises(ValueError, match="not both"):
        daam.attribute(pipe, image, "a dog", concepts=["dog"], vocabulary=["hat"], **kw)


def test_sd3_skip_layer_guidance_passes_are_not_steps(pipes):
    """SD3's skip-layer guidance runs the conditional prompt again with blocks left out: that pass is
    not a step of the trajectory, so neither the prompt's nor the concepts' maps take it in."""
    pipe = pipes["sd35"]
    kw = _kw("sd35", num_inference_steps=3, guidance_scale=5.0)
    with daam.trace(pipe) as plain:
        pipe(PROMPT, **kw)

    def skip():
        return _kw(
            "sd35", num_inference_steps=3, guidance_scale=5.0, skip_guidance_layers=[0], skip_layer_guidance_start=0.0
        )

    with daam.concept_attention(pipe, ["giraffe", "sky"]) as ca:
        pipe(PROMPT, **skip())
    maps = ca.results()[0]
    assert maps.n_steps == plain.results()[0].n_steps == 3
    # the prompt's maps are those of the trajectory's own passes (skip-layer guidance changes the
    # latents only through the guided prediction, so the first step's maps agree exactly)
    with daam.trace(pipe, steps=[0]) as first_plain:
        pipe(PROMPT, **_kw("sd35", num_inference_steps=3, guidance_scale=5.0))
    with daam.trace(pipe, steps=[0]) as first_skip:
        pipe(PROMPT, **skip())
    assert torch.equal(first_plain.results()[0].word_map("zebra").raw, first_skip.results()[0].word_map("zebra").raw)
