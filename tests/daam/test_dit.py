"""daam.trace on diffusion transformers: SD3, SD3.5 (dual attention), FLUX.1, PixArt-Sigma.

Each family is a tiny real pipeline built from configs, saved and reloaded from its folder
(``tests/dit_pipelines.py``). What holds for UNets must hold here: the image is bitwise the
untraced one, maps equal a direct per-head computation from the q/k the attention kernel
received, a batch equals single prompts, words resolve (multi-token, repeated, unknown, cut),
and everything is restored after an exception.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import daam
from tests.pipelines import load

FAMILIES = {
    "sd3": ("StableDiffusion3Pipeline", {}),
    "sd35": ("StableDiffusion3Pipeline", {}),
    "flux": ("FluxPipeline", {"max_sequence_length": 32}),
    "pixart": ("PixArtSigmaPipeline", {"max_sequence_length": 32, "use_resolution_binning": False}),
    "chroma": ("ChromaPipeline", {"max_sequence_length": 32}),
}
SIZE = {"sd3": 64, "sd35": 64, "flux": 64, "pixart": 64, "chroma": 64}


@pytest.fixture(scope="session")
def dit_pipes(dit_paths):
    return {name: load(FAMILIES[name][0], path) for name, path in dit_paths.items()}


def _kw(family, **extra):
    kw = dict(num_inference_steps=2, height=SIZE[family], width=SIZE[family], output_type="np")
    kw.update(FAMILIES[family][1])
    kw.update(extra)
    return kw


def _gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_image_is_bitwise_unchanged_and_words_resolve(dit_pipes, family):
    pipe = dit_pipes[family]
    prompt = "a giraffe and a zebra on a sofa"
    ref = pipe(prompt, generator=_gen(0), **_kw(family)).images
    with daam.trace(pipe) as tc:
        out = pipe(prompt, generator=_gen(0), **_kw(family)).images
    assert np.array_equal(ref, out)
    (r,) = tc.results()
    assert r.image_size == (SIZE[family], SIZE[family])
    assert r.words == ["a", "giraffe", "and", "a", "zebra", "on", "a", "sofa"]
    m = r.word_map("giraffe")
    assert m.soft.shape == (SIZE[family],) * 2 and float(m.soft.max()) == 1.0
    assert r.word_map("a", occurrence=2).token_indices != r.word_map("a").token_indices
    with pytest.raises(daam.WordNotFoundError, match="'giraffe'"):
        r.word_map("hat")
    # state: running sums trimmed to the prompt's own tokens, never the 256/512 padding
    n_cols = next(iter(r.sums.values())).shape[0]
    assert n_cols == sum(len(s.tokens.token_ids) for s in r.segments)


def test_t5_words_are_multi_token_and_merge(dit_pipes):
    pipe = dit_pipes["flux"]
    with daam.trace(pipe) as tc:
        pipe("a giraffe", generator=_gen(0), **_kw("flux"))
    r = tc.results()[0]
    w = r.find_word("giraffe")
    assert len(w.tokens) > 1  # the tiny Unigram splits it
    parts = sum(r.word_map(i).raw for i in w.tokens)
    assert torch.allclose(r.word_map("giraffe").raw, parts, atol=1e-5)


def test_sd3_words_sum_clip_and_t5_segments(dit_pipes):
    pipe = dit_pipes["sd3"]
    with daam.trace(pipe) as tc:
        pipe("a dog on a sofa", generator=_gen(0), **_kw("sd3"))
    r = tc.results()[0]
    assert r.encoders == ["clip", "t5"]
    both = r.word_map("dog")
    clip, t5 = r.word_map("dog", encoder="clip"), r.word_map("dog", encoder="t5")
    assert set(both.token_indices) == set(clip.token_indices) | set(t5.token_indices)
    assert clip.token_indices == (2,)  # <start> a dog
    assert torch.allclose(both.raw, clip.raw + t5.raw, atol=1e-4)
    with pytest.raises(ValueError, match="clip, t5"):
        r.word_map("dog", encoder="gemma")


def _record_kernel_inputs(monkeypatch, family, pipe):
    """Our own record of what each traced layer's attention kernel received, per call."""
    import sys

    seen, current = [], {}
    for name, module in pipe.transformer.named_modules():
        if name.endswith(("attn", "attn2", "attention")) and hasattr(module, "processor"):
            module.register_forward_pre_hook(
                lambda m, a, k, name=name: current.__setitem__("layer", name) or None, with_kwargs=True
            )
    sdpa = F.scaled_dot_product_attention

    def record_sdpa(q, k, *args, **kwargs):
        if current.get("layer"):
            mask = kwargs.get("attn_mask", args[1] if len(args) > 1 else None)
            seen.append(
                (
                    current.pop("layer"),
                    q.detach().clone(),
                    k.detach().clone(),
                    None if mask is None else mask.detach().clone(),
                )
            )
        return sdpa(q, k, *args, **kwargs)

    monkeypatch.setattr(F, "scaled_dot_product_attention", record_sdpa)
    tf = sys.modules[type(pipe.transformer).__module__]
    if hasattr(tf, "dispatch_attention_fn"):
        dispatch = tf.dispatch_attention_fn

        def record_dispatch(q, k, *args, **kwargs):
            if current.get("layer"):
                seen.append(
                    (
                        current.pop("layer"),
                        q.transpose(1, 2).detach().clone(),
                        k.transpose(1, 2).detach().clone(),
                        kwargs.get("attn_mask"),
                    )
                )
            return dispatch(q, k, *args, **kwargs)

        monkeypatch.setattr(tf, "dispatch_attention_fn", record_dispatch)
    return seen


