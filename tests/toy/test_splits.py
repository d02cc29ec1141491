"""Toy splits: deterministic, held-out share, scenes re-render exactly, colour groups share seeds."""

import json
import re
from collections import defaultdict

import numpy as np
import pytest

from benchmark.splits.base import SplitItem, SplitOptions
from benchmark.toy import splits
from benchmark.toy.annotate import annotate
from benchmark.toy.splits import (
    build_colour,
    build_relation,
    build_shapes,
    requested_objects,
    scene_from_provenance,
)
from benchmark.toy.world import (
    COLOURS,
    HELD_OUT,
    RELATIONS,
    SHAPES,
    WORLD_VERSION,
    render,
)

BUILDERS = [build_shapes, build_colour, build_relation]


@pytest.fixture(scope="module")
def built():
    return {b.__name__: b(SplitOptions(seed=3)) for b in BUILDERS}


def _as_data(items: list[SplitItem]):
    return [(i.key, i.text, i.words, json.dumps(i.provenance, sort_keys=True), i.seed) for i in items]


@pytest.mark.parametrize("builder", BUILDERS)
def test_deterministic_and_seeded(builder, built):
    items = built[builder.__name__]
    assert _as_data(builder(SplitOptions(seed=3))) == _as_data(items)
    assert _as_data(builder(SplitOptions(seed=4))) != _as_data(items)


@pytest.mark.parametrize("builder", BUILDERS)
def test_size_and_limit_take_a_prefix(builder, built):
    items = _as_data(built[builder.__name__])
    assert _as_data(builder(SplitOptions(seed=3, size=10))) == items[:10]
    assert _as_data(builder(SplitOptions(seed=3, limit=7))) == items[:7]
    assert _as_data(builder(SplitOptions(seed=3, size=10, limit=4))) == items[:4]
    assert builder(SplitOptions(size=0)) == []
    with pytest.raises(ValueError, match="size"):
        builder(SplitOptions(size=-1))


@pytest.mark.parametrize("builder", BUILDERS)
def test_items_are_well_formed(builder, built):
    items = built[builder.__name__]
    prefix = builder.__name__.removeprefix("build_")
    assert len({i.key for i in items}) == len(items)
    for item in items:
        assert item.key.startswith(prefix + "-")
        assert isinstance(item.seed, int)
        json.dumps(item.provenance)  # JSON-able
        assert len(set(item.words)) == len(item.words)
        for word in item.words:
            assert word in re.findall(r"[a-z]+", item.text)


def test_default_sizes(built):
    assert len(built["build_shapes"]) == splits.SHAPES_SIZE == 200
    assert len(built["build_colour"]) == splits.COLOUR_SIZE
    assert len(built["build_relation"]) == splits.RELATION_SIZE


@pytest.mark.parametrize("builder", BUILDERS)
def test_scene_re_renders_exactly_from_provenance(builder, built):
    scene_of = {
        "build_shapes": lambda i, n: splits.shapes_scene(3, n)[0],
        "build_relation": lambda i, n: splits.relation_scene(3, n)[0],
    }
    for n, item in enumerate(built[builder.__name__]):
        provenance = json.loads(json.dumps(item.provenance))  # as stored
        scene = scene_from_provenance(provenance)
        assert scene.caption == item.text
        image, masks = render(scene)
        if builder.__name__ in scene_of:
            original = scene_of[builder.__name__](item, n)
            assert scene == original
            expected, expected_masks = render(original)
            np.testing.assert_array_equal(image, expected)
            for a, b in zip(masks, expected_masks):
                np.testing.assert_array_equal(a, b)
        # the annotator finds exactly the requested objects on the re-render
        result = annotate(image, requested_objects(provenance))
        assert result.all_present and result.extra == (), item.key
        for obj, mask in zip(result.objects, masks):
            np.testing.assert_array_equal(obj.mask, mask)


def test_shapes_half_held_out(built):
    items = built["build_shapes"]
    held = [i for i in items if i.provenance["held_out"]]
    assert len(held) == len(items) // 2
    for n, item in enumerate(items):
        combos = {(o["colour"], o["shape"]) for o in item.provenance["objects"]}
        assert item.provenance["held_out"] == (n % 2 == 1)
        if item.provenance["held_out"]:
            assert combos <= HELD_OUT
        else:
            assert not combos & HELD_OUT
        assert all(o["held_out"] == ((o["colour"], o["shape"]) in HELD_OUT) for o in item.provenance["objects"])
    counts = defaultdict(int)
    for item in items:
        counts[len(item.provenance["objects"])] += 1
    assert counts[1] > 40 and counts[2] > 40 and 5 <= counts[3] < counts[2]
    assert {o["shape"] for i in items for o in i.provenance["objects"]} == set(SHAPES)
    assert any(i.provenance["texture_seed"] is not None for i in items)


