"""``bench perf``: what tracing costs, measured side by side in one run.

On a real architecture's width (random weights: only the shapes matter for cost) we time the
same generation with and without ``daam.trace`` in ABBA order and report the ratio of CPU times
(median of per-pair ratios and the ratio of minima, with their spread), plus the trace state per
image. Absolute times on shared machines are noisy; the interleaved ratio much less so.

Architectures (``--arch``): ``sd2`` (SD 2 base UNet, full, 512 px), ``sdxl`` (SDXL's UNet width,
1024 px, the 10-layer transformer stacks of its lowest level cut to 2), ``sd3.5`` (SD3.5 Large's
MMDiT width: 38 heads x 64, 4096-d text, 1024 px = 4096 image tokens, 77 CLIP + 256 T5 text
tokens, depth cut to ``--depth`` blocks of 38) and ``flux`` (FLUX.1-dev's width: 24 heads x 128,
1024 px = 4096 image tokens, 512 T5 tokens, ``--depth`` double- and single-stream blocks of
19 and 38). Text encoders are one-layer stand-ins of the real output widths and the VAE a tiny
one (images stay latents): only the denoiser is traced, so only its cost matters.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass


@dataclass
class PerfResult:
    arch: str
    denoiser: str  # what was built, depth included
    unet_parameters_m: float  # the denoiser's parameters (name kept for old JSON readers)
    latent: int
    image_tokens: int
    text_tokens: int
    steps: int
    repeats: int
    untraced_cpu_s: list[float]
    traced_cpu_s: list[float]
    ratio: float  # sum traced / sum untraced
    ratio_median: float  # median of per-pair ratios
    ratio_min: float  # min traced / min untraced
    pair_ratio_spread: tuple[float, float]  # lowest and highest per-pair ratio
    state_mib_per_image: float
    threads: int

    @property
    def noisy(self) -> bool:
        """The pairs disagree by more than the effect measured."""
        lo, hi = self.pair_ratio_spread
        return (hi - lo) > abs(self.ratio_median - 1.0)

    def to_dict(self) -> dict:
        return asdict(self)


def sd2_base_unet():
    """SD 2 base's UNet from its published config (random weights)."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=64,
        in_channels=4,
        out_channels=4,
        layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        attention_head_dim=(5, 10, 20, 20),
        cross_attention_dim=1024,
        use_linear_projection=True,
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
    text = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=49408,
            hidden_size=1024,
            intermediate_size=1024,
            num_hidden_layers=1,
            num_attention_heads=16,
            max_position_embeddings=77,
        )
    )
    pipe = StableDiffusionPipeline(
        vae=build_vae(),
        text_encoder=text,
        tokenizer=CLIPTokenizer.from_pretrained(tokenizer_dir),
        unet=sd2_base_unet(),
        scheduler=DPMSolverMultistepScheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.vae_scale_factor = 8  # as SD's VAE: a 64x64 latent stands for a 512x512 image
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _clip(hidden: int, projection: bool = True):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    cls = CLIPTextModelWithProjection if projection else CLIPTextModel
    return cls(
        CLIPTextConfig(
            vocab_size=49408,
            hidden_size=hidden,
            intermediate_size=hidden,
            num_hidden_layers=1,
            num_attention_heads=hidden // 64,
            max_position_embeddings=77,
            projection_dim=hidden,
        )
    )


def _t5(d_model: int, vocab: int):
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(
        T5Config(
            vocab_size=vocab,
            d_model=d_model,
            d_kv=64,
            d_ff=64,
            num_layers=1,
            num_heads=1,
            decoder_start_token_id=0,
            pad_token_id=0,
            eos_token_id=1,
        )
    )


def _latent_vae(channels: int):
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(32, 32, 32, 32),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=channels,
        norm_num_groups=16,
        sample_size=64,
        shift_factor=0.0,
    )


