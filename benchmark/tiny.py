"""Tiny real diffusers pipelines built from configs: SD, SDXL, SD3/3.5, FLUX.1, PixArt-Sigma.

Shapes follow diffusers' own ``get_dummy_components``; tokenizers are built offline (the real
CLIP BPE from the merges file open_clip ships; a T5-style SentencePiece Unigram from an explicit
vocabulary, ``benchmark/toy/tokenizer.py``). The test suite builds these, saves them with
``save_pretrained`` and reloads them from the folder like a user's weights; ``bench perf
--peers`` times tracing on them beside other libraries.
"""

from __future__ import annotations

from pathlib import Path

import torch

from benchmark.toy.tokenizer import build_t5_tokenizer  # noqa: F401  (re-exported)


def tiny_unet(cross_dim=32, sdxl=False):
    from diffusers import UNet2DConditionModel

    kw = {}
    if sdxl:
        kw = dict(
            addition_embed_type="text_time",
            addition_time_embed_dim=8,
            projection_class_embeddings_input_dim=8 * 6 + 16,  # time ids + text_encoder_2 projection
            transformer_layers_per_block=(1, 2),
            use_linear_projection=True,
        )
    return UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        block_out_channels=(32, 64),
        layers_per_block=1,
        attention_head_dim=(2, 4),
        cross_attention_dim=cross_dim,
        norm_num_groups=16,
        **kw,
    )


def tiny_vae():
    from diffusers import AutoencoderKL

    # four blocks keep Stable Diffusion's 8x latent factor (two blocks would give 2x)
    return AutoencoderKL(
        block_out_channels=(32, 32, 32, 32),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=16,
        sample_size=64,
    )


def tiny_text_encoder(hidden=32, with_projection=False):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    cfg = CLIPTextConfig(
        vocab_size=49408,
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=77,
        projection_dim=hidden,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
    )
    return (CLIPTextModelWithProjection if with_projection else CLIPTextModel)(cfg)


