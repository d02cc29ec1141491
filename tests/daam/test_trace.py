import numpy as np
import pytest
import torch

import daam
from daam.trace import trace as Trace

KW = dict(num_inference_steps=3, height=64, width=64, output_type="np")


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_image_is_bitwise_identical_with_tracing(sd_pipe):
    ref = sd_pipe(["a dog and a cat", "a red car"], num_images_per_prompt=2, generator=_gen(0), **KW).images
    with daam.trace(sd_pipe) as tc:
        out = sd_pipe(["a dog and a cat", "a red car"], num_images_per_prompt=2, generator=_gen(0), **KW).images
    assert np.array_equal(ref, out)
    results = tc.results()
    assert [r.prompt for r in results] == ["a dog and a cat"] * 2 + ["a red car"] * 2
    assert [r.prompt_index for r in results] == [0, 0, 1, 1]
    assert results[0].image_size == (64, 64)
    # the two images of one prompt differ (different noise), so their maps do too
    assert not torch.equal(results[0].word_map("dog").raw, results[1].word_map("dog").raw)


def test_word_map_contract(sd_pipe):
    with daam.trace(sd_pipe) as tc:
        sd_pipe("a dog and a dog, ice-cream", generator=_gen(1), **KW)
    r = tc.results()[0]
    m = r.word_map("dog")
    assert m.soft.dtype == torch.float32 and m.soft.shape == (64, 64)
    assert float(m.soft.min()) == 0.0 and float(m.soft.max()) == 1.0
    assert m.mask(0.4).dtype == torch.bool
    assert torch.equal(m.mask(0.4), m.soft >= 0.4)
    assert r.word_map("dog", occurrence=1).token_indices == (5,)
    assert r.word_map("ice-cream").token_indices == (7, 8, 9)
    # a word's map is the sum of its sub-token maps before normalisation
    subtok = sum(r.word_map(i).raw for i in (7, 8, 9))
    assert torch.allclose(r.word_map("ice-cream").raw, subtok, atol=1e-5)
    assert torch.equal(r.word_map(2).raw, m.raw)  # a token index works as well
    with pytest.raises(daam.WordNotFoundError, match="'a', 'dog', 'and'"):
        r.word_map("zebra")
    with pytest.raises(ValueError):
        m.mask(1.5)


def test_maps_match_a_direct_per_head_computation(sd_pipe):
    """Recompute softmax(QK^T/sqrt(d)) by hand on one layer and compare with the trace."""
    name = "down_blocks.0.attentions.0.transformer_blocks.0.attn2"
    attn = sd_pipe.unet.get_submodule(name)
    seen = []

    def grab(module, args, kwargs):
        seen.append((args[0].detach().clone(), kwargs["encoder_hidden_states"].detach().clone()))

    handle = attn.register_forward_pre_hook(grab, with_kwargs=True)
    try:
        with daam.trace(sd_pipe, keep_layers=True, keep_heads=True, keep_steps=True) as tc:
            sd_pipe("a dog and a cat", generator=_gen(2), **{**KW, "num_inference_steps": 2})
    finally:
        handle.remove()
    r = tc.results()[0]
    assert len(seen) == 2  # two steps, one call each, batch [uncond, cond]
    for step, (hs, ehs) in enumerate(seen):
        hs, ehs = hs[1:], ehs[1:]  # classifier-free guidance: the conditional half is second here
        heads = attn.heads
        q = attn.to_q(hs).view(1, hs.shape[1], heads, -1).transpose(1, 2)
        k = attn.to_k(ehs).view(1, ehs.shape[1], heads, -1).transpose(1, 2)
        probs = (q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5).softmax(-1)  # [1, heads, hw, 77]
        h = w = int(hs.shape[1] ** 0.5)
        expect = probs[0].transpose(-1, -2).reshape(heads, 77, h, w)
        got = r.detail[(step, name)]
        assert got.shape == (heads, 77, h, w)
        assert torch.allclose(got, expect, atol=1e-5)
    # the running sums equal the sum of the detail
    for res, total in r.sums.items():
        parts = sum(t.sum(0) for (s, n), t in r.detail.items() if r.layer_resolutions[n] == res)
        assert torch.allclose(total, parts, atol=1e-4)


def test_batch_equals_single_prompt_results(sd_pipe):
    prompts = ["a dog and a cat", "a red car"]
    with daam.trace(sd_pipe) as tc:
        sd_pipe(prompts, generator=[_gen(10), _gen(11)], **KW)
    batch = tc.results()
    for i, p in enumerate(prompts):
        with daam.trace(sd_pipe) as tc1:
            sd_pipe(p, generator=_gen(10 + i), **KW)
        single = tc1.results()[0]
        for res in single.sums:
            assert torch.allclose(batch[i].sums[res], single.sums[res], atol=1e-4, rtol=1e-4)


