"""Validate and parse one Label Studio result against the task it belongs to.

The server accepts any result (unknown control names, labels that are not in the task,
truncated brush RLE), so everything is checked here.  A result with any problem is kept (raw)
but marked invalid and stays out of masks and scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from annotation.interface import CONTROLS, FLAGS, IMAGE_NAME, IMAGE_TOO_POOR, SCALE, WORD_TOO_ABSTRACT
from annotation.studies import Task

BRUSH_ALPHA_THRESHOLD = 128  # a painted pixel is more than half opaque


@dataclass(frozen=True)
class Parsed:
    """The parsed form of one annotation (JSON-able) and what is wrong with it."""

    value: Any
    problems: tuple[str, ...] = ()
    masks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # segmentation

    @property
    def valid(self) -> bool:
        return not self.problems


def parse_annotation(task: Task, annotation: dict[str, Any]) -> Parsed:
    """Parse an exported annotation (``result``, ``was_cancelled``) of ``task``."""
    if annotation.get("was_cancelled"):
        return Parsed(None, ("the rater skipped this task",))
    result = annotation.get("result")
    if not isinstance(result, list):
        return Parsed(None, (f"result must be a list, got {type(result).__name__}",))
    items, problems = _check_items(task.study, result)
    if task.study == "segmentation":
        parsed = _segmentation(task, items)
    elif task.study == "rating":
        parsed = _rating(task, items)
    else:
        parsed = _presence(task, items)
    if problems:
        return Parsed(parsed.value, tuple(problems) + parsed.problems)
    return parsed


def _check_items(study: str, result: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Items addressed to this study's controls; everything else is a problem."""
    controls = CONTROLS[study]
    items, problems = [], []
    for i, item in enumerate(result):
        if not isinstance(item, dict):
            problems.append(f"result #{i} is not an object")
            continue
        name, kind = item.get("from_name"), item.get("type")
        if name not in controls:
            problems.append(f"result #{i} comes from unknown control {name!r} (known: {', '.join(controls)})")
        elif kind != controls[name]:
            problems.append(f"result #{i} from {name!r} has type {kind!r}, expected {controls[name]!r}")
        elif item.get("to_name") != IMAGE_NAME:
            problems.append(f"result #{i} points at {item.get('to_name')!r}, expected {IMAGE_NAME!r}")
        elif not isinstance(item.get("value"), dict):
            problems.append(f"result #{i} has no value object")
        else:
            items.append(item)
    return items, problems


# ----------------------------------------------------------------------------- segmentation
def _segmentation(task: Task, items: list[dict[str, Any]]) -> Parsed:
    height, width = task.height, task.width
    if height is None or width is None:
        return Parsed(None, (f"generation {task.generation_id} has no stored image size",))
    problems: list[str] = []
    masks = {noun: np.zeros((height, width), dtype=bool) for noun in task.labels}
    regions = {noun: 0 for noun in task.labels}
    for i, item in enumerate(items):
        value = item["value"]
        label_key = "brushlabels" if item["type"] == "brushlabels" else "polygonlabels"
        labels = value.get(label_key)
        if not isinstance(labels, list) or len(labels) != 1 or not isinstance(labels[0], str):
            problems.append(f"region #{i} must carry exactly one label, got {labels!r}")
            continue
        noun = labels[0]
        if noun not in masks:
            problems.append(f"region #{i} has unknown label {noun!r}; this prompt's nouns are {', '.join(task.labels)}")
            continue
        size = (item.get("original_height"), item.get("original_width"))
        if size != (height, width):
            problems.append(f"region #{i} was drawn on a {size[1]}x{size[0]} image; the generation is {width}x{height}")
            continue
        try:
            if item["type"] == "brushlabels":
                region = brush_mask(value, height, width)
            else:
                region = polygon_mask(value.get("points"), height, width)
        except ValueError as exc:
            problems.append(f"region #{i} ({noun!r}) is malformed: {exc}")
            continue
        masks[noun] |= region
        regions[noun] += 1
    summary = {noun: {"regions": regions[noun], "area": int(masks[noun].sum())} for noun in task.labels}
    if problems:
        return Parsed(summary, tuple(problems))
    return Parsed(summary, (), masks)


