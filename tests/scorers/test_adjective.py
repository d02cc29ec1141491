"""Adjective scorer: colour and attribute spill of variant images against their seed image."""

from __future__ import annotations

import numpy as np
import pytest

import db
from benchmark.scorers.adjective import score_adjective, variant_of
from tests.scorers.conftest import block

N = 16
OBJECT = block(rows=slice(6, 10), cols=slice(6, 10), size=N)  # grown by the 2-pixel margin: rows/cols 4-11
GREY, BLUE, GREEN, RED = (128, 128, 128), (0, 0, 255), (0, 255, 0), (255, 0, 0)


def _image(background, obj, corner=None) -> np.ndarray:
    image = np.empty((N, N, 3), np.uint8)
    image[:] = background
    image[OBJECT] = obj
    if corner is not None:
        image[:4] = corner  # 64 background pixels, all outside the grown object
    return image


def _variant(bench, run, group, noun, adjectives, colour, images, masks):
    gens = []
    for v, (adjective, image, mask) in enumerate(zip(adjectives, images, masks)):
        prompt = bench.prompt(
            "adjective",
            f"adjective-{group}-{adjective}",
            f"a {adjective} {noun} outside",
            (adjective, noun),
            {
                "group": group,
                "variant": v,
                "adjective": adjective,
                "noun": noun,
                "is_colour": colour,
                "seed_prompt": "x",
            },
        )
        patterns = {(noun, 0): OBJECT} if mask == "daam" else None
        g = bench.generation(run, prompt, image=image, patterns=patterns, seed=3)
        if mask == "human":
            bench.store.add_mask(g.id, noun, 0, OBJECT, source="human", rater=bench.store.get_or_create_rater("r"))
        elif mask == "automatic":
            bench.store.add_mask(g.id, noun, 0, OBJECT, source="automatic")
        gens.append(g)
    return gens


def test_colour_and_attribute_spill(bench):
    run = bench.run("adjective")
    # car: blue seed; the green variant also greens 64 of the 192 background pixels; the red one does not
    _variant(
        bench,
        run,
        "car",
        "car",
        ("blue", "green", "red"),
        True,
        [_image(GREY, BLUE), _image(GREY, GREEN, corner=GREEN), _image(GREY, RED)],
        ["human", "automatic", "daam"],
    )
    # shovel: the object brightens by 100 levels, the rest of the image by 50: spill ratio 1/2
    _variant(
        bench,
        run,
        "shovel",
        "shovel",
        ("rusty", "metallic"),
        False,
        [_image((100,) * 3, (50,) * 3), _image((150,) * 3, (150,) * 3)],
        ["daam", "daam"],
    )
    returned, notes = score_adjective(bench.store, bench.workspace, run)
    s = bench.scores(run)
    spill = s[("model", "colour-spill", "all")]
    assert spill.value == pytest.approx((64 / 192 + 0) / 2) and spill.n == 2
    assert s[("model", "colour-gain", "all")].value == pytest.approx((64 / 192 + 0) / 2)
    assert s[("model", "colour-spill", "group:car")].value == pytest.approx(1 / 6)
    green = next(p for p in spill.details["pairs"] if p["adjective"] == "green")
    assert green["object_gain"] == pytest.approx(1.0) and green["mask_source"] == "automatic+human"
    red = next(p for p in spill.details["pairs"] if p["adjective"] == "red")
    assert red["mask_source"] == "daam@0.4+human"
    attribute = s[("model", "attribute-spill", "all")]
    assert attribute.value == pytest.approx(0.5) and attribute.n == 1
    assert attribute.details["mask_sources"] == {"daam@0.4": 1}
    assert ("model", "attribute-spill", "group:shovel") in s
    assert "3 variant images" in notes[0] and len(returned) == len(s)


def test_colour_without_a_hue_is_attribute_spill_and_missing_seed_is_noted(bench):
    run = bench.run("adjective")
    _variant(
        bench,
        run,
        "cat",
        "cat",
        ("white", "black"),
        True,
        [_image((200,) * 3, (250,) * 3), _image((210,) * 3, (10,) * 3)],
        ["daam", "daam"],
    )
    prompt = bench.prompt(
        "adjective",
        "lonely",
        "a red ball outside",
        ("red", "ball"),
        {"group": "ball", "variant": 1, "adjective": "red", "noun": "ball", "is_colour": True},
    )
    bench.generation(run, prompt, image=_image(GREY, RED, None)[:8, :8].copy())
    _, notes = score_adjective(bench.store, bench.workspace, run)
    s = bench.scores(run)
    pair = s[("model", "attribute-spill", "all")].details["pairs"][0]
    assert pair["colour_without_hue"] is True
    assert pair["attribute_spill"] == pytest.approx((10 / 255) / (240 / 255))
    assert not any(metric.startswith("colour") for _, metric, _ in s)
    assert any("1 variant images have no finished seed image" in n for n in notes)


def test_toy_colour_provenance():
    prompt = db.Prompt(
        1,
        "shapes-colour",
        "1",
        "colour-0001-red",
        "a red circle",
        {"group": 1, "variant": 2, "colour": "red", "shape": "circle", "seed_colour": "blue"},
        ("red", "circle"),
    )
    v = variant_of(prompt)
    assert (v.group, v.index, v.adjective, v.noun, v.is_colour) == ("1", 2, "red", "circle", True)
