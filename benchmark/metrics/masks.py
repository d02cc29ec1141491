"""Masks and soft maps in, numpy out: conversion, binarisation and resizing.

Masks arrive as numpy bool arrays or torch bool tensors (from ``daam``, the store or a
baseline); all metric maths runs in numpy. Resizing is kept apart from scoring so that a metric
never silently compares maps of different sizes.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

Size = tuple[int, int]  # (H, W)


def _to_numpy(x: Any, what: str) -> np.ndarray:
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor, without importing torch
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"{what} must be a numpy array or a torch tensor, got {type(x).__name__}")


def as_mask(mask: Any, what: str = "mask") -> np.ndarray:
    """A boolean numpy array from a numpy bool array or a torch bool tensor.

    Non-boolean input is refused rather than guessed at: threshold soft maps with ``binarize``.
    """
    arr = _to_numpy(mask, what)
    if arr.dtype != np.bool_:
        raise TypeError(f"{what} must be boolean, got dtype {arr.dtype}; binarize soft maps with binarize(soft, tau)")
    if arr.ndim < 2:
        raise ValueError(f"{what} must be at least 2-D (H, W), got shape {arr.shape}")
    return arr


def as_soft(soft: Any, what: str = "soft map") -> np.ndarray:
    """A float32 numpy array in [0, 1] from a numpy array or torch tensor."""
    arr = _to_numpy(soft, what)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{what} must be floating point in [0, 1], got dtype {arr.dtype}")
    if arr.ndim < 2:
        raise ValueError(f"{what} must be at least 2-D (H, W), got shape {arr.shape}")
    arr = arr.astype(np.float32, copy=False)
    if arr.size and (not np.isfinite(arr).all() or arr.min() < 0.0 or arr.max() > 1.0):
        raise ValueError(f"{what} must be finite and lie in [0, 1] (normalise it first)")
    return arr


def check_tau(tau: float) -> float:
    if not 0.0 <= float(tau) <= 1.0:
        raise ValueError(f"tau must lie in [0, 1], got {tau}")
    return float(tau)


def binarize(soft: Any, tau: float) -> np.ndarray:
    """The hard map ``soft >= tau`` (the paper's I(D >= tau), daam's convention).

    The comparison is in float32, as torch does it for daam's ``WordMap.mask``.
    """
    return as_soft(soft) >= np.float32(check_tau(tau))


def same_shape(a: np.ndarray, b: np.ndarray, what: str = "prediction and truth") -> None:
    """Refuse pairs of different sizes (and batches where one map per side is expected)."""
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"{what} must be single 2-D maps (H, W), got shapes {a.shape} and {b.shape}")
    if a.shape != b.shape:
        raise ValueError(
            f"{what} differ in shape: {a.shape} vs {b.shape}; resize first "
            "(resize_mask for masks, resize_soft for soft maps)"
        )


def _check_size(size: Size) -> Size:
    if len(size) != 2 or any(int(s) <= 0 for s in size):
        raise ValueError(f"size must be (H, W) with positive sides, got {size}")
    return int(size[0]), int(size[1])


def _nearest(arr: np.ndarray, size: Size) -> np.ndarray:
    out_h, out_w = _check_size(size)
    in_h, in_w = arr.shape[-2:]
    rows = np.minimum(((np.arange(out_h) + 0.5) * in_h / out_h).astype(np.int64), in_h - 1)
    cols = np.minimum(((np.arange(out_w) + 0.5) * in_w / out_w).astype(np.int64), in_w - 1)
    return arr[..., rows[:, None], cols[None, :]]


def resize_mask(mask: Any, size: Size) -> np.ndarray:
    """Nearest-neighbour resize of a boolean ``[..., H, W]`` mask to ``size`` = (H, W).

    Sample points are pixel centres (source index ``floor((i + 0.5) * in / out)``), as PIL's
    NEAREST and torch's ``nearest-exact`` do, so halving and doubling are symmetric.
    """
    return _nearest(as_mask(mask), size)


def resize_labels(labels: Any, size: Size) -> np.ndarray:
    """Nearest-neighbour resize of an integer ``[H, W]`` label map (e.g. unsupervised clusters)."""
    arr = _to_numpy(labels, "label map")
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"label map must be a 2-D integer array, got shape {arr.shape}, dtype {arr.dtype}")
    return _nearest(arr, size)


def resize_soft(soft: Any, size: Size, mode: Literal["bilinear", "bicubic"] = "bilinear") -> np.ndarray:
    """Resize a soft ``[..., H, W]`` map to ``size`` (torch interpolation, align_corners=False).

    Bicubic is the paper's upscaling (as in ``daam.aggregation.upscale``); it overshoots, so the
    result is clipped back to [0, 1].
    """
    import torch
    import torch.nn.functional as F

    if mode not in ("bilinear", "bicubic"):
        raise ValueError(f"mode must be 'bilinear' or 'bicubic', got {mode!r}")
    arr = as_soft(soft)
    out = _check_size(size)
    lead = arr.shape[:-2]
    flat = torch.from_numpy(np.ascontiguousarray(arr)).reshape(-1, 1, *arr.shape[-2:])
    if tuple(flat.shape[-2:]) != out:
        flat = F.interpolate(flat, size=out, mode=mode, align_corners=False)
    return flat.reshape(*lead, *out).clamp_(0.0, 1.0).numpy()
