"""COCO's 80 object classes: the subset behind the paper's mIoU80 (table 1, appendix B)."""
from __future__ import annotations

# The 80 "things" of COCO 2014/2017 detection, in category-id order.
COCO80: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)
_COCO80 = frozenset(COCO80)


def normalise_label(label: str) -> str:
    """Lower case with single spaces, so "Hot  Dog" and "hot dog" are one label."""
    return " ".join(label.lower().split())


def is_coco_class(label: str, classes: frozenset[str] = _COCO80) -> bool:
    """Whether a noun names one of COCO's 80 classes.

    Matching is exact after ``normalise_label``, also allowing a regular plural ("dogs",
    "buses"); pass lemmas (spaCy's ``token.lemma_``) for irregular plurals such as "knives".
    """
    word = normalise_label(label)
    if word in classes:
        return True
    for suffix in ("es", "s"):
        if word.endswith(suffix) and word[: -len(suffix)] in classes:
            return True
    return False
