"""Tiny real diffusers pipelines built from configs, saved and reloaded from a local path."""

from benchmark.tiny import build_sd, build_sdxl, load, tiny_text_encoder, tiny_unet, tiny_vae  # noqa: F401