@pytest.mark.parametrize(
    "family, layers",
    [
        ("sd3", ["transformer_blocks.0.attn", "transformer_blocks.1.attn"]),  # the last is context_pre_only
        ("sd35", ["transformer_blocks.0.attn"]),
        ("flux", ["transformer_blocks.0.attn", "single_transformer_blocks.1.attn"]),
        ("pixart", ["transformer_blocks.1.attn2"]),
    ],
)
def test_maps_equal_a_direct_per_head_computation(dit_paths, monkeypatch, family, layers):
    pipe = load(FAMILIES[family][0], dit_paths[family])  # own copy: the hooks stay on it
    seen = _record_kernel_inputs(monkeypatch, family, pipe)
    with daam.trace(pipe, keep_steps=True, keep_layers=True, keep_heads=True) as tc:
        pipe("a dog and a cat", generator=_gen(0), **_kw(family, guidance_scale=3.0))
    r = tc.results()[0]
    cond_row = 1 if family != "flux" else 0  # CFG batches are [negative; positive]; FLUX has no CFG
    n_img = (SIZE[family] // 16) ** 2
    for step in range(2):
        for layer in layers:
            calls = [s for s in seen if s[0] == layer]
            _, q, k, mask = calls[step]
            q, k = q[cond_row].float(), k[cond_row].float()
            scores = q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5
            if mask is not None:
                scores = scores + mask[cond_row].float()
            probs = scores.softmax(-1)  # [heads, queries, keys], the whole joint key sequence
            n_txt = next(iter(r.sums.values())).shape[0]
            if family == "pixart":
                block = probs[:, :, :n_txt]
            elif family == "flux":
                t = k.shape[1] - n_img
                block = probs[:, t:, :n_txt]
            else:  # SD3: [image; clip 77; t5]
                clip_n = len(r.segments[0].tokens.token_ids)
                cols = list(range(n_img, n_img + clip_n)) + list(range(n_img + 77, n_img + 77 + n_txt - clip_n))
                block = probs[:, :n_img][:, :, cols]
            traced = r.detail[(step, layer)]  # [heads, tokens, h, w]
            expect = block.transpose(-1, -2).reshape(traced.shape)
            torch.testing.assert_close(traced, expect, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("family", ["sd3", "flux", "pixart"])
def test_batch_equals_single_prompt(dit_pipes, family):
    pipe = dit_pipes[family]
    with daam.trace(pipe) as tc:
        pipe(["a dog and a cat on a sofa", "a red car"], generator=[_gen(1), _gen(2)], **_kw(family))
    with daam.trace(pipe) as single:
        pipe("a red car", generator=_gen(2), **_kw(family))
    batch, alone = tc.results()[1], single.results()[0]
    assert batch.prompt == alone.prompt == "a red car"
    for word in ("red", "car"):
        torch.testing.assert_close(batch.word_map(word).raw, alone.word_map(word).raw, atol=1e-4, rtol=1e-4)


def test_truncation_warns_and_cut_words_are_named(dit_pipes):
    pipe = dit_pipes["flux"]
    with daam.trace(pipe) as tc, pytest.warns(UserWarning, match="T5 text encoder's limit of 8"):
        pipe("a dog and a cat on a sofa next to a big red car", generator=_gen(0), **_kw("flux", max_sequence_length=8))
    r = tc.results()[0]
    with pytest.raises(daam.WordNotFoundError, match="cut off"):
        r.word_map("car")


def test_sd3_clip_cut_keeps_t5_words(dit_pipes):
    pipe = dit_pipes["sd3"]
    prompt = " ".join(["a dog"] * 40) + " and a zebra"
    with daam.trace(pipe) as tc, pytest.warns(UserWarning, match="the CLIP text encoder's limit"):
        pipe(prompt, generator=_gen(0), **_kw("sd3"))
    r = tc.results()[0]
    z = r.find_word("zebra")  # cut from CLIP's 77 tokens, kept by T5
    assert z.tokens and all(t >= len(r.segments[0].tokens.token_ids) for t in z.tokens)


def test_flux_true_cfg_traces_only_the_conditional_call(dit_pipes):
    pipe = dit_pipes["flux"]
    kw = _kw("flux", num_inference_steps=3)
    ref = pipe("a dog", negative_prompt="a cat", true_cfg_scale=2.0, generator=_gen(0), **kw).images
    with daam.trace(pipe, keep_steps=True) as tc:
        out = pipe("a dog", negative_prompt="a cat", true_cfg_scale=2.0, generator=_gen(0), **kw).images
    assert np.array_equal(ref, out)
    (r,) = tc.results()
    assert r.n_steps == 3 and r.prompt == "a dog"
    with daam.trace(pipe, keep_steps=True) as plain:
        pipe("a dog", generator=_gen(0), **kw)
    # step 0 sees the same latents and prompt with or without the negative call
    torch.testing.assert_close(r.word_map("dog", steps=[0]).raw, plain.results()[0].word_map("dog", steps=[0]).raw)


def test_capture_time_selection(dit_pipes):
    pipe = dit_pipes["flux"]
    with daam.trace(pipe, keep_steps=True, keep_layers=True, keep_heads=True) as full:
        pipe("a dog and a cat", generator=_gen(0), **_kw("flux"))
    layer = "single_transformer_blocks.0.attn"
    with daam.trace(pipe, layers=[layer], steps=[1], heads=[1]) as sel:
        pipe("a dog and a cat", generator=_gen(0), **_kw("flux"))
    f, s = full.results()[0], sel.results()[0]
    assert daam.attention_layers(pipe) == {
        "transformer_blocks.0.attn": "joint",
        "transformer_blocks.1.attn": "joint",
        "single_transformer_blocks.0.attn": "single",
        "single_transformer_blocks.1.attn": "single",
    }
    assert list(s.layer_resolutions) == [layer]
    torch.testing.assert_close(s.word_map("dog").raw, f.word_map("dog", layers=[layer], steps=[1], heads=[1]).raw)
    with pytest.raises(daam.TraceError, match="unknown layers"):
        with daam.trace(pipe, layers=["transformer_blocks.9.attn"]):
            pass
    with daam.trace(pipe, layers=lambda n: n.startswith("single")) as pred:
        pipe("a dog", generator=_gen(0), **_kw("flux"))
    assert all(n.startswith("single") for n in pred.results()[0].layer_resolutions)


def test_sd35_dual_attention_attn2_is_not_traced(dit_pipes):
    pipe = dit_pipes["sd35"]
    assert pipe.transformer.transformer_blocks[0].attn2 is not None
    with daam.trace(pipe) as tc:
        pipe("a dog", generator=_gen(0), **_kw("sd35"))
    assert set(tc.results()[0].layer_resolutions) == {"transformer_blocks.0.attn", "transformer_blocks.1.attn"}


@pytest.mark.parametrize("family", ["sd3", "flux"])
def test_restored_after_an_exception(dit_pipes, family):
    pipe = dit_pipes[family]
    import diffusers.models.attention_dispatch as ad
    import diffusers.models.transformers.transformer_flux as tf

    before = (
        {n: type(p) for n, p in pipe.transformer.attn_processors.items()},
        F.scaled_dot_product_attention,
        ad.dispatch_attention_fn,
        tf.dispatch_attention_fn,
    )

    def boom(pipe_, step, t, kwargs):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        with daam.trace(pipe):
            pipe("a dog", generator=_gen(0), callback_on_step_end=boom, **_kw(family))
    after = (
        {n: type(p) for n, p in pipe.transformer.attn_processors.items()},
        F.scaled_dot_product_attention,
        ad.dispatch_attention_fn,
        tf.dispatch_attention_fn,
    )
    assert before == after
    assert "encode_prompt" not in pipe.__dict__ and not pipe.transformer._forward_pre_hooks


def test_pixart_words_follow_the_users_text_and_binning(dit_pipes):
    """PixArt lowercases (and may clean) captions and bins resolutions: maps follow the user."""
    pipe = dit_pipes["pixart"]
    kw = _kw("pixart", use_resolution_binning=True, height=240, width=256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pipe("A Dog on a Sofa", generator=_gen(0), **kw).images
        with daam.trace(pipe) as tc:
            out = pipe("A Dog on a Sofa", generator=_gen(0), **kw).images
    assert np.array_equal(ref, out) and out.shape[1:3] == (240, 256)
    r = tc.results()[0]
    assert r.words == ["A", "Dog", "on", "a", "Sofa"]
    assert r.image_size == (240, 256) and r.generated_size != (240, 256)
    assert r.word_map("Dog").soft.shape == (240, 256)


def test_maps_of_a_dit_save_and_load(dit_pipes, tmp_path):
    pipe = dit_pipes["sd3"]
    with daam.trace(pipe) as tc:
        pipe("a dog on a sofa", generator=_gen(0), **_kw("sd3"))
    r = tc.results()[0]
    back = daam.load(r.save(tmp_path / "m.safetensors"))
    assert back.encoders == ["clip", "t5"]
    assert torch.equal(back.word_map("dog").raw, r.word_map("dog").raw)
    assert torch.equal(back.word_map("dog", encoder="t5").raw, r.word_map("dog", encoder="t5").raw)


@pytest.mark.parametrize(
    "family, variant",
    [
        ("sd3", "StableDiffusion3Img2ImgPipeline"),
        ("sd3", "StableDiffusion3InpaintPipeline"),
        ("flux", "FluxImg2ImgPipeline"),
        ("flux", "FluxInpaintPipeline"),
    ],
)
def test_img2img_and_inpaint_variants(dit_pipes, family, variant):
    import diffusers
    from PIL import Image

    base = dit_pipes[family]
    pipe = getattr(diffusers, variant)(**base.components)
    pipe.set_progress_bar_config(disable=True)
    size = SIZE[family]
    image = Image.fromarray((np.random.default_rng(0).random((size, size, 3)) * 255).astype(np.uint8))
    kw = _kw(family, num_inference_steps=4, image=image, strength=0.75)
    if "Inpaint" in variant:
        mask = np.zeros((size, size), np.uint8)
        mask[: size // 2] = 255
        kw["mask_image"] = Image.fromarray(mask)
    ref = pipe("a dog on a sofa", generator=_gen(0), **kw).images
    with daam.trace(pipe) as tc:
        out = pipe("a dog on a sofa", generator=_gen(0), **kw).images
    assert np.array_equal(ref, out)
    (r,) = tc.results()
    assert r.n_steps == 3  # strength 0.75 of 4 steps
    assert r.word_map("dog").soft.shape == (size, size)


@pytest.mark.parametrize("n_cols", [5, 40])  # within one head's width (fused kernel) and beyond (explicit)
@pytest.mark.parametrize("mask_kind", [None, "bool", "float"])
def test_kernel_text_probs_equals_the_explicit_joint_softmax(n_cols, mask_kind):
    from daam.adapters import kernel_text_probs

    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 3, 50, 16, generator=g), torch.randn(2, 3, 50, 16, generator=g)
    mask = None
    if mask_kind == "bool":
        mask = torch.rand(2, 1, 1, 50, generator=g) > 0.2
        mask[..., :10] = True
    elif mask_kind == "float":
        mask = torch.randn(2, 1, 50, 50, generator=g)
    cols = torch.arange(n_cols) if n_cols < 10 else torch.cat([torch.arange(5), torch.arange(10, 45)])
    scores = q @ k.transpose(-1, -2) * 0.3
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    expect = scores.softmax(-1)[:, :, 10:][..., cols]
    got = kernel_text_probs(q, k, slice(10, 50), cols, scale=0.3, attn_mask=mask)
    torch.testing.assert_close(got, expect, atol=1e-6, rtol=1e-5)


def test_chroma_negative_call_skipped_and_maps_equal_a_direct_computation(dit_paths, monkeypatch):
    """Chroma encodes prompt and negative in one call and runs them through separate, masked calls."""
    pipe = load("ChromaPipeline", dit_paths["chroma"])
    kw = _kw("chroma", negative_prompt="a red car")
    ref = pipe("a dog and a cat", generator=_gen(0), **kw).images
    seen = _record_kernel_inputs(monkeypatch, "chroma", pipe)
    with daam.trace(pipe, keep_steps=True, keep_layers=True, keep_heads=True) as tc:
        out = pipe("a dog and a cat", generator=_gen(0), **kw).images
    assert np.array_equal(ref, out)
    (r,) = tc.results()
    assert r.n_steps == 2 and r.words == ["a", "dog", "and", "a", "cat"]
    n_cols, n_img = next(iter(r.sums.values())).shape[0], (SIZE["chroma"] // 16) ** 2
    for layer in ("transformer_blocks.0.attn", "single_transformer_blocks.0.attn"):
        calls = [x for x in seen if x[0] == layer]
        assert len(calls) == 4  # conditional then negative, per step
        for step in range(2):
            _, q, k, mask = calls[2 * step]
            scores = q[0].float() @ k[0].float().transpose(-1, -2) * q.shape[-1] ** -0.5
            if mask is not None:
                m = mask[0]
                scores = scores.masked_fill(~m, float("-inf")) if m.dtype == torch.bool else scores + m.float()
            t = k.shape[2] - n_img
            block = scores.softmax(-1)[:, t:, :n_cols]
            traced = r.detail[(step, layer)]
            torch.testing.assert_close(traced, block.transpose(-1, -2).reshape(traced.shape), atol=1e-5, rtol=1e-4)
