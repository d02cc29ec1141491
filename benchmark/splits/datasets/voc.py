"""PASCAL VOC 2012 segmentation, read from the folder the devkit tar unpacks to.

The layout (``VOCtrainval_11-May-2012.tar`` unpacks to ``VOCdevkit/VOC2012/``)::

    VOC2012/ImageSets/Segmentation/{train,val,trainval}.txt   one image name per line
    VOC2012/JPEGImages/<name>.jpg
    VOC2012/SegmentationClass/<name>.png   palette PNG: each pixel's index is its class (0
                                           background, 1..20 the classes below, 255 the void
                                           border drawn around objects and over unclear parts)

The PNG's indices are read as they are stored (the palette is only how they are shown), never
through RGB. A class's mask is its index; the void pixels are the ignore mask.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.splits.datasets import DatasetError, Sample

# The devkit's class names, in index order (1..20), and the words a prompt says for them.
VOC_CLASSES: tuple[str, ...] = (
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
# Devkit name -> prompt word. The run-together names are split into the two words they are;
# "aeroplane" and "motorbike" stay: both are ordinary English words (and the classes' names).
PROMPT_WORDS: dict[str, str] = {name: name for name in VOC_CLASSES} | {
    "diningtable": "dining table",
    "pottedplant": "potted plant",
    "tvmonitor": "tv monitor",
}
VOID = 255
BACKGROUND = 0

_LAYOUTS = ("VOCdevkit/VOC2012", "VOC2012", ".")


def class_word(index: int) -> str:
    """The prompt word of VOC class ``index`` (1..20)."""
    if not 1 <= index <= len(VOC_CLASSES):
        raise ValueError(f"VOC class index {index} is not in 1..{len(VOC_CLASSES)}")
    return PROMPT_WORDS[VOC_CLASSES[index - 1]]


def find_voc2012(root: Path) -> Path:
    """The ``VOC2012`` folder: ``root`` itself, or ``root/VOC2012`` (root is VOCdevkit), or
    ``root/VOCdevkit/VOC2012`` (root holds the unpacked tar)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"PASCAL VOC root {root} is not a folder")
    for rel in _LAYOUTS:
        cand = root / rel
        if (cand / "ImageSets" / "Segmentation").is_dir():
            return cand.resolve()
    tried = ", ".join(str(root / rel / "ImageSets" / "Segmentation") for rel in _LAYOUTS)
    raise DatasetError(
        f"{root} is not PASCAL VOC 2012: expected the folder holding VOCdevkit, VOCdevkit itself "
        f"or VOC2012 (with ImageSets/Segmentation, JPEGImages, SegmentationClass); none of {tried} exists"
    )


def read_labels(png: Path) -> np.ndarray:
    """A SegmentationClass PNG's raw class indices, uint8 ``[H, W]``."""
    from PIL import Image

    try:
        with Image.open(png) as im:
            if im.mode not in ("P", "L"):
                raise DatasetError(
                    f"{png}: a VOC segmentation PNG holds class indices (palette or greyscale), "
                    f"this one is {im.mode}; was it converted to colours?"
                )
            labels = np.asarray(im, dtype=np.uint8).copy()
    except OSError as e:
        raise DatasetError(f"{png}: not a readable PNG ({e})") from e
    bad = np.setdiff1d(np.unique(labels), [*range(len(VOC_CLASSES) + 1), VOID])
    if bad.size:
        raise DatasetError(f"{png}: values {bad.tolist()} are neither VOC classes 0..20 nor void 255")
    return labels


def _read_image(jpg: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(jpg) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except OSError as e:
        raise DatasetError(f"{jpg}: not a readable image ({e})") from e


def _image_size(jpg: Path) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(jpg) as im:  # reads the header only
            w, h = im.size
    except OSError as e:
        raise DatasetError(f"{jpg}: not a readable image ({e})") from e
    return h, w


def _truth(png: Path, jpg: Path, indices: tuple[int, ...]):
    def load() -> tuple[dict[str, np.ndarray], np.ndarray]:
        labels = read_labels(png)
        if labels.shape != _image_size(jpg):
            raise DatasetError(f"{png} is {labels.shape[1]}x{labels.shape[0]} but its image {jpg} is not")
        return {class_word(i): labels == i for i in indices}, labels == VOID

    return load


def read_voc(root: Path, image_set: str = "val") -> list[Sample]:
    """The images of one segmentation image set (``val``: 1,449 images; ``train``, ``trainval``).

    Each sample's key is the image name (``2007_000033``); its classes are the prompt words of
    the classes present (index order), its truth one mask per class and the void border as the
    ignore mask. Every listed JPEG and PNG must exist: each PNG is read here, for its classes.
    """
    voc = find_voc2012(root)
    sets = voc / "ImageSets" / "Segmentation"
    listing = sets / f"{image_set}.txt"
    if not listing.is_file():
        have = sorted(p.stem for p in sets.glob("*.txt"))
        raise DatasetError(f"no image set {image_set!r} in {sets}; it has: {', '.join(have) or 'none'}")
    names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    samples = []
    for name in names:
        jpg = voc / "JPEGImages" / f"{name}.jpg"
        png = voc / "SegmentationClass" / f"{name}.png"
        for path in (jpg, png):
            if not path.is_file():
                raise DatasetError(f"{listing.name} lists {name} but {path} is missing")
        present = np.unique(read_labels(png))
        indices = tuple(int(i) for i in present if i not in (BACKGROUND, VOID))
        samples.append(
            Sample(
                key=name,
                image=lambda jpg=jpg: _read_image(jpg),
                classes=tuple(class_word(i) for i in indices),
                truth=_truth(png, jpg, indices),
                details={
                    "image": f"JPEGImages/{name}.jpg",
                    "segmentation": f"SegmentationClass/{name}.png",
                    "class_indices": list(indices),
                    "voc_classes": [VOC_CLASSES[i - 1] for i in indices],
                },
            )
        )
    return samples


def _with_article(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def voc_prompt(classes: tuple[str, ...] | list[str]) -> tuple[str, tuple[str, ...]]:
    """The prompt the ``voc-real`` split gives an image, and its words: ``("a photograph of a
    dog and a cat", ("dog", "cat"))``. Classes are prompt words (``Sample.classes``), named in
    the order given, each with its article ("an aeroplane"), joined as a list is in English
    ("a cat, a dog and a person")."""
    words = tuple(classes)
    if not words:
        raise ValueError("a VOC prompt needs at least one class")
    unknown = [w for w in words if w not in PROMPT_WORDS.values()]
    if unknown:
        raise ValueError(f"not VOC prompt words: {unknown}; known: {', '.join(PROMPT_WORDS.values())}")
    if len(set(words)) != len(words):
        raise ValueError(f"a class is named twice in {list(words)}")
    parts = [_with_article(w) for w in words]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"a photograph of {listed}", words
