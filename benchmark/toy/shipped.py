"""Where the trained toy model ships, and the random-weight fallback before it exists."""
from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR = Path(__file__).parent / "weights"


def shipped_model() -> Path | None:
    return WEIGHTS_DIR if (WEIGHTS_DIR / "model_index.json").exists() else None


def build_random_pipeline(dest: Path) -> Path:
    """The toy architecture with random weights, saved like a trained one."""
    import torch

    from benchmark.toy import model as toy_model
    from benchmark.toy.tokenizer import build_clip_tokenizer

    if (dest / "model_index.json").exists():
        return dest
    torch.manual_seed(0)
    tok = build_clip_tokenizer(dest.parent / (dest.name + "-tokenizer"))
    pipe = toy_model.assemble_pipeline(toy_model.build_unet(), toy_model.build_vae(), toy_model.build_text_encoder(), tok)
    tmp = dest.with_name(dest.name + ".tmp")
    pipe.save_pretrained(tmp)
    tmp.replace(dest)
    return dest


def shipped_or_random(workspace: Path) -> tuple[Path, str | None]:
    model = shipped_model()
    if model is not None:
        return model, None
    path = build_random_pipeline(Path(workspace) / "models" / "toy-random")
    return path, ("the trained toy model is not shipped yet: running the toy architecture with RANDOM weights "
                  "end to end; its images, maps and scores are meaningless")
