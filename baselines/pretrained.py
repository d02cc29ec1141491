"""Loading transformers models by hub id or local path, on a chosen device and dtype."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from baselines.protocol import BaselineError

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise BaselineError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    return DTYPES[dtype]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` or ``"auto"`` picks CUDA when present, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise BaselineError(f"unknown device {device!r}: {exc}") from exc


def source_kwargs(name_or_path: str | os.PathLike[str]) -> tuple[str, dict[str, Any]]:
    """``(name, kwargs)`` for ``from_pretrained``: an existing path loads offline, anything else is a hub id."""
    name = str(name_or_path)
    return name, {"local_files_only": Path(name).exists()}


def from_pretrained(cls, name_or_path: str | os.PathLike[str], what: str, **kwargs):
    """``cls.from_pretrained`` with a message that says which model failed and how to fix it."""
    name, source = source_kwargs(name_or_path)
    try:
        return cls.from_pretrained(name, **source, **kwargs)
    except (OSError, ValueError) as exc:
        hint = (
            ""
            if source["local_files_only"]
            else "; pass a local folder (save_pretrained output) when the hub is out of reach"
        )
        raise BaselineError(f"cannot load the {what} {name!r}: {exc}{hint}") from exc
