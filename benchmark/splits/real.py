"""Real-image splits: a dataset's own photographs with exact truth (``coco-real``, ``voc-real``,
``imagenet-seg``), attributed through img2img by the runner's ``real-image`` generation mode.

Each split has a builder (the prompt items) and a ``samples`` hook (its spec's
``generation.samples``) that reads the same dataset again so the runner can load an item's image
and truth by the sample key its provenance stores. Provenance says which class each word names
(``categories``: word -> dataset class, the truth to score against) and which of those are
COCO's 80 (``coco_classes``: what mIoU80 keeps, as in the COCO-Gen split).

``coco-real``: one item per image (``--captions-per-image N`` for more), from the image's first
captions that name a category of the instances file. A caption's words are all its nouns (as
COCO-Gen's); a noun names a category when it and the words before it spell the category's name
or, for COCO's 80 classes, an alias (``core/data/coco_classes.yaml``), by text or spaCy lemma, so
plurals match. Nouns naming no category have no truth in the dataset and are not scored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.splits.base import SplitItem, SplitOptions
from benchmark.splits.errors import SplitError
from benchmark.splits.options import require_dir, require_file
from core.coco import coco_class

COCO_REAL, VOC_REAL, IMAGENET_SEG = "coco-real", "voc-real", "imagenet-seg"
PARSE_CHUNK = 256  # images whose captions are parsed at a time (a --limit stops early)


class RealDatasetError(SplitError, ValueError):
    """A real-image dataset file or folder cannot be read (the message names it)."""


@contextlib.contextmanager
def _dataset_errors() -> Iterator[None]:
    """Readers' DatasetErrors as split errors: one line for the user, naming the file."""
    from benchmark.splits.datasets import DatasetError

    try:
        yield
    except DatasetError as err:
        raise RealDatasetError(str(err)) from None


def _reader(module: str, name: str, split: str):
    """A dataset reader imported on first use (the VOC and ImageNet-Seg readers are optional)."""
    import importlib

    try:
        return getattr(importlib.import_module(f"benchmark.splits.datasets.{module}"), name)
    except (ImportError, AttributeError) as err:
        raise RealDatasetError(
            f"split {split!r} needs benchmark.splits.datasets.{module}.{name}, which this installation lacks: {err}"
        ) from None


def _coco80(categories: Mapping[str, str]) -> dict[str, str]:
    """word -> COCO class, for the words whose category is one of COCO's 80 (mIoU80)."""
    return {w: c for w, cat in categories.items() if (c := coco_class(cat)) is not None}


# ---- coco-real --------------------------------------------------------------------------------


def coco_samples(options: SplitOptions) -> dict[str, Any]:
    """The ``coco-real`` samples by key (the COCO image id), read from the paths in ``options``."""
    from benchmark.splits.datasets.coco import read_coco

    images = require_dir(options, "coco_images", COCO_REAL)
    instances = require_file(options, "coco_instances", COCO_REAL)
    captions = require_file(options, "coco_captions", COCO_REAL)
    with _dataset_errors():
        return {s.key: s for s in read_coco(images, instances, captions)}


def _caption_item(sample, index: int, doc, matcher) -> SplitItem | None:
    """The item of caption ``index`` of ``sample``, or None when none of its nouns names a category."""
    from benchmark.splits.coco_classes import token_forms
    from benchmark.splits.nouns import caption_nouns, classes_by_word
    from benchmark.splits.text import PromptWords, dedupe

    caption = sample.captions[index]
    nouns = caption_nouns(doc, PromptWords.of(caption))
    forms = token_forms(doc)
    categories = classes_by_word(nouns, [matcher.match(forms, n.token) for n in nouns])
    if not categories:
        return None
    words = dedupe(n.text for n in nouns)
    return SplitItem(
        key=f"coco-real-{sample.key}-{index}",
        text=caption,
        words=words,
        provenance={
            "source": "coco",
            "sample": sample.key,
            "file_name": sample.details.get("file_name"),
            "caption_index": index,
            "nouns": list(words),
            "categories": categories,
            "coco_classes": _coco80(categories),
        },
    )


def _chunk_items(chunk: Sequence, matcher, per_image: int, spacy_model: str) -> list[SplitItem]:
    """Each image's first ``per_image`` captions naming a category. Captions are parsed a round
    at a time (every image's first, then the second of those still short, ...), since most
    first captions already name one."""
    from benchmark.splits.nlp import parse

    found: dict[str, list[SplitItem]] = {s.key: [] for s in chunk}
    for index in range(max((len(s.captions) for s in chunk), default=0)):
        todo = [s for s in chunk if len(found[s.key]) < per_image and index < len(s.captions)]
        if not todo:
            break
        for sample, doc in zip(todo, parse(spacy_model, [s.captions[index] for s in todo])):
            item = _caption_item(sample, index, doc, matcher)
            if item is not None:
                found[sample.key].append(item)
    return [item for s in chunk for item in found[s.key]]


