"""Validation and parsing of single results, without a server."""

from __future__ import annotations

import numpy as np
import pytest
from label_studio_sdk.converter.brush import mask2rle

from annotation.interface import ONTOLOGY_NOUNS
from annotation.parse import brush_mask, parse_annotation, polygon_mask
from annotation.studies import Task
from tests.annotation import results
from tests.annotation.results import choice

H, W = 12, 16


def _task(study: str, **kw) -> Task:
    defaults = dict(
        key=f"{study}/run/1",
        study=study,
        run="run",
        generation_id=1,
        prompt_id=1,
        image_path="images/a.png",
        height=H,
        width=W,
        labels=(),
        data={},
    )
    defaults.update(kw)
    return Task(**defaults)


SEG = _task("segmentation", labels=("dog", "cat"))
RATE = _task("rating", target="dog")
CHECK = _task("rating", target=".", attention_check=True)
PRES = _task("presence", labels=ONTOLOGY_NOUNS, prompt_nouns=("cat", "dog"))


def brush(mask, label, **over):
    return results.brush(mask, label, **over)


def polygon(points, label):
    return results.polygon(points, label, H, W)


def random_mask(seed: int) -> np.ndarray:
    return results.random_mask(seed, H, W)


def test_brush_rle_round_trips_pixel_exact():
    for seed in range(5):
        mask = random_mask(seed)
        value = {"format": "rle", "rle": mask2rle(mask.astype(np.uint8) * 255)}
        assert np.array_equal(brush_mask(value, H, W), mask)


def test_segmentation_unions_regions_per_noun_and_leaves_undrawn_nouns_empty():
    a, b = random_mask(1), random_mask(2)
    parsed = parse_annotation(SEG, {"result": [brush(a, "dog"), brush(b, "dog")]})
    assert parsed.valid, parsed.problems
    assert np.array_equal(parsed.masks["dog"], a | b)
    assert not parsed.masks["cat"].any() and parsed.masks["cat"].shape == (H, W)
    assert parsed.value == {"dog": {"regions": 2, "area": int((a | b).sum())}, "cat": {"regions": 0, "area": 0}}


def test_polygon_fills_pixels_whose_centres_are_inside():
    # x 25%..50% of 16 px = 4..8, y 0%..50% of 12 px = 0..6: columns 4-7, rows 0-5
    points = [[25, 0], [50, 0], [50, 50], [25, 50]]
    expected = np.zeros((H, W), dtype=bool)
    expected[0:6, 4:8] = True
    assert np.array_equal(polygon_mask(points, H, W), expected)
    parsed = parse_annotation(SEG, {"result": [polygon(points, "cat")]})
    assert parsed.valid and np.array_equal(parsed.masks["cat"], expected)


@pytest.mark.parametrize(
    "item, message",
    [
        (brush(random_mask(3), "unicorn"), "unknown label 'unicorn'"),
        (brush(random_mask(3), "dog", from_name="paint"), "unknown control 'paint'"),
        (brush(random_mask(3), "dog", type="rectanglelabels"), "has type 'rectanglelabels'"),
        (brush(random_mask(3), "dog", to_name="heatmap"), "points at 'heatmap'"),
        (brush(random_mask(3), "dog", original_width=W + 1), f"drawn on a {W + 1}x{H} image"),
        (brush(np.ones((H, W + 1), bool), "dog", original_width=W), "holds"),
        (polygon([[1, 1], [2, 2]], "dog"), "at least 3 points"),
        (polygon([[1, 1], [2, 2], [150, 3]], "dog"), "not [x, y] in percent"),
    ],
)
def test_segmentation_problems_are_named_and_make_the_result_invalid(item, message):
    parsed = parse_annotation(SEG, {"result": [brush(random_mask(0), "cat"), item]})
    assert not parsed.valid
    assert parsed.masks == {}  # nothing of an invalid result reaches the masks
    assert any(message in p for p in parsed.problems), parsed.problems


def test_truncated_and_garbage_brush_rle_are_malformed_not_crashes():
    good = brush(random_mask(4), "dog")
    truncated = dict(good, value=dict(good["value"], rle=good["value"]["rle"][:-6]))
    garbage = dict(good, value=dict(good["value"], rle=[255] * 40))
    not_bytes = dict(good, value=dict(good["value"], rle=[1, 2, 300, 4, 5]))
    for item in (truncated, garbage, not_bytes):
        parsed = parse_annotation(SEG, {"result": [item]})
        assert not parsed.valid and "malformed" in parsed.problems[0], parsed.problems


def test_rating_choices_parse_to_scores_and_flags():
    assert parse_annotation(RATE, {"result": [choice("rating", "good")]}).value == {
        "target": "dog",
        "attention_check": False,
        "choice": "good",
        "rating": 4,
        "flag": None,
    }
    abstract = parse_annotation(CHECK, {"result": [choice("rating", "word too abstract")]}).value
    assert abstract["rating"] is None and abstract["flag"] == "word_too_abstract"
    assert abstract["attention_check"] is True
    poor = parse_annotation(RATE, {"result": [choice("rating", "image too poor")]}).value
    assert poor["flag"] == "image_too_poor"


@pytest.mark.parametrize(
    "result, message",
    [
        ([], "exactly one choice"),
        ([choice("rating", "good", "bad")], "exactly one choice"),
        ([choice("rating", "superb")], "unknown choice 'superb'"),
        ([choice("objects", "dog")], "unknown control 'objects'"),
    ],
)
def test_rating_problems(result, message):
    parsed = parse_annotation(RATE, {"result": result})
    assert not parsed.valid and any(message in p for p in parsed.problems), parsed.problems


def test_presence_keeps_order_and_refuses_unknown_nouns():
    parsed = parse_annotation(PRES, {"result": [choice("objects", "dog", "cat", "dog")]})
    assert parsed.valid and parsed.value == {"prompt_nouns": ["cat", "dog"], "nouns": ["dog", "cat"]}
    assert parse_annotation(PRES, {"result": []}).value["nouns"] == []
    bad = parse_annotation(PRES, {"result": [choice("objects", "dog", "unicorn")]})
    assert not bad.valid and "unicorn" in bad.problems[0]


def test_skipped_and_malformed_annotations_are_invalid():
    assert parse_annotation(RATE, {"was_cancelled": True, "result": []}).problems == ("the rater skipped this task",)
    assert "must be a list" in parse_annotation(RATE, {"result": "good"}).problems[0]
    assert "not an object" in parse_annotation(RATE, {"result": ["good"]}).problems[0]
