"""Loading text-to-image pipelines by hub id or local path, and naming what was loaded."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

SCHEDULERS = {
    "dpm": "DPMSolverMultistepScheduler",  # the paper: 30 DPM-Solver steps
    "ddim": "DDIMScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler-a": "EulerAncestralDiscreteScheduler",
    "pndm": "PNDMScheduler",
}
PAPER_MODEL = "stabilityai/stable-diffusion-2-base"


def _scheduler_class(model: str) -> str | None:
    """The scheduler class a pipeline folder (or cached hub snapshot) ships, from model_index.json."""
    try:
        import diffusers

        entry = diffusers.DiffusionPipeline.load_config(model, local_files_only=True).get("scheduler")
    except Exception:
        return None
    return entry[1] if isinstance(entry, (list, tuple)) and len(entry) == 2 else None


def is_flow_matching(model: str) -> bool:
    """Flow-matching pipelines (SD3, FLUX, ...) sample with their own scheduler only."""
    name = _scheduler_class(model)
    return bool(name) and name.startswith("FlowMatch")


def default_scheduler(model: str) -> str | None:
    """The paper's DPM solver for DDPM-trained UNets; the model's own scheduler for flow matching."""
    return None if is_flow_matching(model) else "dpm"


class ModelLoadError(RuntimeError):
    pass


def pick_device(device: str = "auto"):
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def load_pipeline(model: str, scheduler: str | None = "dpm", device: str = "auto", dtype: str = "auto"):
    """A diffusers pipeline from a local folder or a hub id (hub ids need the weights cached)."""
    import diffusers
    import torch

    if scheduler is not None and scheduler not in SCHEDULERS:
        raise ModelLoadError(f"unknown scheduler {scheduler!r}; choose from {', '.join(SCHEDULERS)}")
    device = pick_device(device)
    torch_dtype = {
        "auto": torch.float16 if device.startswith("cuda") else torch.float32,
        "fp16": torch.float16,
        "bf16": torch.bfloat16,
        "fp32": torch.float32,
    }[dtype]
    local = Path(model).is_dir()
    if not local and ("/" not in model or Path(model).suffix or model.startswith((".", "/"))):
        raise ModelLoadError(f"model {model!r} is neither a local pipeline folder nor a hub id (owner/name)")
    try:
        pipe = diffusers.DiffusionPipeline.from_pretrained(
            model, torch_dtype=torch_dtype, local_files_only=local or os.environ.get("HF_HUB_OFFLINE") == "1"
        )
    except (OSError, ValueError) as e:
        where = "the folder" if local else "the Hugging Face cache or hub"
        raise ModelLoadError(f"cannot load model {model!r} from {where}: {str(e).splitlines()[0]}") from None
    if scheduler is not None and type(pipe.scheduler).__name__.startswith("FlowMatch"):
        raise ModelLoadError(
            f"scheduler {scheduler!r} is for DDPM-trained pipelines; {type(pipe).__name__} samples "
            f"with its own {type(pipe.scheduler).__name__}: use --scheduler model"
        )
    if scheduler is not None:
        cls = getattr(diffusers, SCHEDULERS[scheduler])
        pipe.scheduler = cls.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def model_revision(model: str) -> str:
    """A content fingerprint: for a folder, a hash of its configs and weight file sizes;
    for a hub id, the cached snapshot's commit (or 'hub' when unknown)."""
    path = Path(model)
    if path.is_dir():
        h = hashlib.sha256()
        for f in sorted(path.rglob("*")):
            if f.is_file() and f.suffix in {".json", ".txt", ".safetensors", ".bin"}:
                h.update(str(f.relative_to(path)).encode())
                if f.suffix == ".json":
                    h.update(f.read_bytes())
                else:
                    h.update(str(f.stat().st_size).encode())
        return "sha256:" + h.hexdigest()[:16]
    try:
        from huggingface_hub import snapshot_download

        snap = snapshot_download(model, local_files_only=True)
        return "git:" + Path(snap).name
    except Exception:
        return "hub"


def model_tag(model: str) -> str:
    path = Path(model)
    name = path.name if path.is_dir() else model.replace("/", "_")
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def settings_hash(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
