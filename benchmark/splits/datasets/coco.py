"""COCO-format datasets: images, instance masks and captions read with pycocotools.

``read_coco(images_dir, instances_json, captions_json)`` gives one :class:`Sample` per image of
the instances file (ordered by image id). A class's truth is the union of its instances' masks
(``COCO.annToMask``; crowd regions included: they are pixels of the class). Category names come
from the instances file itself, never from a built-in list, so any COCO-format dataset works;
captions come from the captions file (an image it does not caption has none).
"""

from __future__ import annotations

import contextlib
import io
from functools import lru_cache
from pathlib import Path

import numpy as np

from benchmark.splits.datasets import DatasetError, Sample


def _check_file(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{what} {path} is not a file")
    return path


@lru_cache(maxsize=4)
def _load(path: str, mtime: float, what: str):
    """A pycocotools ``COCO`` of one file (cached per file version)."""
    import json

    from pycocotools.coco import COCO

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(f"{what} {path} is not a JSON file: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise DatasetError(f"{what} {path} is not COCO annotations JSON (no 'annotations' list)")
    if not isinstance(data.get("images"), list):
        raise DatasetError(f"{what} {path} is not COCO annotations JSON (no 'images' list)")
    coco = COCO()
    coco.dataset = data
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # createIndex prints progress
            coco.createIndex()
    except (KeyError, TypeError, ValueError) as err:
        raise DatasetError(f"{what} {path}: malformed COCO annotations ({type(err).__name__}: {err})") from None
    return coco


def _coco(path: Path, what: str):
    path = _check_file(path, what)
    return _load(str(path.resolve()), path.stat().st_mtime, what)


def coco_categories(instances_json: str | Path) -> dict[int, str]:
    """Category id -> lower-case name, as the instances file lists them."""
    coco = _coco(Path(instances_json), "COCO instances file")
    cats = coco.dataset.get("categories")
    if not isinstance(cats, list) or not cats:
        raise DatasetError(f"COCO instances file {instances_json} lists no 'categories'")
    out = {}
    for c in cats:
        if not isinstance(c, dict) or "id" not in c or not str(c.get("name", "")).strip():
            raise DatasetError(f"COCO instances file {instances_json}: category {c!r} needs an 'id' and a 'name'")
        out[int(c["id"])] = " ".join(str(c["name"]).lower().split())
    return out


def _captions(path: Path) -> dict[int, tuple[str, ...]]:
    coco = _coco(path, "COCO captions file")
    by_image: dict[int, list[tuple[int, str]]] = {}
    for ann in coco.dataset["annotations"]:
        if not isinstance(ann, dict) or "caption" not in ann or "image_id" not in ann:
            raise DatasetError(
                f"COCO captions file {path}: annotation {ann.get('id', '?') if isinstance(ann, dict) else ann!r} "
                "lacks 'caption' or 'image_id' (pass a captions file such as captions_val2017.json)"
            )
        text = " ".join(str(ann["caption"]).split())
        if text:
            by_image.setdefault(int(ann["image_id"]), []).append((int(ann.get("id", 0)), text))
    return {image: tuple(t for _, t in sorted(caps)) for image, caps in by_image.items()}


def _image_loader(path: Path, size: tuple[int, int]):
    def load() -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        if not path.is_file():
            raise DatasetError(f"COCO image {path} is missing (--coco-images holds the instances file's images)")
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
        except (OSError, UnidentifiedImageError) as err:
            raise DatasetError(f"COCO image {path} cannot be read: {err}") from None
        if pixels.shape[:2] != size:
            raise DatasetError(
                f"COCO image {path} is {pixels.shape[1]}x{pixels.shape[0]}, the instances file says {size[1]}x{size[0]}"
            )
        return pixels

    return load


def _truth_loader(coco, image_id: int, size: tuple[int, int], names: dict[int, str], path: Path):
    def truth() -> tuple[dict[str, np.ndarray], None]:
        masks: dict[str, np.ndarray] = {}
        for ann in coco.imgToAnns.get(image_id, []):
            try:
                m = coco.annToMask(ann).astype(bool)
            except (KeyError, TypeError, ValueError, IndexError) as err:
                raise DatasetError(
                    f"COCO instances file {path}: annotation {ann.get('id', '?')} has no usable segmentation: {err}"
                ) from None
            name = names[int(ann["category_id"])]
            masks[name] = masks[name] | m if name in masks else m
        for name, m in masks.items():
            if m.shape != size:
                raise DatasetError(f"COCO instances file {path}: a mask of {name!r} in image {image_id} is {m.shape}")
        return masks, None  # COCO has no void label

    return truth


def read_coco(images_dir: str | Path, instances_json: str | Path, captions_json: str | Path) -> list[Sample]:
    """One :class:`Sample` per image of the instances file, by image id; errors name the file."""
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise DatasetError(f"COCO images folder {images_dir} is not a folder")
    instances_json, captions_json = Path(instances_json), Path(captions_json)
    names = coco_categories(instances_json)
    coco = _coco(instances_json, "COCO instances file")
    captions = _captions(captions_json)
    samples = []
    for img in sorted(coco.dataset["images"], key=lambda i: int(i.get("id", -1)) if isinstance(i, dict) else -1):
        try:
            image_id, file_name = int(img["id"]), str(img["file_name"])
            size = (int(img["height"]), int(img["width"]))
        except (KeyError, TypeError, ValueError):
            raise DatasetError(
                f"COCO instances file {instances_json}: image {img!r} needs 'id', 'file_name', 'height' and 'width'"
            ) from None
        present = []
        for ann in coco.imgToAnns.get(image_id, []):
            cid = ann.get("category_id")
            if cid not in names:
                raise DatasetError(
                    f"COCO instances file {instances_json}: annotation {ann.get('id', '?')} has unknown "
                    f"category_id {cid!r}"
                )
            present.append(names[cid])
        samples.append(
            Sample(
                key=str(image_id),
                image=_image_loader(images_dir / file_name, size),
                classes=tuple(dict.fromkeys(present)),
                truth=_truth_loader(coco, image_id, size, names, instances_json),
                captions=captions.get(image_id, ()),
                details={"file_name": file_name, "image_id": image_id, "height": size[0], "width": size[1]},
            )
        )
    return samples
