"""COCO captions the user supplies (e.g. captions_val2014.json), read with pycocotools.

The benchmark ships no COCO data: the user passes ``--coco-captions``. Captions are sampled one
per image so that no two prompts of a split describe the same photograph.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from benchmark.splits.base import SplitOptions
from benchmark.splits.catalogue import spec
from benchmark.splits.errors import SplitError
from benchmark.splits.options import require_file
from benchmark.splits.seeds import rng
from benchmark.splits.text import normalise


class CocoCaptionsError(SplitError, ValueError):
    """The file given as --coco-captions is not a usable COCO captions file."""


@dataclass(frozen=True)
class Caption:
    id: int  # COCO annotation id
    image_id: int
    text: str  # whitespace normalised


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> tuple[Caption, ...]:
    from pycocotools.coco import COCO

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # COCO() prints progress
            coco = COCO(path)
    except (ValueError, KeyError, TypeError, AssertionError) as err:
        raise CocoCaptionsError(f"--coco-captions {path} is not a COCO annotations JSON file: {err}") from None
    anns = coco.dataset.get("annotations")
    if not anns:
        raise CocoCaptionsError(f"--coco-captions {path} has no annotations")
    captions = []
    for ann in anns:
        if "caption" not in ann or "image_id" not in ann or "id" not in ann:
            raise CocoCaptionsError(
                f"--coco-captions {path}: annotation {ann.get('id', '?')} lacks 'caption', 'image_id' or "
                "'id'; pass a captions file such as captions_val2014.json, not an instances file"
            )
        text = normalise(str(ann["caption"]))
        if text:
            captions.append(Caption(int(ann["id"]), int(ann["image_id"]), text))
    return tuple(sorted(captions, key=lambda c: c.id))


def load_captions(path: Path) -> tuple[Caption, ...]:
    """Every non-empty caption in the file, by annotation id (cached per file version)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--coco-captions {path} is not a file")
    return _load(str(path.resolve()), path.stat().st_mtime)


def sample_captions(
    captions: tuple[Caption, ...], n: int | None, generator: np.random.Generator, split: str
) -> list[Caption]:
    """``n`` captions of distinct images in random order (all images when ``n`` is None).

    Images are permuted once and captions picked per image from the same stream, so a smaller
    ``n`` gives a prefix of a larger one: ``--limit 10`` previews the first ten of the full split.
    """
    by_image: dict[int, list[Caption]] = {}
    for c in captions:
        by_image.setdefault(c.image_id, []).append(c)
    images = sorted(by_image)
    if n is not None and n > len(images):
        raise CocoCaptionsError(
            f"split {split!r} asks for {n} captions of distinct images, but the captions file has only "
            f"{len(images)} images; pass --size {len(images)} or fewer"
        )
    order = generator.permutation(len(images))
    picks = generator.integers(0, 2**31, size=len(images))  # drawn for every image: prefix-stable
    chosen = order if n is None else order[:n]
    return [by_image[images[i]][picks[i] % len(by_image[images[i]])] for i in chosen]


def sampled_captions(options: SplitOptions, split: str, stream: str, prefix_stable: bool = False) -> list[Caption]:
    """options.size (else default_size) captions of distinct images.

    ``--limit`` keeps a prefix of the full split; where items depend only on their own caption
    (``prefix_stable``) only that prefix is sampled, since a smaller sample is a prefix of a larger.
    """
    path = require_file(options, "coco_captions", split)
    n = options.size or spec(split).info.default_size
    if prefix_stable and options.limit:
        n = min(n, options.limit)
    return sample_captions(load_captions(path), n, rng(options.seed, stream), split)
