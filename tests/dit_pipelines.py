"""Tiny diffusion-transformer pipelines (SD3/3.5, FLUX.1, PixArt-Sigma); see ``benchmark/tiny.py``."""

from benchmark.tiny import build_chroma, build_flux, build_pixart, build_sd3, build_t5_tokenizer, tiny_t5  # noqa: F401
