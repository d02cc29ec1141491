"""Tiny real diffusers pipelines built from configs, saved and reloaded from a local path."""
from __future__ import annotations

from pathlib import Path

import torch


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
        vocab_size=49408, hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=77, projection_dim=hidden,
        bos_token_id=49406, eos_token_id=49407, pad_token_id=49407,
    )
    return (CLIPTextModelWithProjection if with_projection else CLIPTextModel)(cfg)


def build_sd(path: Path, tokenizer_dir: Path) -> Path:
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline
    from transformers import CLIPTokenizer

    torch.manual_seed(0)
    pipe = StableDiffusionPipeline(
        vae=tiny_vae(), text_encoder=tiny_text_encoder(), tokenizer=CLIPTokenizer.from_pretrained(tokenizer_dir),
        unet=tiny_unet(), scheduler=DPMSolverMultistepScheduler(), safety_checker=None,
        feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(path)
    return path


def build_sdxl(path: Path, tokenizer_dir: Path) -> Path:
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline
    from transformers import CLIPTokenizer

    torch.manual_seed(0)
    tok = CLIPTokenizer.from_pretrained(tokenizer_dir)
    pipe = StableDiffusionXLPipeline(
        vae=tiny_vae(), text_encoder=tiny_text_encoder(16), text_encoder_2=tiny_text_encoder(16, True),
        tokenizer=tok, tokenizer_2=tok, unet=tiny_unet(cross_dim=32, sdxl=True), scheduler=EulerDiscreteScheduler(),
    )
    pipe.save_pretrained(path)
    return path


def load(cls_name: str, path: Path):
    import diffusers

    pipe = getattr(diffusers, cls_name).from_pretrained(str(path), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe
