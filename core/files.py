"""Files a stored generation points at, read one way by every package: its image.

A generation's ``image_path`` is relative to the workspace. ``load_generation_image`` is the one
loader (scorers, baselines, annotation overlays); it takes any object with ``id``,
``image_path``, ``height`` and ``width`` (a ``db.Generation``), so this module needs no store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np


class GenerationImageError(ValueError):
    """A done generation without an image path, or whose image has another size than stored."""


class MissingImageError(FileNotFoundError):
    """The image file a generation points at is not in the workspace."""


def load_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """An image file as uint8 RGB ``[H, W, 3]``."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def generation_image_path(workspace: str | os.PathLike[str], generation: Any) -> Path:
    """Where the generation's image lives; errors name the generation."""
    if not generation.image_path:
        raise GenerationImageError(f"generation {generation.id} is done but has no image_path")
    path = Path(workspace) / generation.image_path
    if not path.is_file():
        raise MissingImageError(f"image of generation {generation.id} is missing: {path}")
    return path


def load_generation_image(workspace: str | os.PathLike[str], generation: Any, *, check_size: bool = True) -> np.ndarray:
    """The generation's image as uint8 RGB ``[H, W, 3]``, checked against the stored size."""
    path = generation_image_path(workspace, generation)
    pixels = load_rgb(path)
    expected = (getattr(generation, "height", None), getattr(generation, "width", None))
    if check_size and None not in expected and pixels.shape[:2] != expected:
        raise GenerationImageError(
            f"image {path} is {pixels.shape[1]}x{pixels.shape[0]}, the store says "
            f"{generation.width}x{generation.height}"
        )
    return pixels


def unique_tmp_path(path: str | os.PathLike[str]) -> Path:
    """A temporary name beside ``path`` that no other writer (process or thread) uses."""
    import secrets

    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file of this writer only (two workers may
    write one name); opened exclusively rather than with mkstemp, so the file keeps the usual
    permissions. Readers see the old file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = unique_tmp_path(path)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


class MapsFileError(ValueError):
    """A generation holds several maps files of one method, or none where one is required."""


def generation_maps_path(
    store: Any, workspace: str | os.PathLike[str], generation_id: int, method: str, title: str, *, required: bool
) -> Path | None:
    """The one maps file ``method`` stored for a generation (a generation-time method saves one
    ``GenerationMaps`` per image); None when there is none and none is ``required``. ``title``
    names the method in messages ("DAAM")."""
    paths = sorted({row.path for row in store.word_maps(generation_id, method=method)})
    if len(paths) > 1 or (required and not paths):
        raise MapsFileError(
            f"generation {generation_id} has {len(paths)} {title} maps files ({paths}); "
            "expected exactly one saved GenerationMaps"
        )
    return Path(workspace) / paths[0] if paths else None
