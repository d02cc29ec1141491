"""Tiny real-image datasets in their exact published formats, drawn from the toy world.

Each writer renders toy scenes (benchmark/toy/world.py: exact per-object masks), names each
shape as a class of the dataset and writes the files as the dataset distributes them:

- PASCAL VOC 2012: ``VOCdevkit/VOC2012/{JPEGImages, SegmentationClass, ImageSets/Segmentation}``,
  palette PNGs of class indices with a one-pixel void (255) ring around the objects.
- ImageNet-Segmentation: a MATLAB v7.3 ``gtsegs_ijcv.mat`` (HDF5 with MATLAB's 512-byte header,
  ``/value/{img,gt,id}`` cell columns of object references into ``#refs#``, arrays stored
  column-major, i.e. transposed, as MATLAB writes them).
- COCO 2017: ``val2017/<id:012d>.jpg``, ``annotations/instances_val2017.json`` (polygons from the
  masks' contours, and uncompressed RLE with ``iscrowd=1`` for every third instance) and
  ``annotations/captions_val2017.json``.

Images are padded with the toy background to non-square sizes (H != W), so a reader that swaps
axes fails. The ``*_expected`` functions give what was written (the truth the readers must
return); the writers call them, so a test compares against exactly the written data. Nothing
here is stored in the repository: tests write the datasets into tmp folders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.toy.world import BACKGROUND, SceneSampler, render

# toy shape -> VOC class index (devkit order) and its prompt word
VOC_SHAPE_CLASSES: dict[str, tuple[int, str]] = {
    "circle": (8, "cat"),
    "square": (12, "dog"),
    "triangle": (1, "aeroplane"),
    "star": (16, "potted plant"),
}
# toy shape -> COCO category (its real id and name); "person" (1) is listed but never drawn
COCO_SHAPE_CATEGORIES: dict[str, tuple[int, str]] = {
    "circle": (17, "cat"),
    "square": (18, "dog"),
    "triangle": (19, "horse"),
    "star": (88, "teddy bear"),
}
COCO_CATEGORIES = [
    {"supercategory": "person", "id": 1, "name": "person"},
    {"supercategory": "animal", "id": 17, "name": "cat"},
    {"supercategory": "animal", "id": 18, "name": "dog"},
    {"supercategory": "animal", "id": 19, "name": "horse"},
    {"supercategory": "indoor", "id": 88, "name": "teddy bear"},
]
# toy shape of an image's first object -> WordNet synset id of the ImageNet-Segmentation image
IMAGENET_SHAPE_SYNSETS: dict[str, str] = {
    "circle": "n02121808",  # domestic cat
    "square": "n02084071",  # dog
    "triangle": "n02691156",  # airplane
    "star": "n03001627",  # chair
}
# what tests pass as `names` (synset id -> word)
IMAGENET_FIXTURE_NAMES = {"n02121808": "cat", "n02084071": "dog", "n02691156": "airplane", "n03001627": "chair"}


@dataclass(frozen=True)
class FixtureImage:
    image: np.ndarray  # uint8 [H, W, 3], H != W
    masks: tuple[np.ndarray, ...]  # per object, boolean [H, W], disjoint
    shapes: tuple[str, ...]  # per object


def fixture_images(n: int, size: int = 32, seed: int = 0) -> list[FixtureImage]:
    """``n`` toy scenes of 1, 2, 3, 1, ... objects, padded right or below to a non-square size."""
    sampler = SceneSampler(size=size, texture_prob=0.0)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        scene = sampler.sample(rng, n=1 + i % 3)
        img, masks = render(scene)
        extra = size // 4 * (1 + i % 2)
        pad = ((0, 0), (0, extra)) if i % 2 == 0 else ((0, extra), (0, 0))
        img = np.stack([np.pad(img[..., c], pad, constant_values=BACKGROUND[c]) for c in range(3)], axis=-1)
        masks = tuple(np.pad(m, pad) for m in masks)
        out.append(FixtureImage(img.astype(np.uint8), masks, tuple(o.shape for o in scene.objects)))
    return out


def _save_jpeg(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, quality=95, subsampling=0)


# ---------------------------------------------------------------------------- PASCAL VOC 2012


def voc_palette() -> list[int]:
    """The devkit's colour map (its ``labelcolormap``): class i's colour from i's bits."""
    pal = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal


@dataclass(frozen=True)
class VocExpected:
    name: str
    image: np.ndarray
    labels: np.ndarray  # uint8 [H, W]: class index, 255 void
    masks: dict[str, np.ndarray]  # prompt word -> mask, classes in index order
    ignore: np.ndarray


