"""castorini/daam 0.2.0 timed on a tiny SD pipeline at 512 px, inside its own environment.

castorini/daam pins diffusers 0.21 and transformers 4.30, so it cannot share our environment;
``bench perf --peers --castorini-python PATH`` runs this file with that environment's Python
(standard library, torch and that diffusers only; nothing of ours is imported) and reads one JSON
line back. The tiny pipeline is built from the same configs as ``benchmark/tiny.py`` (SD UNet
32/64 channels, 4-block VAE, 2-layer CLIP text encoder) with the CLIP tokenizer folder we pass.
castorini/daam hard-codes a 64x64 latent, hence 512 px. Rounds alternate which goes first; the
heat map is computed inside the timed traced run (our tracer aggregates while it runs).
"""

from __future__ import annotations

import json
import sys
import time


def main(tokenizer_dir: str, rounds: int, steps: int) -> None:
    import numpy as np
    import torch
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    import daam  # castorini/daam

    torch.set_num_threads(1)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=64,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D",) * 2,
        up_block_types=("CrossAttnUpBlock2D",) * 2,
        block_out_channels=(32, 64),
        layers_per_block=1,
        attention_head_dim=(2, 4),
        cross_attention_dim=32,
        norm_num_groups=16,
    )
    vae = AutoencoderKL(
        block_out_channels=(32,) * 4,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=16,
        sample_size=512,
    )
    text = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=49408,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=77,
            bos_token_id=49406,
            eos_token_id=49407,
            pad_token_id=49407,
        )
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text,
        tokenizer=CLIPTokenizer.from_pretrained(tokenizer_dir),
        unet=unet,
        scheduler=DPMSolverMultistepScheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    prompt = "a dog and a cat on a sofa"

    def run(mode: str):
        g = torch.Generator().manual_seed(0)
        t0 = time.process_time()
        if mode == "traced":
            with daam.trace(pipe) as tc:
                out = pipe(prompt, num_inference_steps=steps, generator=g, output_type="np").images
                tc.compute_global_heat_map().compute_word_heat_map("dog")
        else:
            out = pipe(prompt, num_inference_steps=steps, generator=g, output_type="np").images
        return time.process_time() - t0, out

    with torch.inference_mode():
        _, ref = run("untraced")  # warm-up
        untraced, traced, same = [], [], True
        for r in range(rounds):
            for mode in ("untraced", "traced") if r % 2 == 0 else ("traced", "untraced"):
                seconds, out = run(mode)
                (traced if mode == "traced" else untraced).append(round(seconds, 3))
                if mode == "traced":
                    same = same and bool(np.array_equal(ref, out))
    print(
        json.dumps(
            {
                "untraced_cpu_s": untraced,
                "traced_cpu_s": traced,
                "bitwise": same,
                "daam_version": getattr(daam, "__version__", "?"),
                "size": 512,
                "steps": steps,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
