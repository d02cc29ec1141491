"""Export a toy training state's EMA weights as a diffusers pipeline folder (what ships)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch

from benchmark.toy import model as toy_model


def export(out_dir: str | Path, dest: str | Path, fp16: bool = True) -> Path:
    """Write the EMA weights as a StableDiffusionPipeline folder (fp16 safetensors).

    ``out_dir`` is a training folder (``state.pt``, ``vae/``, ``tokenizer/``); ``dest`` is
    replaced atomically, and its ``training_step.txt`` names the step the weights are from.
    """
    from diffusers import AutoencoderKL
    from transformers import CLIPTokenizer

    out = Path(out_dir)
    st = torch.load(out / "state.pt", weights_only=True, map_location="cpu")
    unet, text_encoder = toy_model.build_unet(), toy_model.build_text_encoder()
    unet.load_state_dict(st["ema_unet"])
    text_encoder.load_state_dict({**st["text_encoder"], **st["ema_text"]})
    vae = AutoencoderKL.from_pretrained(out / "vae")
    pipe = toy_model.assemble_pipeline(unet, vae, text_encoder, CLIPTokenizer.from_pretrained(out / "tokenizer"))
    if fp16:
        pipe.to(torch.float16)
    tmp = Path(str(dest) + ".tmp")
    pipe.save_pretrained(tmp)
    (tmp / "training_step.txt").write_text(str(st["step"]))
    if Path(dest).exists():
        shutil.rmtree(dest)
    os.replace(tmp, dest)
    return Path(dest)