def build_coco_real(options: SplitOptions) -> list[SplitItem]:
    """Per image (by id), its first ``captions_per_image`` (default 1) captions naming a category."""
    from benchmark.splits.coco_classes import class_matcher
    from benchmark.splits.datasets.coco import coco_categories

    samples = list(coco_samples(options).values())
    with _dataset_errors():
        names = tuple(sorted(set(coco_categories(options.coco_instances).values())))
    matcher = class_matcher(options.spacy_model, names)
    per_image = options.captions_per_image or 1
    items: list[SplitItem] = []
    for start in range(0, len(samples), PARSE_CHUNK):
        chunk = [s for s in samples[start : start + PARSE_CHUNK] if s.classes and s.captions]
        items += _chunk_items(chunk, matcher, per_image, options.spacy_model)
        if options.limit is not None and len(items) >= options.limit:
            break
    if not items:
        raise RealDatasetError(
            f"split {COCO_REAL!r}: no caption of {options.coco_captions} names a category of "
            f"{options.coco_instances} in an image that has one"
        )
    return items


# ---- voc-real and imagenet-seg: prompts made from class names ---------------------------------


def _class_words(split: str, key: str, prompt: str, classes: Sequence[str]) -> dict[str, str]:
    """word -> class for each class the prompt names: the class name's last word (its head,
    "plant" of "potted plant"), or any of its words, as the prompt spells it."""
    from daam.words import split_words

    in_prompt = {w.lower(): w for w, _, _ in split_words(prompt)}
    out: dict[str, str] = {}
    for cls in classes:
        for part in reversed(cls.split()):
            for form in (part, part + "s", part + "es"):
                if form.lower() in in_prompt:
                    out.setdefault(in_prompt[form.lower()], cls)
                    break
            else:
                continue
            break
        else:
            raise RealDatasetError(f"split {split!r}, sample {key!r}: the prompt {prompt!r} does not name {cls!r}")
    return out


def _class_items(split: str, samples, prompt_of) -> list[SplitItem]:
    """One item per sample with a class: the reader's prompt (``(prompt, class words)``), each class
    word mapped to the single prompt word that stands for it (DAAM maps words, not phrases)."""
    items = []
    for sample in samples:
        if not sample.classes:
            continue
        made = prompt_of(sample)
        prompt, classes = made if isinstance(made, tuple) else (made, sample.classes)
        categories = _class_words(split, sample.key, prompt, classes)
        items.append(
            SplitItem(
                key=f"{split}-{sample.key}",
                text=prompt,
                words=tuple(categories),
                provenance={
                    "source": split,
                    "sample": sample.key,
                    "categories": categories,
                    "coco_classes": _coco80(categories),
                },
            )
        )
    return items


def voc_samples(options: SplitOptions) -> dict[str, Any]:
    """The ``voc-real`` samples by key (the VOC image name) of the split's image set."""
    from benchmark.splits.catalogue import spec

    read_voc = _reader("voc", "read_voc", VOC_REAL)
    root = require_dir(options, "voc_root", VOC_REAL)
    image_set = str(spec(VOC_REAL).params.get("image_set", "val"))
    with _dataset_errors():
        return {s.key: s for s in read_voc(root, image_set)}


def build_voc_real(options: SplitOptions) -> list[SplitItem]:
    """One item per image of the image set: a prompt naming its classes (``voc_prompt``)."""
    voc_prompt = _reader("voc", "voc_prompt", VOC_REAL)
    with _dataset_errors():
        return _class_items(VOC_REAL, voc_samples(options).values(), lambda s: voc_prompt(s.classes))


def imagenet_seg_samples(options: SplitOptions) -> dict[str, Any]:
    """The ``imagenet-seg`` samples by key (the index in gtsegs_ijcv.mat); class words from the
    ``--imagenet-names`` table when given, else WordNet's first lemma (the reader's rule)."""
    read = _reader("imagenet_seg", "read_imagenet_seg", IMAGENET_SEG)
    path = require_file(options, "imagenet_seg", IMAGENET_SEG)
    names = options.imagenet_names
    if names is not None and not Path(names).is_file():
        raise FileNotFoundError(f"split {IMAGENET_SEG!r}: --imagenet-names {names} is not a file")
    with _dataset_errors():
        return {s.key: s for s in read(path, names)}


def build_imagenet_seg(options: SplitOptions) -> list[SplitItem]:
    """One item per image: ``imagenet_seg_prompt`` of its sample, its class as the word."""
    prompt_of = _reader("imagenet_seg", "imagenet_seg_prompt", IMAGENET_SEG)
    with _dataset_errors():
        return _class_items(IMAGENET_SEG, imagenet_seg_samples(options).values(), prompt_of)


# ---- what the real-image generation mode reads from a sample ----------------------------------


def fit_size(height: int, width: int, target: int, factor: int) -> tuple[int, int]:
    """(H, W) with the longer side ``target`` and the aspect ratio kept, each side a multiple of
    ``factor`` (at least one), so the model sees about the area it was trained at."""
    scale = target / max(height, width)
    h, w = (max(factor, round(side * scale / factor) * factor) for side in (height, width))
    return h, w


def sample_truth(
    sample, provenance: Mapping[str, Any], words: Sequence[str], size: tuple[int, int]
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Each word's true mask at ``size`` (nearest-neighbour resized), and the ignore (void) mask.

    A word naming a category absent from the image gets an empty mask (absent, not scored); a
    word naming no category gets none (no truth)."""
    from benchmark.metrics.masks import resize_mask

    masks, ignore = sample.truth()
    categories = provenance.get("categories") or {}
    fit = lambda m: m if m.shape == size else resize_mask(m, size)  # noqa: E731
    out = {}
    for word in words:
        category = categories.get(word)
        if category is None:
            continue
        mask = masks.get(category)
        out[word] = np.zeros(size, bool) if mask is None else fit(np.asarray(mask, bool))
    return out, (None if ignore is None else fit(np.asarray(ignore, bool)))
