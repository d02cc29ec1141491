"""daam.attribute: maps of real images, by denoising (img2img) or by probing time steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import daam
from tests.pipelines import load

PROMPT = "a dog on a sofa"


def _image(size=64, seed=0):
    return (np.random.default_rng(seed).random((size, size, 3)) * 255).astype(np.uint8)


@pytest.mark.parametrize("mode", ["denoise", "probe"])
def test_sd_maps_at_image_size_deterministic_and_input_untouched(sd_pipe, mode):
    image = _image()
    before = image.copy()
    kw = dict(strength=0.5, steps=4, seed=3, mode=mode)
    maps = daam.attribute(sd_pipe, image, PROMPT, ["dog", "sofa"], **kw)
    assert np.array_equal(image, before)
    assert isinstance(maps, daam.GenerationMaps)
    assert tuple(maps.image_size) == image.shape[:2]
    dog = maps.word_map("dog")
    assert dog.soft.shape == image.shape[:2] and float(dog.soft.max()) == 1.0
    assert maps.n_steps == (2 if mode == "denoise" else 4)  # img2img: int(4 * 0.5); probes: 4
    again = daam.attribute(sd_pipe, image, PROMPT, **kw)
    assert torch.equal(again.word_map("dog").raw, dog.raw)
    other = daam.attribute(sd_pipe, image, PROMPT, **{**kw, "seed": 4})
    assert not torch.equal(other.word_map("dog").raw, dog.raw)
    with pytest.raises(daam.WordNotFoundError):
        daam.attribute(sd_pipe, image, PROMPT, ["cat"], **kw)


def test_denoise_equals_tracing_the_img2img_pipeline(sd_pipe):
    from diffusers import StableDiffusionImg2ImgPipeline
    from PIL import Image

    image = _image()
    i2i = StableDiffusionImg2ImgPipeline(
        **{**sd_pipe.components, "safety_checker": None}, requires_safety_checker=False
    )
    i2i.set_progress_bar_config(disable=True)
    with daam.trace(i2i) as tc:
        i2i(
            PROMPT,
            image=Image.fromarray(image),
            strength=0.75,
            num_inference_steps=4,
            generator=torch.Generator().manual_seed(5),
        )
    ref = tc.results()[0].word_map("dog").raw
    maps = daam.attribute(sd_pipe, Image.fromarray(image), PROMPT, strength=0.75, steps=4, seed=5)
    assert torch.equal(maps.word_map("dog").raw, ref)
    assert not hasattr(sd_pipe, "_daam_trace")  # the user's pipeline is left as it was


def test_probe_timesteps_and_trace_options(sd_pipe):
    image = _image()
    assert daam.attribute.__module__ == "daam.attribute"
    from daam.attribute import probe_timesteps

    assert probe_timesteps(1000, 0.6, 5) == [119, 239, 359, 479, 599]
    maps = daam.attribute(sd_pipe, image, PROMPT, mode="probe", timesteps=[10, 500], keep_steps=True)
    assert maps.n_steps == 2
    early = maps.word_map("dog", steps=[0]).raw
    both = maps.word_map("dog").raw
    assert not torch.allclose(early, both)
    with pytest.raises(ValueError, match="time steps"):
        daam.attribute(sd_pipe, image, PROMPT, mode="probe", timesteps=[1000])
    with pytest.raises(ValueError, match="mode"):
        daam.attribute(sd_pipe, image, PROMPT, mode="sample")


def test_sizes_off_the_latent_grid_get_maps_at_image_size(sd_pipe):
    image = _image(size=70)
    maps = daam.attribute(sd_pipe, image[:, :68], PROMPT, steps=2, strength=1.0)
    assert maps.word_map("dog").soft.shape == (70, 68)


def test_sdxl_probe_and_denoise(sdxl_path):
    pipe = load("StableDiffusionXLPipeline", sdxl_path)
    image = _image()
    for mode in ("denoise", "probe"):
        maps = daam.attribute(pipe, image, PROMPT, ["dog"], mode=mode, steps=2, strength=1.0)
        assert maps.word_map("dog").soft.shape == (64, 64)


DITS = {"sd3": ("StableDiffusion3Pipeline", {}), "flux": ("FluxPipeline", {"max_sequence_length": 32})}


@pytest.mark.parametrize("family", list(DITS))
def test_dit_denoise(dit_paths, family):
    cls, extra = DITS[family]
    pipe = load(cls, dit_paths[family])
    image = _image()
    kw = dict(strength=0.75, steps=4, seed=1, pipeline_kwargs=extra)
    maps = daam.attribute(pipe, image, PROMPT, ["dog"], **kw)
    assert maps.n_steps == 3 and maps.word_map("dog").soft.shape == (64, 64)
    assert torch.equal(daam.attribute(pipe, image, PROMPT, **kw).word_map("dog").raw, maps.word_map("dog").raw)
    with pytest.raises(NotImplementedError, match="denoise"):
        daam.attribute(pipe, image, PROMPT, mode="probe")
    # open vocabulary through side streams (tests/daam/test_concepts.py); the prompt's maps are unchanged
    vocab = daam.attribute(pipe, image, PROMPT, ["hat"], vocabulary=["hat"], **kw)
    assert torch.equal(vocab.word_map("dog").raw, maps.word_map("dog").raw)


def test_a_family_without_img2img_is_refused_clearly(dit_paths):
    pipe = load("PixArtSigmaPipeline", dit_paths["pixart"])
    with pytest.raises(daam.UnsupportedPipelineError, match="PixArtSigmaPipeline has no img2img"):
        daam.attribute(pipe, _image(), PROMPT)