def build_sd(path: Path, tokenizer_dir: Path) -> Path:
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline
    from transformers import CLIPTokenizer

    torch.manual_seed(0)
    pipe = StableDiffusionPipeline(
        vae=tiny_vae(),
        text_encoder=tiny_text_encoder(),
        tokenizer=CLIPTokenizer.from_pretrained(tokenizer_dir),
        unet=tiny_unet(),
        scheduler=DPMSolverMultistepScheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(path)
    return path


def build_sdxl(path: Path, tokenizer_dir: Path) -> Path:
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline
    from transformers import CLIPTokenizer

    torch.manual_seed(0)
    tok = CLIPTokenizer.from_pretrained(tokenizer_dir)
    pipe = StableDiffusionXLPipeline(
        vae=tiny_vae(),
        text_encoder=tiny_text_encoder(16),
        text_encoder_2=tiny_text_encoder(16, True),
        tokenizer=tok,
        tokenizer_2=tok,
        unet=tiny_unet(cross_dim=32, sdxl=True),
        scheduler=EulerDiscreteScheduler(),
    )
    pipe.save_pretrained(path)
    return path


def load(cls_name: str, path: Path):
    import diffusers

    pipe = getattr(diffusers, cls_name).from_pretrained(str(path), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def tiny_t5(vocab: int, d_model: int = 32):
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(
        T5Config(
            vocab_size=vocab,
            d_model=d_model,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            decoder_start_token_id=0,
            pad_token_id=0,
            eos_token_id=1,
        )
    )


def _clip(hidden: int, projection: bool):
    return tiny_text_encoder(hidden, with_projection=projection)


def _flow_vae(latent_channels: int = 4):
    from diffusers import AutoencoderKL

    # SD3 and FLUX shift latents (shift_factor 0 keeps the tiny VAE's range); SD3's inpainting
    # pipeline insists on its 16 latent channels
    return AutoencoderKL(
        block_out_channels=(32, 32, 32, 32),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=latent_channels,
        norm_num_groups=16,
        sample_size=64,
        shift_factor=0.0,
    )


def build_sd3(path: Path, clip_dir: Path, t5_dir: Path, dual: bool = False) -> Path:
    """SD3 (``dual=True``: SD3.5's dual attention in block 0, qk RMS norm)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline
    from transformers import CLIPTokenizer, T5TokenizerFast

    torch.manual_seed(0)
    t5_tok = T5TokenizerFast.from_pretrained(t5_dir)
    transformer = SD3Transformer2DModel(
        sample_size=16,
        patch_size=2,
        in_channels=16,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=4,
        caption_projection_dim=32,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        out_channels=16,
        pos_embed_max_size=32,
        dual_attention_layers=(0,) if dual else (),
        qk_norm="rms_norm" if dual else None,
    )
    clip_tok = CLIPTokenizer.from_pretrained(clip_dir)
    pipe = StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_flow_vae(16),
        text_encoder=_clip(16, True),
        tokenizer=clip_tok,
        text_encoder_2=_clip(16, True),
        tokenizer_2=clip_tok,
        text_encoder_3=tiny_t5(len(t5_tok)),
        tokenizer_3=t5_tok,
    )
    pipe.save_pretrained(path)
    return path


def build_flux(path: Path, clip_dir: Path, t5_dir: Path) -> Path:
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTokenizer, T5TokenizerFast

    torch.manual_seed(0)
    t5_tok = T5TokenizerFast.from_pretrained(t5_dir)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=16,
        num_layers=2,
        num_single_layers=2,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        axes_dims_rope=(4, 6, 6),
    )
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_flow_vae(),
        text_encoder=_clip(32, False),
        tokenizer=CLIPTokenizer.from_pretrained(clip_dir),
        text_encoder_2=tiny_t5(len(t5_tok)),
        tokenizer_2=t5_tok,
        transformer=transformer,
    )
    pipe.save_pretrained(path)
    return path


def build_pixart(path: Path, t5_dir: Path) -> Path:
    from diffusers import DPMSolverMultistepScheduler, PixArtSigmaPipeline, PixArtTransformer2DModel
    from transformers import T5TokenizerFast

    torch.manual_seed(0)
    t5_tok = T5TokenizerFast.from_pretrained(t5_dir)
    transformer = PixArtTransformer2DModel(
        sample_size=32,
        num_layers=2,
        patch_size=2,
        attention_head_dim=8,
        num_attention_heads=3,
        caption_channels=32,
        in_channels=4,
        cross_attention_dim=24,
        out_channels=8,
        attention_bias=True,
        activation_fn="gelu-approximate",
        num_embeds_ada_norm=1000,
        norm_type="ada_norm_single",
        norm_elementwise_affine=False,
        norm_eps=1e-6,
    )
    pipe = PixArtSigmaPipeline(
        tokenizer=t5_tok,
        text_encoder=tiny_t5(len(t5_tok)),
        vae=tiny_vae(),
        transformer=transformer,
        scheduler=DPMSolverMultistepScheduler(),
    )
    pipe.save_pretrained(path)
    return path


def build_chroma(path: Path, t5_dir: Path) -> Path:
    from diffusers import ChromaPipeline, ChromaTransformer2DModel, FlowMatchEulerDiscreteScheduler
    from transformers import T5TokenizerFast

    torch.manual_seed(0)
    t5_tok = T5TokenizerFast.from_pretrained(t5_dir)
    transformer = ChromaTransformer2DModel(
        patch_size=1,
        in_channels=16,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        axes_dims_rope=(4, 6, 6),
        approximator_num_channels=8,
        approximator_hidden_dim=32,
        approximator_layers=1,
    )
    pipe = ChromaPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_flow_vae(),
        text_encoder=tiny_t5(len(t5_tok)),
        tokenizer=t5_tok,
        transformer=transformer,
    )
    pipe.save_pretrained(path)
    return path
