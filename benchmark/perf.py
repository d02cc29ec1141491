"""``bench perf``: what tracing costs, measured side by side in one run.

On the full SD 2 base UNet architecture (random weights: only the shapes matter for cost), a
64x64 latent and a classifier-free-guidance batch of 2, we time the same generation with and
without ``daam.trace`` in alternation and report the ratio of CPU times, plus the trace state
per image. Absolute times on shared machines are noisy; the interleaved ratio is not.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass


@dataclass
class PerfResult:
    unet_parameters_m: float
    latent: int
    steps: int
    repeats: int
    untraced_cpu_s: list[float]
    traced_cpu_s: list[float]
    ratio: float
    state_mib_per_image: float
    threads: int

    def to_dict(self) -> dict:
        return asdict(self)


def sd2_base_unet():
    """SD 2 base's UNet from its published config (random weights)."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        attention_head_dim=(5, 10, 20, 20), cross_attention_dim=1024, use_linear_projection=True,
    )


def build_pipeline(tokenizer_dir):
    """SD2-base UNet behind a small text encoder (1024-d output, one layer) and a tiny VAE.

    Only the UNet's cross-attention is traced, so the text encoder and VAE sizes do not change
    the traced/untraced ratio; images are returned as latents (no VAE decode is timed).
    """
    import torch
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from benchmark.toy.model import build_vae

    torch.manual_seed(0)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=1024, intermediate_size=1024,
                                        num_hidden_layers=1, num_attention_heads=16, max_position_embeddings=77))
    pipe = StableDiffusionPipeline(vae=build_vae(), text_encoder=text, tokenizer=CLIPTokenizer.from_pretrained(tokenizer_dir),
                                   unet=sd2_base_unet(), scheduler=DPMSolverMultistepScheduler(),
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.vae_scale_factor = 8  # as SD's VAE: a 64x64 latent stands for a 512x512 image
    pipe.set_progress_bar_config(disable=True)
    return pipe


def measure(steps: int = 2, repeats: int = 3, threads: int | None = None, progress=print) -> PerfResult:
    import tempfile

    import torch

    import daam
    from benchmark.toy.tokenizer import build_clip_tokenizer

    if threads:
        torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        build_clip_tokenizer(tmp)
        pipe = build_pipeline(tmp)
    latents = torch.randn(1, 4, 64, 64, generator=torch.Generator().manual_seed(0))
    kw = dict(prompt="a photo of a dog and a cat", num_inference_steps=steps, guidance_scale=7.5,
              latents=latents, height=512, width=512, output_type="latent")
    untraced, traced, state = [], [], 0
    with torch.inference_mode():
        pipe(**{**kw, "num_inference_steps": 1})  # warm-up: allocator, kernels
        for r in range(repeats):
            for mode in ("untraced", "traced") if r % 2 == 0 else ("traced", "untraced"):
                t0 = time.process_time()
                if mode == "traced":
                    with daam.trace(pipe) as tc:
                        pipe(**kw)
                    state = tc.state_nbytes()
                    traced.append(time.process_time() - t0)
                else:
                    pipe(**kw)
                    untraced.append(time.process_time() - t0)
                progress(f"repeat {r + 1}/{repeats} {mode}: {(traced if mode == 'traced' else untraced)[-1]:.1f} s CPU")
    n = sum(p.numel() for p in pipe.unet.parameters()) / 1e6
    return PerfResult(round(n, 1), 64, steps, repeats, [round(x, 2) for x in untraced], [round(x, 2) for x in traced],
                      round(sum(traced) / sum(untraced), 4), round(state / 2**20, 3), torch.get_num_threads())
