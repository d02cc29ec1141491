"""``daam.attribute``: DAAM maps of a real image (one the model did not generate).

Two ways to make the denoiser look at a given image while ``daam.trace`` observes it:

* ``mode="denoise"`` (the benchmark's): encode the image with the pipeline's VAE, noise it to
  ``strength`` and denoise it, as img2img does, through the family's img2img pipeline built from
  the same components. The maps are those of a real trajectory, with the same steps, scheduler
  and guidance as a generation, so they compare directly with maps of generated images.
* ``mode="probe"`` (UNet pipelines): no trajectory. The image's latents are noised to each of a
  few time steps with one seeded noise and the denoiser runs once per time step (with the
  pipeline's classifier-free guidance batch); the maps sum over these probes. Cheaper (one
  forward per probe, no VAE decode), and every probe sees the image itself rather than the
  model's drift away from it.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import torch

from daam.adapters import UNetAdapter, UnsupportedPipelineError, adapter_for
from daam.maps import GenerationMaps

if TYPE_CHECKING:
    import PIL.Image
    from diffusers import DiffusionPipeline

PROBES = 5  # probe mode's default number of time steps
MODES = ("denoise", "probe")


def attribute(
    pipe: DiffusionPipeline,
    image,
    prompt: str,
    words: Iterable[str] | None = None,
    *,
    strength: float = 0.6,
    steps: int | None = None,
    seed: int = 0,
    mode: str = "denoise",
    timesteps: Iterable[int] | None = None,
    guidance_scale: float | None = None,
    negative_prompt: str | None = None,
    vocabulary: Iterable[str] | None = None,
    concepts: Iterable[str] | None = None,
    concept_space: str = "output",
    concept_layers=None,
    concept_steps=None,
    pipeline_kwargs: dict | None = None,
    **trace_options,
) -> GenerationMaps:
    """DAAM maps of ``image`` (PIL image or ``[H, W, 3]`` array, uint8 or floats in [0, 1]) for
    ``prompt``, the same object as ``daam.trace``'s ``tc.results()[0]``, at the image's size.

    ``mode="denoise"``: the image is encoded, noised to ``strength`` (0-1, the share of the
    schedule) and denoised over ``steps`` inference steps (the pipeline's default when None; as
    img2img, ``int(steps * strength)`` of them run) by the family's img2img pipeline built from
    ``pipe``'s components, while tracing. Noise comes from ``torch.Generator().manual_seed(seed)``.

    ``mode="probe"`` (SD 1.x/2.x, SDXL): one denoiser forward per time step of ``timesteps``
    (training time steps, 0 to T-1), or by default ``steps`` (5 when None) time steps spread
    evenly over (0, strength * T]; the image's latents are noised to each with one noise drawn
    from ``seed``. Other families raise NotImplementedError: use ``mode="denoise"``.

    ``guidance_scale`` (the pipeline's default when None) and ``negative_prompt`` set
    classifier-free guidance in both modes; ``pipeline_kwargs`` go to the img2img call
    (denoise mode). ``words``, when given, are checked to resolve (in the prompt or the
    ``vocabulary``), so a typo fails here rather than later. ``trace_options`` go to
    ``daam.trace`` (``keep_steps``, ``layers``, ...). ``image`` is not modified.

    ``concepts`` (SD3, FLUX.1, Chroma, Qwen-Image): trace with ``daam.concept_attention`` instead, ``space=concept_space``,
    ``layers=concept_layers``, ``steps=concept_steps``; the concepts' maps are the result's
    vocabulary (``maps.word_map(concept, source="concepts")``). Not together with ``vocabulary``.
    """
    from daam.trace import trace

    if concepts is not None:
        if vocabulary is not None:
            raise ValueError("give concepts (ConceptAttention) or a vocabulary (open-vocabulary maps), not both")
        from daam.concepts import concept_attention

        options = dict(trace_options)
        prompt_layers, prompt_steps = options.pop("layers", None), options.pop("steps", None)

        def tracer(p):
            return concept_attention(
                p,
                concepts,
                space=concept_space,
                layers=concept_layers,
                steps=concept_steps,
                prompt_layers=prompt_layers,
                prompt_steps=prompt_steps,
                **options,
            )
    else:

        def tracer(p):
            return trace(p, vocabulary=vocabulary, **trace_options)

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"strength must lie in (0, 1], got {strength}")
    if not isinstance(prompt, str):
        raise TypeError("daam.attribute explains one image for one prompt (a str)")
    picture = _as_pil(image)
    if mode == "denoise":
        if timesteps is not None:
            raise ValueError("timesteps= is for mode='probe'; mode='denoise' follows the scheduler's steps")
        i2i = img2img_pipeline(pipe)
        kwargs = dict(pipeline_kwargs or {})
        if steps is not None:
            kwargs["num_inference_steps"] = steps
        if guidance_scale is not None:
            kwargs["guidance_scale"] = guidance_scale
        if negative_prompt is not None:
            kwargs["negative_prompt"] = negative_prompt
        with tracer(i2i) as tc:
            i2i(
                prompt=prompt,
                image=picture,
                strength=strength,
                generator=torch.Generator().manual_seed(int(seed)),
                output_type="latent",  # the maps are read during denoising; nothing to decode
                **kwargs,
            )
    else:
        if pipeline_kwargs:
            raise ValueError("pipeline_kwargs are for mode='denoise'; probes call the denoiser directly")
        with tracer(pipe) as tc:
            _probe(pipe, picture, prompt, strength, steps, seed, timesteps, guidance_scale, negative_prompt)
    results = tc.results()
    if len(results) != 1:
        raise RuntimeError(f"expected the maps of one image, the trace holds {len(results)}")
    maps = results[0]
    size = (picture.height, picture.width)
    if tuple(maps.image_size) != size and maps.generated_size is None:
        # the pipeline rounded the image to its latent grid; the maps cover the same picture
        maps = dataclasses.replace(maps, image_size=size)
    for w in words or ():
        maps.word_map(w, source="vocabulary") if maps._vocabulary_index(w) is not None else maps.find_word(w)
    return maps


def img2img_pipeline(pipe: DiffusionPipeline) -> DiffusionPipeline:
    """The family's img2img pipeline on ``pipe``'s own components (``pipe`` itself when it is one).

    SD's is built without a safety checker (the maps do not need the decoded image).
    """
    if _is_img2img(type(pipe)):
        return pipe
    family = adapter_for(pipe).family
    extra = {}
    if "safety_checker" in pipe.components:
        extra = {"safety_checker": None, "requires_safety_checker": False}
    import diffusers

    i2i = None
    try:
        i2i = diffusers.AutoPipelineForImage2Image.from_pipe(pipe, **extra)
    except (ValueError, KeyError, TypeError, AttributeError):
        cls = getattr(diffusers, family.replace("Pipeline", "Img2ImgPipeline"), None)
        if cls is not None and _is_img2img(cls):
            names = set(inspect.signature(cls.__init__).parameters)
            i2i = cls(**{k: v for k, v in {**pipe.components, **extra}.items() if k in names})
    if i2i is None or not _is_img2img(type(i2i)):
        raise UnsupportedPipelineError(
            f"{family} has no img2img pipeline in diffusers {diffusers.__version__} (one that noises an image "
            "to a strength and denoises it), so daam.attribute(mode='denoise') cannot run on it"
            + ("; mode='probe' can" if isinstance(adapter_for(pipe), UNetAdapter) else "")
        )
    config = getattr(pipe, "_progress_bar_config", None)
    if config is not None:
        i2i.set_progress_bar_config(**config)
    return i2i


def _is_img2img(cls) -> bool:
    params = inspect.signature(cls.__call__).parameters
    return "strength" in params and "image" in params and "mask_image" not in params


def _as_pil(image) -> PIL.Image.Image:
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")  # a copy: the caller's image is left alone
    if torch.is_tensor(image):
        image = image.detach().cpu().numpy()
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, -1)
    if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
        raise ValueError(f"image must be [H, W, 3] (or a PIL image), got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = (np.clip(arr.astype(np.float64), 0, 1) * 255).round().astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(arr[..., :3]))


PROBE_FAMILIES = (
    "StableDiffusionPipeline",
    "StableDiffusionImg2ImgPipeline",
    "StableDiffusionXLPipeline",
    "StableDiffusionXLImg2ImgPipeline",
)


def probe_timesteps(num_train_timesteps: int, strength: float, n: int) -> list[int]:
    """``n`` training time steps spread evenly over (0, strength * T]."""
    if n < 1:
        raise ValueError(f"probe mode needs at least one time step, got steps={n}")
    return [max(0, round(strength * num_train_timesteps * (k + 1) / n) - 1) for k in range(n)]


def _default(pipe, name: str):
    param = inspect.signature(type(pipe).__call__).parameters.get(name)
    return None if param is None else param.default


@torch.no_grad()
def _probe(pipe, picture, prompt, strength, steps, seed, timesteps, guidance_scale, negative_prompt) -> None:
    adapter = adapter_for(pipe)
    if adapter.family not in PROBE_FAMILIES:
        raise NotImplementedError(
            f"daam.attribute(mode='probe') supports {', '.join(PROBE_FAMILIES)}, not {adapter.family}: "
            "use mode='denoise'"
        )
    unet, vae, scheduler = pipe.unet, pipe.vae, pipe.scheduler
    acp = getattr(scheduler, "alphas_cumprod", None)
    if acp is None:
        raise NotImplementedError(
            f"probe mode needs a DDPM-family scheduler (alphas_cumprod); {type(scheduler).__name__}"
        )
    total = int(scheduler.config.num_train_timesteps)
    ts = list(timesteps) if timesteps is not None else probe_timesteps(total, strength, steps or PROBES)
    bad = [t for t in ts if not 0 <= int(t) < total]
    if bad or not ts:
        raise ValueError(f"probe time steps must lie in [0, {total - 1}], got {ts}")
    device = pipe._execution_device
    x = pipe.image_processor.preprocess(picture).to(device, vae.dtype)
    latents = vae.encode(x).latent_dist.mode()
    shift = getattr(vae.config, "shift_factor", None)
    latents = ((latents - shift) if shift else latents) * vae.config.scaling_factor
    noise = torch.randn(latents.shape, generator=torch.Generator().manual_seed(int(seed)), dtype=torch.float32)
    noise = noise.to(device)
    scale = guidance_scale if guidance_scale is not None else _default(pipe, "guidance_scale")
    cfg = scale is not None and scale > 1 and unet.config.time_cond_proj_dim is None
    encoded = pipe.encode_prompt(
        prompt=prompt,
        device=device,
        num_images_per_prompt=1,
        do_classifier_free_guidance=cfg,
        negative_prompt=negative_prompt,
    )
    cond, uncond = encoded[0], encoded[1]
    ehs = torch.cat([uncond, cond]) if cfg else cond
    added = None
    if adapter.family.startswith("StableDiffusionXL"):
        pooled = torch.cat([encoded[3], encoded[2]]) if cfg else encoded[2]
        h, w = x.shape[-2:]
        if getattr(pipe.config, "requires_aesthetics_score", False):
            ids = [h, w, 0, 0, 6.0]  # diffusers' default aesthetic score
        else:
            ids = [h, w, 0, 0, h, w]
        time_ids = torch.tensor([ids], dtype=ehs.dtype, device=device).repeat(ehs.shape[0], 1)
        added = {"text_embeds": pooled, "time_ids": time_ids}
    for t in ts:
        a = acp[int(t)].to(device, torch.float32)
        noisy = (a.sqrt() * latents.float() + (1 - a).sqrt() * noise).to(unet.dtype)
        sample = torch.cat([noisy] * 2) if cfg else noisy
        unet(
            sample,
            torch.tensor(int(t), device=device),
            encoder_hidden_states=ehs,
            added_cond_kwargs=added,
            return_dict=False,
        )
