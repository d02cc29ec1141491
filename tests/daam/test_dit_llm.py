"""daam.trace on DiTs with LLM text encoders: Qwen-Image, FLUX.2 [dev] and [klein], Sana, Z-Image.

Their prompts reach the encoder inside a template (Qwen-Image's system prompt, a chat template,
Sana's complex human instruction): words must be the user's words, template tokens belong to no
word, and maps must still equal a direct computation from what the attention kernel received.
Tiny pipelines from ``tests/dit_pipelines_more.py``, saved and reloaded from their folders.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import daam
from tests.daam.test_dit import _gen, _record_kernel_inputs
from tests.pipelines import load

FAMILIES = {  # builder, pipeline class, image size, layers checked against a direct computation
    "qwen": ("build_qwen_image", "QwenImagePipeline", 32, ["transformer_blocks.0.attn"]),
    "flux2": ("build_flux2", "Flux2Pipeline", 8, ["transformer_blocks.0.attn", "single_transformer_blocks.0.attn"]),
    "klein": ("build_flux2_klein", "Flux2KleinPipeline", 8, ["transformer_blocks.0.attn"]),
    "sana": ("build_sana", "SanaPipeline", 32, ["transformer_blocks.0.attn2"]),
    "zimage": ("build_z_image", "ZImagePipeline", 32, ["layers.0.attention", "layers.1.attention"]),
}


@pytest.fixture(scope="session")
def llm_dit_paths(tmp_path_factory):
    import tests.dit_pipelines_more as b

    root = tmp_path_factory.mktemp("llm-dit")
    return {name: getattr(b, spec[0])(root / name) for name, spec in FAMILIES.items()}


@pytest.fixture(scope="session")
def llm_pipes(llm_dit_paths):
    return {name: load(FAMILIES[name][1], path) for name, path in llm_dit_paths.items()}


def _kw(family, **extra):
    size = FAMILIES[family][2]
    return {"num_inference_steps": 2, "height": size, "width": size, "output_type": "np", **extra}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_image_unchanged_and_words_are_the_users(llm_pipes, family):
    pipe = llm_pipes[family]
    prompt = "a Giraffe and a zebra on a sofa"
    ref = pipe(prompt=prompt, generator=_gen(0), **_kw(family)).images
    with daam.trace(pipe) as tc:
        out = pipe(prompt=prompt, generator=_gen(0), **_kw(family)).images
    assert np.array_equal(ref, out)
    (r,) = tc.results()
    assert r.words == ["a", "Giraffe", "and", "a", "zebra", "on", "a", "sofa"]
    (seg,) = r.segments
    # only the prompt's own tokens are kept: none from the template (system prompt, chat markers,
    # instruction); together they cover the prompt from its first character to its last
    spans = seg.tokens.token_spans
    assert all(0 <= s < e <= len(prompt) for s, e in spans)
    assert min(s for s, _ in spans) == 0 and max(e for _, e in spans) == len(prompt)
    assert r.word_map("giraffe").soft.shape == (FAMILIES[family][2],) * 2
    assert r.word_map("a", occurrence=2).token_indices != r.word_map("a").token_indices
    with pytest.raises(daam.WordNotFoundError, match="'Giraffe'"):
        r.word_map("hat")


@pytest.mark.parametrize("family", list(FAMILIES))
def test_maps_equal_a_direct_per_head_computation(llm_dit_paths, monkeypatch, family):
    pipe = load(FAMILIES[family][1], llm_dit_paths[family])
    seen = _record_kernel_inputs(monkeypatch, family, pipe)
    with daam.trace(pipe, keep_steps=True, keep_layers=True, keep_heads=True) as tc:
        pipe(prompt="a dog and a cat", generator=_gen(0), **_kw(family))
    r = tc.results()[0]
    seg = r.segments[0]
    cols = [seg.tokens.position + i for i in range(len(seg.tokens.token_ids))]
    n_img = int(np.prod(next(iter(r.sums))))
    cond = 1 if family == "sana" else 0  # Sana batches [negative; positive]; the others call separately
    for layer in FAMILIES[family][3]:
        calls = [x for x in seen if x[0] == layer]
        for step in range(2):
            _, q, k, mask = calls[step * (2 if family in ("qwen", "klein") and len(calls) > 2 else 1)]
            q, k = q[cond].float(), k[cond].float()
            scores = q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5
            if mask is not None:
                m = mask[cond] if mask.shape[0] > 1 else mask[0]
                scores = scores.masked_fill(~m, float("-inf")) if m.dtype == torch.bool else scores + m.float()
            probs = scores.softmax(-1)
            if family == "sana":
                block = probs[:, :, cols]
            elif family == "zimage":  # [image padded to 32; caption padded to 32]
                first_text = -(-n_img // 32) * 32
                block = probs[:, :n_img][:, :, [first_text + c for c in cols]]
            else:  # [text; image]
                t = k.shape[1] - n_img
                block = probs[:, t : t + n_img][:, :, cols]
            traced = r.detail[(step, layer)]
            torch.testing.assert_close(traced, block.transpose(-1, -2).reshape(traced.shape), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "family, kw",
    [
        ("qwen", {"negative_prompt": "a cat", "true_cfg_scale": 2.0}),
        ("klein", {"guidance_scale": 4.0}),
    ],
)
def test_separate_negative_calls_are_not_traced(llm_pipes, family, kw):
    pipe = llm_pipes[family]
    ref = pipe(prompt="a dog", generator=_gen(0), **_kw(family, **kw)).images
    with daam.trace(pipe, keep_steps=True) as tc:
        out = pipe(prompt="a dog", generator=_gen(0), **_kw(family, **kw)).images
    assert np.array_equal(ref, out)
    (r,) = tc.results()
    assert r.n_steps == 2 and r.prompt == "a dog"


def test_batch_equals_single_prompt(llm_pipes):
    pipe = llm_pipes["qwen"]
    with daam.trace(pipe) as tc:
        pipe(prompt=["a dog and a cat on a sofa", "a red car"], generator=[_gen(1), _gen(2)], **_kw("qwen"))
    with daam.trace(pipe) as single:
        pipe(prompt="a red car", generator=_gen(2), **_kw("qwen"))
    batch, alone = tc.results()[1], single.results()[0]
    for word in ("red", "car"):
        torch.testing.assert_close(batch.word_map(word).raw, alone.word_map(word).raw, atol=1e-4, rtol=1e-4)


def test_z_image_images_per_prompt(llm_pipes):
    pipe = llm_pipes["zimage"]
    ref = pipe(prompt=["a dog", "a red car"], num_images_per_prompt=2, generator=_gen(0), **_kw("zimage")).images
    with daam.trace(pipe) as tc:
        out = pipe(prompt=["a dog", "a red car"], num_images_per_prompt=2, generator=_gen(0), **_kw("zimage")).images
    assert np.array_equal(ref, out)
    assert [r.prompt for r in tc.results()] == ["a dog", "a dog", "a red car", "a red car"]
    assert [r.prompt_index for r in tc.results()] == [0, 0, 1, 1]


def test_sana_without_the_instruction(llm_pipes):
    pipe = llm_pipes["sana"]
    with daam.trace(pipe) as tc:
        pipe(prompt="a dog and a cat", complex_human_instruction=None, generator=_gen(0), **_kw("sana"))
    seg = tc.results()[0].segments[0]
    assert seg.tokens.position == 0 and seg.tokens.token_spans[0] == (0, 0)  # <bos>, as CLIP's start token
    assert tc.results()[0].words == ["a", "dog", "and", "a", "cat"]


@pytest.mark.parametrize(
    "family, variant",
    [
        ("qwen", "QwenImageImg2ImgPipeline"),
        ("qwen", "QwenImageInpaintPipeline"),
        ("zimage", "ZImageImg2ImgPipeline"),
        ("zimage", "ZImageInpaintPipeline"),
    ],
)
def test_img2img_and_inpaint_variants(llm_pipes, family, variant):
    import diffusers
    from PIL import Image

    pipe = getattr(diffusers, variant)(**llm_pipes[family].components)
    pipe.set_progress_bar_config(disable=True)
    size = FAMILIES[family][2]
    image = Image.fromarray((np.random.default_rng(0).random((size, size, 3)) * 255).astype(np.uint8))
    kw = _kw(family, num_inference_steps=4, image=image, strength=0.75)
    if "Inpaint" in variant:
        mask = np.zeros((size, size), np.uint8)
        mask[: size // 2] = 255
        kw["mask_image"] = Image.fromarray(mask)
    ref = pipe(prompt="a dog on a sofa", generator=_gen(0), **kw).images
    with daam.trace(pipe) as tc:
        out = pipe(prompt="a dog on a sofa", generator=_gen(0), **kw).images
    assert np.array_equal(ref, out)
    (r,) = tc.results()
    assert r.n_steps == 3 and r.word_map("dog").soft.shape == (size, size)


@pytest.mark.parametrize("family", ["flux2", "klein"])
def test_flux2_reference_image_tokens_are_not_the_generated_image(llm_pipes, family):
    """FLUX.2 edits append the reference image's tokens (another time coordinate) to the sequence."""
    from PIL import Image

    pipe = llm_pipes[family]
    ref_image = Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8))
    kw = _kw(family, image=[ref_image])
    ref = pipe(prompt="a dog and a cat", generator=_gen(0), **kw).images
    with daam.trace(pipe) as tc:
        out = pipe(prompt="a dog and a cat", generator=_gen(0), **kw).images
    assert np.array_equal(ref, out)
    r = tc.results()[0]
    assert list(r.sums) == [(4, 4)] and r.word_map("dog").soft.shape == (8, 8)


def test_flux2_klein_inpaint(llm_pipes):
    import diffusers
    from PIL import Image

    pipe = diffusers.Flux2KleinInpaintPipeline(**llm_pipes["klein"].components)
    pipe.set_progress_bar_config(disable=True)
    image = Image.fromarray((np.random.default_rng(0).random((8, 8, 3)) * 255).astype(np.uint8))
    mask = Image.fromarray(np.pad(np.full((4, 8), 255, np.uint8), ((0, 4), (0, 0))))
    kw = _kw("klein", image=image, mask_image=mask, num_inference_steps=4, strength=0.75)
    ref = pipe(prompt="a dog", generator=_gen(0), **kw).images
    with daam.trace(pipe) as tc:
        out = pipe(prompt="a dog", generator=_gen(0), **kw).images
    assert np.array_equal(ref, out) and tc.results()[0].n_steps == 3
