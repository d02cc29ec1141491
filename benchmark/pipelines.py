"""Loading text-to-image pipelines by hub id or local path, and naming what was loaded."""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
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
    import warnings

    try:
        import diffusers

        with warnings.catch_warnings():  # huggingface_hub's deprecation notices about its own arguments
            warnings.simplefilter("ignore")
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


@contextmanager
def quiet_loading():
    """Loading prints nothing a user can act on: no loading bars (a bar before an error hides it),
    no transformers notices about optional backends (torchvision); errors still raise."""
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    verbosity = transformers_logging.get_verbosity()
    bars = (diffusers_logging.is_progress_bar_enabled(), transformers_logging.is_progress_bar_enabled())
    transformers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if bars[0]:
            diffusers_logging.enable_progress_bar()
        if bars[1]:
            transformers_logging.enable_progress_bar()


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
        with quiet_loading():
            pipe = diffusers.DiffusionPipeline.from_pretrained(
                model, dtype=torch_dtype, local_files_only=local or os.environ.get("HF_HUB_OFFLINE") == "1"
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


WEIGHT_SUFFIXES = {".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".onnx", ".gguf"}
_CHUNK = 1 << 22  # 4 MiB reads: streaming, so multi-GB weights never sit in memory
_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, this process


def _cache_file() -> Path:
    """Where digests of weight files are remembered between runs ($DAAM_BENCH_CACHE, else the
    user's cache folder): hashing 5 GB of weights takes seconds, a lookup none."""
    root = (
        os.environ.get("DAAM_BENCH_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "daam-bench"
    )
    return Path(root) / "file-digests.json"


def _read_cache() -> dict[str, str]:
    try:
        data = json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(entries: dict[str, str]) -> None:
    path = _cache_file()
    try:  # a cache: failing to write it only costs time next run
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**_read_cache(), **entries}, sort_keys=True))
        tmp.replace(path)
    except OSError:
        pass


def file_digest(path: Path, cache: dict[str, str] | None = None) -> str:
    """sha256 of a file's content, read in chunks; remembered by (path, size, mtime), so a file
    rewritten in place (even with the same size) is hashed again."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _DIGESTS:
        return _DIGESTS[key]
    text_key = "|".join(map(str, key))
    digest = (cache or {}).get(text_key)
    if digest is None:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        digest = h.hexdigest()
    _DIGESTS[key] = digest
    return digest


def model_revision(model: str) -> str:
    """A content fingerprint: for a folder, a hash of its configs and its weights' content (so
    swapped weights are a new model even at equal sizes); for a hub id, the cached snapshot's
    commit (or 'hub' when unknown)."""
    path = Path(model)
    if path.is_dir():
        h = hashlib.sha256()
        cache = _read_cache()
        fresh = {}
        for f in sorted(path.rglob("*")):
            if f.is_file() and f.suffix in {".json", ".txt"} | WEIGHT_SUFFIXES:
                h.update(str(f.relative_to(path)).encode())
                if f.suffix in WEIGHT_SUFFIXES:
                    digest = file_digest(f, cache)
                    stat = f.stat()
                    text_key = f"{f.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
                    if cache.get(text_key) != digest:
                        fresh[text_key] = digest
                    h.update(digest.encode())
                else:
                    h.update(f.read_bytes())
        if fresh:
            _write_cache(fresh)
        return "sha256:" + h.hexdigest()[:16]
    try:
        from huggingface_hub import snapshot_download

        snap = snapshot_download(model, local_files_only=True)
        return "git:" + Path(snap).name
    except Exception:
        return "hub"


def legacy_revision(model: str) -> str | None:
    """The fingerprint workspaces made before content hashing stored for a folder (its configs and
    its weight files' sizes), so a run they hold continues when the folder is unchanged."""
    path = Path(model)
    if not path.is_dir():
        return None
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        if f.is_file() and f.suffix in {".json", ".txt", ".safetensors", ".bin"}:
            h.update(str(f.relative_to(path)).encode())
            h.update(f.read_bytes() if f.suffix == ".json" else str(f.stat().st_size).encode())
    return "sha256:" + h.hexdigest()[:16]


def stored_revision(store, model: str) -> str:
    """The revision to record for ``model``: its content hash, or the legacy fingerprint a workspace
    already stores for this very folder when it holds no content-hashed row of it (old workspaces
    continue their runs; swapped weights of equal size were indistinguishable there anyway)."""
    revision = model_revision(model)
    known = {m.revision for m in store.models() if m.name == model}
    if revision in known:
        return revision
    legacy = legacy_revision(model)
    return legacy if legacy is not None and legacy in known else revision


def model_tag(model: str) -> str:
    path = Path(model)
    name = path.name if path.is_dir() else model.replace("/", "_")
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def settings_hash(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