def voc_expected(n: int = 4) -> list[VocExpected]:
    from scipy.ndimage import binary_dilation

    out = []
    for i, fx in enumerate(fixture_images(n, size=32, seed=1)):
        labels = np.zeros(fx.image.shape[:2], dtype=np.uint8)
        for m, shape in zip(fx.masks, fx.shapes):
            labels[m] = VOC_SHAPE_CLASSES[shape][0]
        objects = labels > 0
        labels[binary_dilation(objects) & ~objects] = 255  # the void ring VOC draws around objects
        masks = {}
        for index, word in sorted(VOC_SHAPE_CLASSES.values()):
            if (labels == index).any():
                masks[word] = labels == index
        out.append(VocExpected(f"2012_{i:06d}", fx.image, labels, masks, labels == 255))
    return out


def write_voc_fixture(root: Path, n: int = 4) -> Path:
    """``root/VOCdevkit/VOC2012`` with ``n`` images in the ``val`` and ``trainval`` image sets."""
    from PIL import Image

    voc = Path(root) / "VOCdevkit" / "VOC2012"
    sets = voc / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True, exist_ok=True)
    (voc / "SegmentationClass").mkdir(parents=True, exist_ok=True)
    pal = voc_palette()
    expected = voc_expected(n)
    for ex in expected:
        _save_jpeg(voc / "JPEGImages" / f"{ex.name}.jpg", ex.image)
        png = Image.fromarray(ex.labels, mode="P")
        png.putpalette(pal)
        png.save(voc / "SegmentationClass" / f"{ex.name}.png")
    listing = "".join(f"{ex.name}\n" for ex in expected)
    for image_set in ("val", "trainval"):
        (sets / f"{image_set}.txt").write_text(listing)
    return Path(root)


# ---------------------------------------------------------------------------- ImageNet-Segmentation


@dataclass(frozen=True)
class ImagenetSegExpected:
    id: str  # "<wnid>_<image number>"
    wnid: str
    image: np.ndarray
    mask: np.ndarray  # foreground: every object


def imagenet_seg_expected(n: int = 4) -> list[ImagenetSegExpected]:
    out = []
    for i, fx in enumerate(fixture_images(n, size=32, seed=2)):
        wnid = IMAGENET_SHAPE_SYNSETS[fx.shapes[0]]
        mask = np.logical_or.reduce(fx.masks)
        out.append(ImagenetSegExpected(f"{wnid}_{1000 + 17 * i}", wnid, fx.image, mask))
    return out


def _mat_header(
    text: str = "MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 .",
) -> bytes:
    # 116 bytes of text, 8 of subsystem offset, version 0x0200 (v7.3), endian indicator "IM"
    return text.encode().ljust(116, b" ") + b" " * 8 + b"\x00\x02" + b"IM"


def write_imagenet_seg_fixture(path: Path, n: int = 4, *, fields: tuple[str, ...] = ("img", "gt", "id")) -> Path:
    """``gtsegs_ijcv.mat`` as MATLAB v7.3 writes it; ``fields`` drops struct fields (for the
    error tests)."""
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    expected = imagenet_seg_expected(n)
    with h5py.File(path, "w", userblock_size=512, libver="earliest") as f:
        refs = f.create_group("#refs#")
        counter = iter(range(10**6))

        def store(arr: np.ndarray, matlab_class: str, **attrs):
            ds = refs.create_dataset(f"r{next(counter)}", data=arr)
            ds.attrs["MATLAB_class"] = np.bytes_(matlab_class)
            for k, v in attrs.items():
                ds.attrs[k] = v
            return ds.ref

        value = f.create_group("value")
        value.attrs["MATLAB_class"] = np.bytes_("struct")
        columns = {"img": [], "gt": [], "id": []}
        for ex in expected:
            columns["img"].append(store(ex.image.transpose(2, 1, 0), "uint8"))  # H x W x 3 -> [3, W, H]
            mask_ref = store(ex.mask.T.astype(np.uint8), "uint8")
            cell = np.empty((1, 1), dtype=h5py.ref_dtype)
            cell[0, 0] = mask_ref
            columns["gt"].append(store(cell, "cell"))
            chars = np.array([ord(c) for c in ex.id], dtype=np.uint16)[:, None]  # 1 x L chars -> [L, 1]
            columns["id"].append(store(chars, "char", MATLAB_int_decode=np.int32(2)))
        for name in fields:
            col = np.empty((len(expected), 1), dtype=h5py.ref_dtype)
            for i, r in enumerate(columns[name]):
                col[i, 0] = r
            ds = value.create_dataset(name, data=col)
            ds.attrs["MATLAB_class"] = np.bytes_("cell")
    with open(path, "r+b") as fh:
        fh.write(_mat_header())
    return path


