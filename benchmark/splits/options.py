"""Required options: which ``SplitOptions`` field a split needs and the CLI flag that sets it."""

from __future__ import annotations

from pathlib import Path

from benchmark.splits.base import SplitOptions
from benchmark.splits.errors import SplitError

# SplitOptions field -> the `bench` flag that sets it (errors name the flag the user types).
FLAGS: dict[str, str] = {
    "coco_captions": "--coco-captions",
    "prompts_file": "--prompts",
    "spacy_model": "--spacy-model",
    "seed": "--seed",
    "size": "--size",
    "limit": "--limit",
    "coco_images": "--coco-images",
    "coco_instances": "--coco-instances",
    "voc_root": "--voc-root",
    "imagenet_seg": "--imagenet-seg",
    "imagenet_names": "--imagenet-names",
    "captions_per_image": "--captions-per-image",
}


class MissingOptionError(SplitError, ValueError):
    """A split was asked for without an option it needs."""


class InvalidOptionError(SplitError, ValueError):
    """An option has a value no split accepts (a negative seed, a zero size)."""


def flag(field: str) -> str:
    return FLAGS.get(field, "--" + field.replace("_", "-"))


def require(options: SplitOptions, field: str, split: str) -> object:
    """The value of ``options.<field>``, or an error naming the option and its flag."""
    if not hasattr(options, field):
        raise ValueError(f"split {split!r} needs option {field!r}, which SplitOptions does not have")
    value = getattr(options, field)
    if value is None or value == "":
        raise MissingOptionError(f"split {split!r} needs option {field!r}: pass {flag(field)}")
    return value


def require_dir(options: SplitOptions, field: str, split: str) -> Path:
    """A required option naming an existing folder."""
    path = Path(require(options, field, split))
    if not path.is_dir():
        raise FileNotFoundError(f"split {split!r}: {flag(field)} {path} is not a folder")
    return path


def require_file(options: SplitOptions, field: str, split: str) -> Path:
    """A required option naming an existing file."""
    path = Path(require(options, field, split))
    if not path.is_file():
        raise FileNotFoundError(f"split {split!r}: {flag(field)} {path} is not a file")
    return path
