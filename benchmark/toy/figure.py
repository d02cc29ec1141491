"""A picture of DAAM on the toy model: each prompt's image, then one overlay per word."""

from __future__ import annotations

import textwrap
from pathlib import Path

EXAMPLE_PROMPTS = (
    "a red circle and a blue square",
    "a yellow triangle above a green star",
    "an orange star, a purple circle and a blue triangle",
)


def example_figure(
    pipe,
    out: str | Path,
    prompts=EXAMPLE_PROMPTS,
    seed: int = 0,
    steps: int = 50,
    guidance: float = 5.0,
    size: int = 32,
    renders: bool = False,
    strength: float = 0.6,
) -> Path:
    """With ``renders``, real scenes of 1, 2 and 3 objects are noised to ``strength`` and
    denoised through the model while tracing (attribution of an existing image); otherwise the
    prompts are generated from noise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    import daam

    rows = []
    if renders:
        from diffusers import StableDiffusionImg2ImgPipeline
        from PIL import Image

        from benchmark.toy.world import SceneSampler, render

        i2i = StableDiffusionImg2ImgPipeline(
            **{**pipe.components, "safety_checker": None}, requires_safety_checker=False
        )
        i2i.set_progress_bar_config(disable=True)
        rng = np.random.default_rng(seed)
        sampler = SceneSampler(size=size)
        for i, n in enumerate((1, 2, 3)):
            scene = sampler.sample(rng, n=n)
            with daam.trace(i2i) as tc:
                image = i2i(
                    scene.caption,
                    image=Image.fromarray(render(scene)[0]),
                    strength=strength,
                    num_inference_steps=steps,
                    guidance_scale=guidance,
                    generator=torch.Generator().manual_seed(seed + i),
                ).images[0]
            rows.append((scene.caption, np.asarray(image), tc.results()[0]))
    for i, prompt in enumerate(() if renders else prompts):
        with daam.trace(pipe) as tc:
            image = pipe(
                prompt,
                num_inference_steps=steps,
                guidance_scale=guidance,
                height=size,
                width=size,
                generator=torch.Generator().manual_seed(seed + i),
            ).images[0]
        rows.append((prompt, np.asarray(image), tc.results()[0]))
    words = [
        [
            w
            for w in r.prompt_words()
            if w.text.isalpha() and w.text.lower() not in {"a", "an", "and", "the", "of", "to"}
        ]
        for _, _, r in rows
    ]
    from daam.maps import add_colorbar, overlay

    cols = 1 + max(len(w) for w in words)
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.6 * cols, 1.75 * len(rows)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for (prompt, image, maps), ws, ax_row in zip(rows, words, axes):
        ax_row[0].imshow(image, interpolation="nearest")
        ax_row[0].set_title(textwrap.fill(prompt, 24), fontsize=7)
        for ax, w in zip(ax_row[1:], ws):
            ax.imshow(overlay(image, maps.word_map(w.text, w.occurrence).soft), interpolation="nearest")
            ax.set_title(w.text, fontsize=8)
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    add_colorbar(list(axes.flat))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
