"""Baseline outputs on disk: one ``.npz`` per image, readable without pickle.

Layout: ``method`` and ``size``; soft maps as ``words`` (unicode array) + ``maps`` (float16
``[n_words, H, W]``, which keeps [0, 1] to ~3 decimals at half the size); clusters as ``clusters``
(int32 ``[H, W]``) + ``n_clusters``; ``unsupported`` words in both cases. Words are stored as data,
not as array names, so any word (spaces, slashes) round-trips.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from baselines.protocol import BaselineError, BaselineOutput
from core.files import write_atomic

FORMAT_VERSION = 1


def save_output(path: str | os.PathLike[str], output: BaselineOutput) -> Path:
    """Write ``output`` to ``path`` atomically (a half-written file never has the final name)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT_VERSION),
        "method": np.array(output.method),
        "size": np.array(output.size, dtype=np.int64),
        "unsupported": np.array(output.unsupported, dtype=str),
        "details": np.array(json.dumps(dict(output.details), default=str)),
    }
    if output.maps is not None:
        h, w = output.size
        arrays["words"] = np.array(list(output.maps), dtype=str)
        stack = [m.astype(np.float16) for m in output.maps.values()]
        arrays["maps"] = np.stack(stack) if stack else np.zeros((0, h, w), np.float16)
    else:
        arrays["clusters"] = np.asarray(output.clusters, dtype=np.int32)
        arrays["n_clusters"] = np.array(output.n_clusters)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return write_atomic(path, buf.getvalue())


def load_output(path: str | os.PathLike[str]) -> BaselineOutput:
    """Read a file written by ``save_output``; maps come back as float32."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no baseline output at {path}")
    with np.load(path, allow_pickle=False) as f:
        if "format" not in f or int(f["format"]) != FORMAT_VERSION:
            raise BaselineError(f"{path} is not a baseline output file (format {FORMAT_VERSION})")
        method, size = str(f["method"]), tuple(int(x) for x in f["size"])
        unsupported = tuple(str(u) for u in f["unsupported"])
        details = json.loads(str(f["details"]))
        if "maps" in f:
            maps = {str(word): soft.astype(np.float32) for word, soft in zip(f["words"], f["maps"], strict=True)}
            return BaselineOutput(method, size, maps=maps, unsupported=unsupported, details=details)
        return BaselineOutput(
            method,
            size,
            clusters=f["clusters"],
            n_clusters=int(f["n_clusters"]),
            unsupported=unsupported,
            details=details,
        )