def test_hooks_removed_on_exit_and_on_exception(sd_pipe):
    before = {k: type(v) for k, v in sd_pipe.unet.attn_processors.items()}

    def hooks():
        return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in sd_pipe.unet.modules())

    n_hooks = hooks()
    with pytest.raises(RuntimeError, match="boom"):
        with daam.trace(sd_pipe):
            assert hooks() > n_hooks
            raise RuntimeError("boom")
    assert {k: type(v) for k, v in sd_pipe.unet.attn_processors.items()} == before
    assert hooks() == n_hooks
    assert "encode_prompt" not in sd_pipe.__dict__ and not hasattr(sd_pipe, "_daam_trace")

    def broken_callback(pipe, step, t, kw):
        raise ValueError("inside the pipeline")

    with pytest.raises(ValueError):
        with daam.trace(sd_pipe):
            sd_pipe("a dog", callback_on_step_end=broken_callback, **KW)
    assert hooks() == n_hooks
    with daam.trace(sd_pipe) as tc:  # tracing works again afterwards
        sd_pipe("a dog", generator=_gen(0), **KW)
    assert len(tc.results()) == 1


def test_second_trace_is_an_error(sd_pipe):
    with daam.trace(sd_pipe):
        with pytest.raises(daam.TraceError, match="already being traced"):
            with daam.trace(sd_pipe):
                pass


def test_unsupported_pipeline_is_refused(tmp_path):
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    unet = UNet2DModel(
        sample_size=8,
        block_out_channels=(16, 32),
        norm_num_groups=8,
        down_block_types=("DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D"),
    )
    with pytest.raises(daam.UnsupportedPipelineError, match="StableDiffusionPipeline"):
        daam.trace(DDPMPipeline(unet=unet, scheduler=DDPMScheduler()))


@pytest.mark.parametrize("layout, chunks, cond_chunk", [("none", 1, 0), ("cfg", 2, 1), ("pix2pix", 3, 0)])
def test_conditional_rows_are_found_in_the_batch(layout, chunks, cond_chunk):
    torch.manual_seed(0)
    cond = torch.randn(2, 77, 8)
    others = [torch.randn(2, 77, 8) for _ in range(chunks)]
    others[cond_chunk] = cond
    rows = Trace._conditional_rows(torch.cat(others), cond)
    assert rows.tolist() == [2 * cond_chunk, 2 * cond_chunk + 1]
    with pytest.raises(daam.TraceError, match="conditional"):
        Trace._conditional_rows(torch.randn(4, 77, 8), cond)


def test_guidance_layouts_end_to_end(sd_pipe):
    for kw in ({"guidance_scale": 1.0}, {"guidance_scale": 7.5, "negative_prompt": "blurry"}):
        ref = sd_pipe("a dog", generator=_gen(3), **KW, **kw).images
        with daam.trace(sd_pipe) as tc:
            out = sd_pipe("a dog", generator=_gen(3), **KW, **kw).images
        assert np.array_equal(ref, out)
        assert tc.results()[0].word_map("dog").soft.shape == (64, 64)
    # without guidance the maps come from the one (conditional) chunk; with guidance and the
    # same seed the conditional half sees the same latents at the first step only, so compare
    # the first step's maps
    maps = []
    for g in (1.0, 7.5):
        with daam.trace(sd_pipe, keep_steps=True) as tc:
            sd_pipe("a dog", generator=_gen(4), guidance_scale=g, **KW)
        r = tc.results()[0]
        maps.append(r.word_map("dog", steps=[0]).raw)
    assert torch.allclose(maps[0], maps[1], atol=1e-4)


def test_long_prompt_warns_during_trace(sd_pipe):
    prompt = " ".join(["cat"] * 80) + " zebra"
    with pytest.warns(UserWarning, match="zebra"):
        with daam.trace(sd_pipe) as tc:
            sd_pipe(prompt, generator=_gen(0), **KW)
    r = tc.results()[0]
    assert r.word_map("cat", occurrence=74).token_indices == (75,)
    with pytest.raises(daam.WordNotFoundError, match="cut off"):
        r.word_map("zebra")