def test_colour_groups_share_seed_and_layout_and_vary_only_the_colour(built):
    groups = defaultdict(list)
    for item in built["build_colour"]:
        groups[item.provenance["group"]].append(item)
    assert len(groups) == splits.COLOUR_SIZE // len(COLOURS)
    for g, items in groups.items():
        assert sorted(i.provenance["colour"] for i in items) == sorted(COLOURS)
        assert [i.provenance["variant"] for i in items] == list(range(len(COLOURS)))
        assert items[0].provenance["colour"] == items[0].provenance["seed_colour"]
        assert len({i.seed for i in items}) == 1
        layouts = {
            json.dumps({k: v for k, v in o.items() if k not in ("colour", "held_out")})
            for i in items
            for o in i.provenance["objects"]
        }
        assert len(layouts) == 1
        assert len({i.provenance["texture_seed"] for i in items}) == 1
        shape = items[0].provenance["shape"]
        for item in items:
            colour = item.provenance["colour"]
            assert item.words == (colour, shape)
            assert item.text.split()[1:] == [colour, shape]
            assert item.key == f"colour-{g:04d}-{colour}"
            assert item.provenance["held_out"] == ((colour, shape) in HELD_OUT)
        masks = [render(scene_from_provenance(i.provenance))[1][0] for i in items]
        assert all(np.array_equal(masks[0], m) for m in masks)
    seeds = {items[0].seed for items in groups.values()}
    assert len(seeds) == len(groups)  # groups do not share seeds with each other


def test_colour_partial_group():
    items = build_colour(SplitOptions(size=8))
    assert [i.provenance["group"] for i in items] == [0] * 6 + [1] * 2


def test_relation_items_hold_their_relation(built):
    items = built["build_relation"]
    assert {i.provenance["relation"] for i in items} == set(RELATIONS)
    for item in items:
        p = item.provenance
        a, b = p["objects"]
        dx, dy = RELATIONS[p["relation"]]
        # the head (first object) lies in the relation's direction from the dependent
        assert (a["cx"] - b["cx"]) * dx >= 0 and (a["cy"] - b["cy"]) * dy >= 0
        if dx:
            assert abs(a["cx"] - b["cx"]) > abs(a["cy"] - b["cy"])
        else:
            assert abs(a["cy"] - b["cy"]) > abs(a["cx"] - b["cx"])
        assert (p["head"], p["dependent"]) == (a["shape"], b["shape"])
        assert p["dependency"] == "nmod:" + p["relation"].replace(" ", "_")
        assert item.words == (p["head"], p["relation_word"], p["dependent"])
        assert p["relation_word"] in p["relation"].split()
        assert (
            item.text == f"{'an' if a['colour'][0] in 'aeiou' else 'a'} {a['colour']} {a['shape']} "
            f"{p['relation']} {'an' if b['colour'][0] in 'aeiou' else 'a'} {b['colour']} {b['shape']}"
        )
        assert not p["held_out"]


def test_scene_from_provenance_names_what_is_wrong(built):
    good = built["build_shapes"][0].provenance
    with pytest.raises(ValueError, match="version"):
        scene_from_provenance(good | {"world_version": WORLD_VERSION + "-old"})
    with pytest.raises(ValueError, match="texture_seed"):
        scene_from_provenance({k: v for k, v in good.items() if k != "texture_seed"})
    with pytest.raises(ValueError, match="object 0"):
        scene_from_provenance(good | {"objects": [{"colour": "pink", "shape": "circle"}]})
    with pytest.raises(ValueError, match="numeric"):
        scene_from_provenance(good | {"objects": [{"colour": "red", "shape": "circle", "cx": "x", "cy": 1, "size": 8}]})
    with pytest.raises(ValueError, match="no objects"):
        scene_from_provenance(good | {"objects": []})
    with pytest.raises(ValueError, match="relation"):
        scene_from_provenance(good | {"relation": "inside"})
    with pytest.raises(TypeError, match="mapping"):
        scene_from_provenance([1, 2])


def test_items_do_not_depend_on_the_string_hash_seed():
    """HELD_OUT is a frozenset: its order changes with PYTHONHASHSEED unless sorted."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import json; from benchmark.splits.base import SplitOptions; from benchmark.toy import splits; "
        "print(json.dumps([[i.key, i.text, i.provenance, i.seed] for b in "
        "(splits.build_shapes, splits.build_colour, splits.build_relation) for i in b(SplitOptions(size=12))]))"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = os.environ | {"PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        outputs.add(
            subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
        )
    assert len(outputs) == 1