# ---------------------------------------------------------------------------- COCO 2017


@dataclass(frozen=True)
class CocoObject:
    category_id: int
    name: str
    mask: np.ndarray
    iscrowd: int  # 1: written as uncompressed RLE (exact); 0: as polygons from the contours


@dataclass(frozen=True)
class CocoExpected:
    image_id: int
    file_name: str
    image: np.ndarray
    objects: tuple[CocoObject, ...]
    captions: tuple[str, ...]


def _article(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def coco_expected(n: int = 4) -> list[CocoExpected]:
    """Every third instance (counting over the whole set) is a crowd RLE. Each image has two
    captions: one naming every object, one naming only the first."""
    out = []
    k = 0
    for i, fx in enumerate(fixture_images(n, size=64, seed=3)):
        objects = []
        for m, shape in zip(fx.masks, fx.shapes):
            cid, name = COCO_SHAPE_CATEGORIES[shape]
            objects.append(CocoObject(cid, name, m, int(k % 3 == 2)))
            k += 1
        names = [_article(o.name) for o in objects]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        captions = (f"A photo of {listed}.", f"{names[0].capitalize()} in front of a plain grey wall")
        image_id = 139 + 37 * i
        out.append(CocoExpected(image_id, f"{image_id:012d}.jpg", fx.image, tuple(objects), captions))
    return out


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE: run lengths over the column-major pixels, starting with zeros."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"counts": counts, "size": [int(mask.shape[0]), int(mask.shape[1])]}


def contour_polygons(mask: np.ndarray) -> list[list[float]]:
    """COCO polygons (``[x0, y0, x1, y1, ...]``) tracing the mask's outlines: skimage's contours at
    the 0.5 level between pixel centres, shifted by half a pixel into COCO's coordinates, where
    pixel (x, y) covers [x, x + 1) x [y, y + 1)."""
    from skimage.measure import find_contours

    polys = []
    for contour in find_contours(np.pad(mask.astype(float), 1), 0.5):
        if len(contour) < 3:
            continue
        rows, cols = contour[:, 0] - 1 + 0.5, contour[:, 1] - 1 + 0.5
        polys.append([round(float(v), 2) for xy in zip(cols, rows) for v in xy])
    return polys


def write_coco_fixture(dir: Path, n: int = 4) -> tuple[Path, Path, Path]:
    """``(dir/val2017, dir/annotations/instances_val2017.json, dir/annotations/captions_val2017.json)``."""
    from pycocotools import mask as mask_utils

    dir = Path(dir)
    images_dir = dir / "val2017"
    ann_dir = dir / "annotations"
    ann_dir.mkdir(parents=True, exist_ok=True)
    info = {"description": "daam-bench test fixture in COCO 2017 format", "version": "1.0", "year": 2017}
    licenses = [{"url": "", "id": 1, "name": "test fixture"}]
    images, instances, captions = [], [], []
    for ex in coco_expected(n):
        _save_jpeg(images_dir / ex.file_name, ex.image)
        h, w = ex.image.shape[:2]
        images.append(
            {
                "license": 1,
                "file_name": ex.file_name,
                "coco_url": "",
                "height": h,
                "width": w,
                "date_captured": "2013-11-14 11:18:45",
                "flickr_url": "",
                "id": ex.image_id,
            }
        )
        for o in ex.objects:
            if o.iscrowd:
                segmentation = uncompressed_rle(o.mask)
                rle = mask_utils.frPyObjects(segmentation, h, w)
            else:
                segmentation = contour_polygons(o.mask)
                rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, h, w))
            instances.append(
                {
                    "segmentation": segmentation,
                    "area": float(mask_utils.area(rle)),
                    "iscrowd": o.iscrowd,
                    "image_id": ex.image_id,
                    "bbox": [round(float(v), 2) for v in mask_utils.toBbox(rle)],
                    "category_id": o.category_id,
                    "id": 900000 + len(instances),
                }
            )
        for c in ex.captions:
            captions.append({"image_id": ex.image_id, "id": 700000 + len(captions), "caption": c})
    instances_json = ann_dir / "instances_val2017.json"
    captions_json = ann_dir / "captions_val2017.json"
    instances_json.write_text(
        json.dumps(
            {
                "info": info,
                "licenses": licenses,
                "images": images,
                "annotations": instances,
                "categories": COCO_CATEGORIES,
            }
        )
    )
    captions_json.write_text(
        json.dumps({"info": info, "licenses": licenses, "images": images, "annotations": captions})
    )
    return images_dir, instances_json, captions_json
