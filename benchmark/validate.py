"""Checks made before a run writes anything: settings, device, workspace, run name and model.

``benchmark.runner.run`` calls them first, so library users get them as well as ``bench run``.
Each failure is a ``UsageError``: one line naming the option (as the CLI spells it) and what it
accepts. The model is checked from its folder's files without loading weights (configs parse,
components exist, safetensors files hold every byte their header promises); the runner loads it
before ``prepare`` when work remains, and checks the image size against the loaded pipeline too.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any


class UsageError(ValueError):
    """A setting, path or name the user gave cannot work (exit code 2, one line)."""


def _integer(value: Any, option: str, low: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{option} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise UsageError(f"{option} must be an integer >= {low}, got {value}")


def check_settings(config, factor: int | None = None) -> None:
    """The run's numbers and names, without touching a file. ``factor``: the model's spatial
    factor (image sizes must be multiples of it); None: read from the model folder if it is one."""
    from benchmark.pipelines import SCHEDULERS

    if config.steps is not None:
        _integer(config.steps, "--steps")
    _integer(config.batch_size, "--batch-size")
    _integer(config.images_per_prompt, "--images-per-prompt")
    for value, option in ((config.limit, "--limit"), (config.size, "--size")):
        if value is not None:
            _integer(value, option)
    _integer(config.seed, "--seed", 0)
    strength = getattr(config, "strength", None)
    if strength is not None and (
        isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 < strength <= 1
    ):
        raise UsageError(f"--strength must be a number in (0, 1], got {strength!r}")
    if strength is not None and config.real_image_strength() is None:
        raise UsageError(f"--strength is for real-image splits (coco-real, voc-real, imagenet-seg), not {config.split}")
    if config.guidance is not None:
        g = config.guidance
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not math.isfinite(g):
            raise UsageError(f"--guidance must be a finite number (e.g. 7.5), got {g!r}")
    if config.scheduler is not None and config.scheduler not in SCHEDULERS:
        raise UsageError(f"--scheduler {config.scheduler!r} is unknown; choose from {', '.join(SCHEDULERS)} or 'model'")
    if factor is None:
        factor = spatial_factor(config.model)
    for value, option in ((config.height, "--height"), (config.width, "--width")):
        if value is not None:
            check_size(value, option, factor)
    if config.run_name is not None:
        check_run_name(config.run_name)
    if config.shard is not None:
        i, n = config.shard
        if not (isinstance(i, int) and isinstance(n, int) and n >= 1 and 0 <= i < n):
            raise UsageError(f"--shard takes i/n with 0 <= i < n, got {config.shard!r}")


def check_size(value: Any, option: str, factor: int | None) -> None:
    step = factor or 1
    example = f" (e.g. {step * 8}, {step * 16})" if step > 1 else ""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value % step:
        what = f"a positive multiple of {step}, the model's spatial factor" if step > 1 else "a positive integer"
        raise UsageError(f"{option} must be {what}{example}, got {value!r}")


def check_run_name(name: Any) -> str:
    import db

    try:
        return db.safe_name(name, "--run-name")
    except db.InvalidInputError as e:
        raise UsageError(str(e)) from None


def check_folder(path: Path, option: str) -> None:
    """``path`` is a folder or can become one (no file in the way)."""
    path = Path(path)
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                which = "is a file" if p == path else f"lies under {p}, which is a file"
                raise UsageError(f"{option} {path} {which}, not a folder")
            return


def check_workspace(path: Path) -> None:
    check_folder(path, "--workspace")


def check_classes(model: str) -> None:
    """Every component class a local model_index.json names exists in its library (an unknown
    scheduler class is named before diffusers starts loading)."""
    import importlib

    path = Path(model) / "model_index.json"
    if not path.is_file():
        return
    index = _read_json(path, model)
    for name, entry in index.items():
        if name.startswith("_") or not isinstance(entry, list) or len(entry) != 2 or None in entry:
            continue
        library, cls = entry
        if library not in ("diffusers", "transformers"):
            continue
        if not hasattr(importlib.import_module(library), cls):
            raise UsageError(f"--model {model}: model_index.json names {name} class {cls!r}, which {library} lacks")


def check_device(device: str) -> None:
    """``auto``, ``cpu`` or a device torch has on this machine (``cuda:7`` on a 1-GPU machine is not)."""
    if device in ("auto", "cpu"):
        return
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise UsageError(f"--device {device!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise UsageError(f"--device {device}: this machine has no CUDA device; use auto or cpu")
        if dev.index is not None and dev.index >= count:
            raise UsageError(f"--device {device}: this machine has cuda:0 to cuda:{count - 1}")
    elif dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise UsageError(f"--device {device}: MPS is not available here; use auto or cpu")
    elif dev.type != "cpu":
        raise UsageError(f"--device {device}: not supported here; use auto, cpu, cuda or cuda:N")


def _read_json(path: Path, model: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--model {model}: cannot read {path.name} ({e})") from None
    except json.JSONDecodeError as e:
        raise UsageError(
            f"--model {model}: {path.relative_to(model)} is not valid JSON ({e.msg}, line {e.lineno})"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"--model {model}: {path.relative_to(model)} is not a JSON object")
    return data


def _looks_like_path(model: str) -> bool:
    return Path(model).exists() or model.startswith((".", "/", "~")) or "/" not in model or model.count("/") > 1


def check_model(model: str) -> None:
    """A local model folder is a loadable-looking pipeline: configs parse, every component the
    index names has its folder, and no safetensors file is shorter than its header says.
    Hub ids (owner/name) are left to the loader."""
    path = Path(model)
    if not _looks_like_path(model):
        return
    if not path.exists():
        raise UsageError(f"--model {model}: no such folder (give a pipeline folder, a hub id owner/name or 'toy')")
    if not path.is_dir():
        raise UsageError(f"--model {model} is a file; give a diffusers pipeline folder (with model_index.json)")
    index_file = path / "model_index.json"
    if not index_file.is_file():
        raise UsageError(f"--model {model} is not a diffusers pipeline folder (no model_index.json)")
    index = _read_json(index_file, model)
    for name, entry in index.items():
        if name.startswith("_") or not isinstance(entry, list) or len(entry) != 2 or entry[0] is None:
            continue
        folder = path / name
        if not folder.is_dir():
            raise UsageError(f"--model {model}: model_index.json names {name!r} but the folder {name}/ is missing")
        for config in folder.glob("*.json"):
            _read_json(config, model)
        for weights in folder.glob("*.safetensors"):
            _check_safetensors(weights, model)


def _check_safetensors(path: Path, model: str) -> None:
    """The header's tensors end where the file ends: a truncated download is caught here."""
    where = f"--model {model}: {path.relative_to(model)}"
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise UsageError(f"{where} is truncated (no safetensors header)")
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                raise UsageError(f"{where} is truncated or not a safetensors file")
            header = json.loads(f.read(n))
    except OSError as e:
        raise UsageError(f"{where}: cannot read ({e.strerror or e})") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UsageError(f"{where} is not a safetensors file (bad header)") from None
    end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    if 8 + n + end > size:
        raise UsageError(f"{where} is truncated: {size} bytes, its header needs {8 + n + end}")