def test_ablation_selections(sd_pipe):
    with daam.trace(sd_pipe, keep_steps=True, keep_layers=True) as tc:
        sd_pipe("a dog and a cat", generator=_gen(5), **KW)
    r = tc.results()[0]
    full = r.word_map("dog").raw
    by_steps = r.word_map("dog", steps=range(3)).raw
    assert torch.allclose(full, by_steps, atol=1e-4)
    early, late = r.word_map("dog", steps=lambda s: s < 1).raw, r.word_map("dog", steps=lambda s: s >= 1).raw
    assert torch.allclose(early + late, full, atol=1e-4)
    coarse = r.word_map("dog", resolutions=[4]).raw
    fine = r.word_map("dog", resolutions=[8]).raw
    assert torch.allclose(coarse + fine, full, atol=1e-4)
    mid = [n for n in r.layer_resolutions if n.startswith("mid_block")]
    assert mid, "the mid block's cross-attention is traced"
    no_mid = r.word_map("dog", layers=lambda n: not n.startswith("mid_block")).raw
    assert not torch.allclose(no_mid, full)
    with pytest.raises(ValueError, match="heads"):
        r.word_map("dog", heads=[0])


def test_trimmed_detail_gives_the_same_maps(sd_pipe, tmp_path):
    with daam.trace(sd_pipe, keep_steps=True) as tc:
        sd_pipe("a dog and a cat", generator=_gen(5), **KW)
    r = tc.results()[0]
    t = r.trim_detail()
    n = len(r.tokens.token_ids)
    assert {d.shape[1] for d in t.detail.values()} == {n} and {d.shape[1] for d in r.detail.values()} == {77}
    assert t.nbytes() < r.nbytes() and all(torch.equal(t.sums[k], r.sums[k]) for k in r.sums)
    back = daam.load(t.save(tmp_path / "trimmed.safetensors"))
    for word in ("dog", "cat"):
        assert torch.equal(back.word_map(word, steps=[1]).raw, r.word_map(word, steps=[1]).raw)
        assert torch.equal(back.word_map(word).raw, r.word_map(word).raw)  # sums untouched
    assert torch.equal(back.token_map(70).raw, r.token_map(70).raw)  # padding: from the sums
    with pytest.raises(IndexError, match="trimmed"):
        back.word_map(70, steps=[0])


def test_ablation_needs_detail(sd_pipe):
    with daam.trace(sd_pipe) as tc:
        sd_pipe("a dog", generator=_gen(0), **KW)
    with pytest.raises(ValueError, match="keep_steps"):
        tc.results()[0].word_map("dog", steps=[0])


def test_state_is_small_and_step_independent(sd_pipe):
    sizes = []
    for steps in (2, 6):
        with daam.trace(sd_pipe) as tc:
            sd_pipe("a dog", generator=_gen(0), **{**KW, "num_inference_steps": steps})
        sizes.append(tc.state_nbytes())
    assert sizes[0] == sizes[1] == 77 * (8 * 8 + 4 * 4) * 4


def test_save_and_load_round_trip(sd_pipe, tmp_path):
    with daam.trace(sd_pipe, keep_steps=True) as tc:
        sd_pipe("a giraffe, ice-cream", generator=_gen(6), **KW)
    r = tc.results()[0]
    path = r.save(tmp_path / "maps.safetensors")
    back = daam.load(path)
    assert back.prompt == r.prompt and back.image_size == r.image_size and back.n_steps == 3
    assert back.tokens == r.tokens
    for res in r.sums:
        assert torch.equal(back.sums[res], r.sums[res])
    assert torch.equal(back.word_map("ice-cream").soft, r.word_map("ice-cream").soft)
    assert torch.equal(back.word_map("giraffe", steps=[1]).raw, r.word_map("giraffe", steps=[1]).raw)
    (tmp_path / "bad.safetensors").write_bytes(b"not a file")
    with pytest.raises(Exception):  # noqa: B017  (safetensors raises its own error types)
        daam.load(tmp_path / "bad.safetensors")


def test_png_export_and_plot(sd_pipe, tmp_path):
    from PIL import Image

    with daam.trace(sd_pipe) as tc:
        image = sd_pipe("a dog, a cat", generator=_gen(0), **KW).images[0]
    r = tc.results()[0]
    paths = r.export_pngs(tmp_path / "grey")
    assert [p.name for p in paths] == ["00-a.png", "01-dog.png", "02-_.png", "03-a.png", "04-cat.png"]
    assert np.asarray(Image.open(paths[1])).shape == (64, 64)
    over = r.word_map("dog").to_png(tmp_path / "dog.png", image=image)
    assert np.asarray(Image.open(over)).shape == (64, 64, 3)
    import matplotlib

    matplotlib.use("Agg")
    fig = r.plot(image)
    assert len(fig.axes) >= 5