def build_arch(arch: str, tmp: str, depth: int = 1):
    """(pipeline, call kwargs, denoiser description, image tokens, text tokens) for ``arch``."""
    import torch
    from transformers import CLIPTokenizer, T5TokenizerFast

    from benchmark.toy.tokenizer import build_clip_tokenizer

    build_clip_tokenizer(tmp)
    torch.manual_seed(0)
    # 26 words: 28 CLIP tokens, 27 T5 tokens (the stand-in T5 keeps common words whole, as T5 does)
    prompt = "a photo of a big dog and a small cat sitting next to a red car on a green field with a tree and a house"
    if arch == "sd2":
        pipe = build_pipeline(tmp)
        latents = torch.randn(1, 4, 64, 64, generator=torch.Generator().manual_seed(0))
        kw = dict(prompt=prompt, guidance_scale=7.5, latents=latents, height=512, width=512)
        return pipe, kw, "SD 2 base UNet (full)", 64 * 64, 77
    if arch == "sdxl":
        from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel

        unet = UNet2DConditionModel(
            sample_size=128,
            in_channels=4,
            out_channels=4,
            layers_per_block=2,
            block_out_channels=(320, 640, 1280),
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
            attention_head_dim=(5, 10, 20),
            cross_attention_dim=2048,
            use_linear_projection=True,
            transformer_layers_per_block=(1, 2, 2),
            addition_embed_type="text_time",
            addition_time_embed_dim=256,
            projection_class_embeddings_input_dim=2816,
        )
        tok = CLIPTokenizer.from_pretrained(tmp)
        pipe = StableDiffusionXLPipeline(
            vae=_latent_vae(4),
            text_encoder=_clip(768, projection=False),
            text_encoder_2=_clip(1280),
            tokenizer=tok,
            tokenizer_2=tok,
            unet=unet,
            scheduler=EulerDiscreteScheduler(),
        )
        latents = torch.randn(1, 4, 128, 128, generator=torch.Generator().manual_seed(0))
        kw = dict(prompt=prompt, guidance_scale=7.5, latents=latents, height=1024, width=1024)
        return pipe, kw, "SDXL UNet width, transformer depth (1, 2, 2) of (1, 2, 10)", 128 * 128, 77
    from benchmark.toy.tokenizer import build_t5_tokenizer

    build_t5_tokenizer(tmp + "/t5")
    t5_tok = T5TokenizerFast.from_pretrained(tmp + "/t5")
    clip_tok = CLIPTokenizer.from_pretrained(tmp)
    if arch == "sd3.5":
        from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline

        transformer = SD3Transformer2DModel(
            sample_size=128,
            patch_size=2,
            in_channels=16,
            num_layers=depth,
            attention_head_dim=64,
            num_attention_heads=38,
            joint_attention_dim=4096,
            caption_projection_dim=2432,
            pooled_projection_dim=2048,
            out_channels=16,
            pos_embed_max_size=192,
            qk_norm="rms_norm",
        )
        pipe = StableDiffusion3Pipeline(
            transformer=transformer,
            scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
            vae=_latent_vae(16),
            text_encoder=_clip(768),
            tokenizer=clip_tok,
            text_encoder_2=_clip(1280),
            tokenizer_2=clip_tok,
            text_encoder_3=_t5(4096, len(t5_tok)),
            tokenizer_3=t5_tok,
        )
        latents = torch.randn(1, 16, 128, 128, generator=torch.Generator().manual_seed(0))
        kw = dict(prompt=prompt, guidance_scale=3.5, latents=latents, height=1024, width=1024, max_sequence_length=256)
        return pipe, kw, f"SD3.5 Large MMDiT width, {depth} of 38 joint blocks", 64 * 64, 77 + 256
    if arch == "flux":
        from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel

        transformer = FluxTransformer2DModel(
            patch_size=1,
            in_channels=64,
            num_layers=depth,
            num_single_layers=depth,
            attention_head_dim=128,
            num_attention_heads=24,
            joint_attention_dim=4096,
            pooled_projection_dim=768,
            guidance_embeds=True,
            axes_dims_rope=(16, 56, 56),
        )
        pipe = FluxPipeline(
            scheduler=FlowMatchEulerDiscreteScheduler(),
            vae=_latent_vae(16),
            text_encoder=_clip(768, projection=False),
            tokenizer=clip_tok,
            text_encoder_2=_t5(4096, len(t5_tok)),
            tokenizer_2=t5_tok,
            transformer=transformer,
        )
        latents = torch.randn(1, 4096, 64, generator=torch.Generator().manual_seed(0))
        kw = dict(prompt=prompt, guidance_scale=3.5, latents=latents, height=1024, width=1024, max_sequence_length=512)
        return pipe, kw, f"FLUX.1-dev width, {depth} of 19 double + {depth} of 38 single blocks", 64 * 64, 512
    raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHS)}")


ARCHS = ("sd2", "sdxl", "sd3.5", "flux")


def measure(
    steps: int = 2, repeats: int = 3, threads: int | None = None, progress=print, arch: str = "sd2", depth: int = 1
) -> PerfResult:
    """Untraced and traced generations in ABBA order (pairs alternate which goes first)."""
    import statistics
    import tempfile

    import torch

    import daam

    if threads:
        torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        pipe, kw, what, image_tokens, text_tokens = build_arch(arch, tmp, depth)
    pipe.set_progress_bar_config(disable=True)
    kw = {**kw, "num_inference_steps": steps, "output_type": "latent"}
    denoiser = getattr(pipe, "unet", None) or pipe.transformer
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
                progress(
                    f"{arch} repeat {r + 1}/{repeats} {mode}: {(traced if mode == 'traced' else untraced)[-1]:.1f} s CPU"
                )
    n = sum(p.numel() for p in denoiser.parameters()) / 1e6
    pairs = [t / u for t, u in zip(traced, untraced)]
    latent = int(kw["latents"].shape[-1]) if kw["latents"].ndim == 4 else int(image_tokens**0.5) * 2
    return PerfResult(
        arch,
        what,
        round(n, 1),
        latent,
        image_tokens,
        text_tokens,
        steps,
        repeats,
        [round(x, 2) for x in untraced],
        [round(x, 2) for x in traced],
        round(sum(traced) / sum(untraced), 4),
        round(statistics.median(pairs), 4),
        round(min(traced) / min(untraced), 4),
        (round(min(pairs), 4), round(max(pairs), 4)),
        round(state / 2**20, 3),
        torch.get_num_threads(),
    )