def spatial_factor(model: str) -> int | None:
    """Image sizes must be multiples of this: the VAE's downsampling (2 ** (blocks - 1)) times
    the transformer's patch size for DiTs (FLUX-like models pack 2 x 2 latents). Read from the
    folder's configs, no weights; None when the model is not a local folder or says nothing."""
    path = Path(model)
    try:
        vae = json.loads((path / "vae" / "config.json").read_text())
        factor = 2 ** (len(vae["block_out_channels"]) - 1)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        tr = json.loads((path / "transformer" / "config.json").read_text())
    except (OSError, ValueError):
        return factor
    patch = tr.get("patch_size") or 1
    if str(tr.get("_class_name", "")).startswith(("Flux", "Chroma")):
        patch = max(patch, 2)
    return factor * int(patch)


def pipeline_factor(pipe) -> int | None:
    """``spatial_factor`` of a loaded pipeline (for hub ids, or a pipeline passed in)."""
    vae = getattr(pipe, "vae_scale_factor", None)
    if not isinstance(vae, int):
        return None
    tr = getattr(pipe, "transformer", None)
    if tr is None:
        return vae
    patch = getattr(tr.config, "patch_size", None) or 1
    if type(tr).__name__.startswith(("Flux", "Chroma")):
        patch = max(patch, 2)
    return vae * int(patch)


def check_methods(methods) -> None:
    """Every ``--methods`` name is a registered method (the registry's "did you mean" otherwise),
    checked before a real-image run attributes its images with the generation-time ones."""
    import baselines  # noqa: F401  (registers the methods, importing none)
    from core.registry import BASELINES

    for name in methods:
        BASELINES.get(name)


def check_run(config) -> None:
    """Everything about a run that needs neither the store nor the weights."""
    check_settings(config)
    check_methods(getattr(config, "methods", ()))
    check_workspace(config.workspace)
    check_device(config.device)
    check_model(config.model)