def brush_mask(value: dict[str, Any], height: int, width: int) -> np.ndarray:
    """Decode Label Studio brush RLE (RGBA, 4 values per pixel) to a boolean mask."""
    from label_studio_sdk.converter.brush import InputStream, bytes2bit, decode_rle

    if value.get("format") != "rle":
        raise ValueError(f"brush format must be 'rle', got {value.get('format')!r}")
    rle = value.get("rle")
    if (
        not isinstance(rle, list)
        or len(rle) < 5
        or not all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in rle)
    ):
        raise ValueError("brush rle must be a list of byte values (0..255)")
    expected = height * width * 4
    declared = InputStream(bytes2bit(rle)).read(32)  # header: number of values
    if declared != expected:
        raise ValueError(f"brush rle holds {declared} values, a {width}x{height} RGBA image needs {expected}")
    try:
        flat = decode_rle(rle)
    except (IndexError, ValueError) as exc:
        raise ValueError(f"brush rle is truncated or corrupt ({type(exc).__name__})") from None
    return flat.reshape(height, width, 4)[:, :, 3] >= BRUSH_ALPHA_THRESHOLD


def polygon_mask(points: Any, height: int, width: int) -> np.ndarray:
    """Pixels whose centre lies inside the polygon (points in percent of the image size)."""
    from skimage.draw import polygon

    if not isinstance(points, list) or len(points) < 3:
        raise ValueError("a polygon needs at least 3 points")
    xs, ys = [], []
    for point in points:
        if (
            not isinstance(point, (list, tuple))
            or len(point) != 2
            or not all(
                isinstance(v, (int, float))
                and not isinstance(v, bool)
                and math.isfinite(v)
                and -1e-6 <= v <= 100 + 1e-6
                for v in point
            )
        ):
            raise ValueError(f"polygon point {point!r} is not [x, y] in percent (0..100)")
        xs.append(point[0] * width / 100 - 0.5)  # pixel centres sit at integer coordinates
        ys.append(point[1] * height / 100 - 0.5)
    mask = np.zeros((height, width), dtype=bool)
    rows, cols = polygon(np.array(ys), np.array(xs), shape=(height, width))
    mask[rows, cols] = True
    return mask


# ----------------------------------------------------------------------------- rating
def _choices(items: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    chosen, problems = [], []
    for i, item in enumerate(items):
        values = item["value"].get("choices")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            problems.append(f"result #{i} has no list of choices")
            continue
        chosen.extend(values)
    return chosen, problems


def _rating(task: Task, items: list[dict[str, Any]]) -> Parsed:
    chosen, problems = _choices(items)
    info = {"target": task.target, "attention_check": task.attention_check}
    if not problems and len(chosen) != 1:
        problems.append(f"a rating needs exactly one choice, got {chosen!r}")
    if problems:
        return Parsed(info, tuple(problems))
    choice = chosen[0]
    if choice not in SCALE + FLAGS:
        return Parsed(info, (f"unknown choice {choice!r}; expected one of {', '.join(SCALE + FLAGS)}",))
    flag = {IMAGE_TOO_POOR: "image_too_poor", WORD_TOO_ABSTRACT: "word_too_abstract"}.get(choice)
    rating = SCALE.index(choice) + 1 if choice in SCALE else None
    return Parsed({**info, "choice": choice, "rating": rating, "flag": flag})


# ----------------------------------------------------------------------------- presence
def _presence(task: Task, items: list[dict[str, Any]]) -> Parsed:
    chosen, problems = _choices(items)
    info = {"prompt_nouns": list(task.prompt_nouns)}
    unknown = [c for c in chosen if c not in task.labels]
    if unknown:
        problems.append(f"unknown nouns {unknown!r}: not among the study's choices")
    if problems:
        return Parsed(info, tuple(problems))
    nouns = list(dict.fromkeys(chosen))  # keep the rater's order, drop repeats
    return Parsed({**info, "nouns": nouns})
