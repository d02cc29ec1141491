"""Readers of real-image segmentation datasets in their own published formats.

Each reader turns the files a user downloaded (COCO instances/captions JSON, the PASCAL VOC 2012
folder, ImageNet-Segmentation's ``gtsegs_ijcv.mat``) into :class:`Sample` records: one real image,
the words to attribute (class names as the prompt says them) and each word's true mask. The
real-image splits (``coco-real``, ``voc-real``, ``imagenet-seg``) build their items from samples;
the runner's ``real-image`` generation mode loads a sample's image and masks again by its key.
Nothing here is committed data: every reader reads from a path the user gives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np


class DatasetError(ValueError):
    """A dataset path or file that cannot be read as the format it should be (the message says which)."""


@dataclass(frozen=True)
class Sample:
    """One real image with exact truth.

    ``key`` is stable within the dataset (the COCO image id, the VOC image name, the index in the
    ImageNet-Segmentation file) and is what a split item stores to find the sample again.
    ``classes`` are the class names present (lowercase, as a prompt says them: "potted plant",
    "dog"). ``truth()`` loads, on demand, each class name's boolean ``[H, W]`` mask at the image's
    size and the ``ignore`` mask (VOC's void border: pixels that count for no class and are left
    out of every IoU; None where there is none). ``captions`` are the dataset's own captions
    (COCO), empty where prompts are made from class names.
    """

    key: str
    image: Callable[[], np.ndarray]  # loads the uint8 [H, W, 3] image on demand
    classes: tuple[str, ...]
    truth: Callable[[], tuple[dict[str, np.ndarray], np.ndarray | None]]  # (masks by class, ignore)
    captions: tuple[str, ...] = ()
    details: Mapping[str, object] = field(default_factory=dict)  # JSON-able: file name, category ids
