"""Every supported pipeline family traces without changing its image."""

import numpy as np
import pytest
import torch
from PIL import Image

import daam
from tests.pipelines import load, tiny_unet

KW = dict(num_inference_steps=3, output_type="np")


def _same_with_and_without_trace(pipe, **kw):
    ref = pipe(generator=torch.Generator().manual_seed(0), **kw).images
    with daam.trace(pipe) as tc:
        out = pipe(generator=torch.Generator().manual_seed(0), **kw).images
    assert np.array_equal(ref, out)
    return tc.results()


def test_sdxl(sdxl_path):
    pipe = load("StableDiffusionXLPipeline", sdxl_path)
    results = _same_with_and_without_trace(pipe, prompt=["a dog and a cat", "a car"], height=64, width=64, **KW)
    assert len(results) == 2
    r = results[0]
    assert r.image_size == (64, 64)
    assert len(r.sums) == 2  # two attention resolutions
    assert r.word_map("cat").soft.shape == (64, 64)


def test_sdxl_img2img_and_inpaint(sdxl_path):
    from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLInpaintPipeline

    base = load("StableDiffusionXLPipeline", sdxl_path)
    init = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    mask = Image.fromarray((np.arange(64)[None, :].repeat(64, 0) > 32).astype(np.uint8) * 255)
    i2i = StableDiffusionXLImg2ImgPipeline(**base.components)
    i2i.set_progress_bar_config(disable=True)
    r = _same_with_and_without_trace(i2i, prompt="a dog", image=init, strength=0.7, **KW)[0]
    assert r.word_map("dog").soft.shape == (64, 64)
    inp = StableDiffusionXLInpaintPipeline(**base.components)
    inp.set_progress_bar_config(disable=True)
    r = _same_with_and_without_trace(inp, prompt="a dog", image=init, mask_image=mask, height=64, width=64, **KW)[0]
    assert r.word_map("dog").soft.shape == (64, 64)


def test_sd_img2img_and_inpaint(sd_pipe):
    from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline

    init = Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    mask = Image.fromarray((np.arange(64)[:, None].repeat(64, 1) > 20).astype(np.uint8) * 255)
    i2i = StableDiffusionImg2ImgPipeline(**sd_pipe.components)
    i2i.set_progress_bar_config(disable=True)
    results = _same_with_and_without_trace(i2i, prompt=["a dog", "a cat"], image=init, strength=0.8, **KW)
    assert [r.prompt for r in results] == ["a dog", "a cat"]
    # inpainting with the 4-channel UNet (legacy mode) and with a 9-channel UNet
    inp = StableDiffusionInpaintPipeline(**sd_pipe.components)
    inp.set_progress_bar_config(disable=True)
    _same_with_and_without_trace(inp, prompt="a dog", image=init, mask_image=mask, height=64, width=64, **KW)
    torch.manual_seed(0)
    unet9 = tiny_unet()
    unet9.register_to_config(in_channels=9)
    unet9.conv_in = torch.nn.Conv2d(9, 32, 3, padding=1)
    inp9 = StableDiffusionInpaintPipeline(**{**sd_pipe.components, "unet": unet9})
    inp9.set_progress_bar_config(disable=True)
    r = _same_with_and_without_trace(inp9, prompt="a dog", image=init, mask_image=mask, height=64, width=64, **KW)[0]
    assert r.word_map("dog").soft.shape == (64, 64)


def test_instruct_pix2pix_three_chunk_guidance(sd_pipe):
    from diffusers import StableDiffusionInstructPix2PixPipeline

    torch.manual_seed(0)
    unet8 = tiny_unet()
    unet8.register_to_config(in_channels=8)
    unet8.conv_in = torch.nn.Conv2d(8, 32, 3, padding=1)
    comps = {k: v for k, v in sd_pipe.components.items() if k != "image_encoder"}
    pipe = StableDiffusionInstructPix2PixPipeline(**{**comps, "unet": unet8})
    pipe.set_progress_bar_config(disable=True)
    init = Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    seen = []
    hook = pipe.unet.register_forward_pre_hook(
        lambda m, a, k: seen.append(k["encoder_hidden_states"].shape[0]), with_kwargs=True
    )
    try:
        r = _same_with_and_without_trace(pipe, prompt="make it a dog", image=init, **KW)[0]
    finally:
        hook.remove()
    assert seen[0] == 3  # text+image, image only, unconditional
    assert r.word_map("dog").soft.shape == (64, 64)


def test_processor_kinds_stay_in_use(sd_pipe):
    """Sliced attention and the classic processor keep working and keep the image unchanged."""
    from diffusers.models.attention_processor import AttnProcessor

    sd_pipe.unet.set_attn_processor(AttnProcessor())
    a = _same_with_and_without_trace(sd_pipe, prompt="a dog", height=64, width=64, **KW)[0]
    sd_pipe.enable_attention_slicing(1)
    b = _same_with_and_without_trace(sd_pipe, prompt="a dog", height=64, width=64, **KW)[0]
    for res in a.sums:
        assert torch.allclose(a.sums[res], b.sums[res], atol=1e-5)
    names = {type(p).__name__ for p in sd_pipe.unet.attn_processors.values()}
    assert names == {"SlicedAttnProcessor"}


def test_cross_attention_kwargs_still_reach_the_processor(sd_pipe):
    """The wrapper exposes the wrapped processor's signature, so diffusers forwards kwargs."""
    import inspect

    with daam.trace(sd_pipe):
        attn = sd_pipe.unet.get_submodule("down_blocks.0.attentions.0.transformer_blocks.0.attn2")
        params = set(inspect.signature(attn.processor.__call__).parameters)
    assert {"hidden_states", "encoder_hidden_states", "attention_mask", "temb"} <= params


def test_prompt_embeds_without_text(sd_pipe):
    embeds, _ = sd_pipe.encode_prompt("a dog", "cpu", 1, False)
    with daam.trace(sd_pipe) as tc:
        sd_pipe(prompt_embeds=embeds, height=64, width=64, guidance_scale=1.0, **KW)
    r = tc.results()[0]
    assert r.prompt is None
    assert r.word_map(2).soft.shape == (64, 64)
    with pytest.raises(daam.WordNotFoundError, match="embeddings"):
        r.word_map("dog")


def test_v_prediction_768_style(sd_pipe):
    """SD 2.x 768 models predict v: the scheduler changes, the tracing does not."""
    from diffusers import DDIMScheduler

    sd_pipe.scheduler = DDIMScheduler.from_config(sd_pipe.scheduler.config, prediction_type="v_prediction")
    r = _same_with_and_without_trace(sd_pipe, prompt="a dog", height=64, width=64, **KW)[0]
    assert r.word_map("dog").soft.shape == (64, 64)
