"""Toy-world splits: prompts whose scenes can be re-rendered exactly from their provenance.

Three builders, each ``build_xxx(options: SplitOptions) -> list[SplitItem]``:

- ``build_shapes``: one to three objects per prompt; every other item uses only colour-shape
  combinations held out of training (``world.HELD_OUT``), the analogue of the paper's
  Unreal-Gen (section 3.1). Scored for DAAM segmentation and for generation accuracy, the
  analogue of the cohyponym study (section 5.1).
- ``build_colour``: the adjective study (section 5.2): groups of one-object prompts that differ
  only in the colour word and share one generation seed, so the layout stays fixed.
- ``build_relation``: the syntax study (section 4): two objects joined by a spatial relation.

Every item's provenance holds its whole scene (``scene_provenance``), so the exact scene can be
rebuilt (``scene_from_provenance``) and rendered, e.g. to noise and denoise real renders through
the model. Items are pure functions of ``(options.seed, index)``: a larger size only appends.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from benchmark.splits.base import SplitItem, SplitOptions
from benchmark.toy.world import (
    COLOURS,
    HELD_OUT,
    RELATIONS,
    SHAPES,
    WORLD_VERSION,
    Scene,
    SceneObject,
    SceneSampler,
    compose_caption,
    train_combos,
)

SHAPES_SIZE = 200  # items
COLOUR_SIZE = 20 * len(COLOURS)  # items: 20 groups, one variant per colour
RELATION_SIZE = 120  # items, relations in turn

# Object sizes (side of the bounding square, px) by object count: the training sampler's, except
# that triples start at 8 px rather than 7. A star under 8 px can render to exactly the pixels of a
# disc, and every requested object must be recognisable on a perfect render of its prompt.
OBJECT_SIZES = {1: (10.0, 20.0), 2: (8.0, 14.0), 3: (8.0, 11.0)}

# Objects per shapes item: mostly singles and pairs, a few triples.
SHAPES_OBJECT_COUNTS = (1, 2, 3)
SHAPES_OBJECT_WEIGHTS = (0.4, 0.45, 0.15)

# The word of a relation phrase that carries its meaning, mapped and scored like the nouns.
RELATION_WORDS = {"above": "above", "below": "below", "to the left of": "left", "to the right of": "right"}

# Independent random streams per split, so that two splits with the same seed share nothing.
_STREAMS = {"shapes": 1, "colour": 2, "relation": 3}
_MAX_TRIES = 1000


def _rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, _STREAMS[split], index])


def _count(options: SplitOptions, default: int) -> int:
    n = default if options.size is None else options.size
    if options.limit is not None:
        n = min(n, options.limit)
    if n < 0:
        raise ValueError(f"split size and limit must be >= 0, got size={options.size} limit={options.limit}")
    return n


def _distinct(scene: Scene) -> bool:
    """Every colour word and every shape word names one object, so each word has one mask."""
    n = len(scene.objects)
    return len({o.colour for o in scene.objects}) == n and len({o.shape for o in scene.objects}) == n


def _sample(
    rng: np.random.Generator,
    n: int,
    pool: list[tuple[str, str]],
    relation: str | None = None,
    sampler: SceneSampler | None = None,
) -> Scene:
    """A scene of n objects from ``pool`` with distinct colours and shapes (and ``relation``)."""
    sampler = sampler or SceneSampler(size_range=OBJECT_SIZES)
    for _ in range(_MAX_TRIES):
        scene = sampler.sample(rng, n, combos=pool)
        if _distinct(scene) and (relation is None or scene.relation == relation):
            return scene
    raise RuntimeError(f"no scene of {n} distinct objects (relation {relation!r}) in {_MAX_TRIES} tries")


def _words(scene: Scene) -> tuple[str, ...]:
    return tuple(w for o in scene.objects for w in (o.colour, o.shape))


# ---- provenance ------------------------------------------------------------------------------


def scene_provenance(scene: Scene) -> dict[str, Any]:
    """Everything needed to re-render ``scene`` exactly, as JSON-able data."""
    objects = [
        {
            "colour": o.colour,
            "shape": o.shape,
            "cx": o.cx,
            "cy": o.cy,
            "size": o.size,
            "held_out": (o.colour, o.shape) in HELD_OUT,
        }
        for o in scene.objects
    ]
    return {
        "world_version": WORLD_VERSION,
        "image_size": scene.size,
        "objects": objects,
        "relation": scene.relation,
        "texture_seed": scene.texture_seed,
        "held_out": any(o["held_out"] for o in objects),
    }


def scene_from_provenance(p: Mapping[str, Any]) -> Scene:
    """The scene an item was built from; its render is the item's real image with exact masks."""
    if not isinstance(p, Mapping):
        raise TypeError(f"provenance must be a mapping, got {type(p).__name__}")
    missing = [k for k in ("world_version", "image_size", "objects", "relation", "texture_seed") if k not in p]
    if missing:
        raise ValueError(f"provenance lacks the scene field(s) {', '.join(missing)}")
    if p["world_version"] != WORLD_VERSION:
        raise ValueError(
            f"provenance was made by toy world version {p['world_version']!r}, this renderer is "
            f"{WORLD_VERSION!r}: its render would not be the item's scene"
        )
    objects = []
    for i, o in enumerate(p["objects"]):
        if not isinstance(o, Mapping) or o.get("colour") not in COLOURS or o.get("shape") not in SHAPES:
            raise ValueError(f"provenance object {i} is not a known colour and shape: {o!r}")
        try:
            objects.append(SceneObject(o["colour"], o["shape"], float(o["cx"]), float(o["cy"]), float(o["size"])))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"provenance object {i} needs numeric cx, cy and size: {o!r}") from e
    if not objects:
        raise ValueError("provenance holds no objects")
    relation = p["relation"]
    if relation is not None and (relation not in RELATIONS or len(objects) != 2):
        raise ValueError(f"relation {relation!r} needs two objects and one of {', '.join(RELATIONS)}")
    texture = p["texture_seed"]
    if texture is not None and not isinstance(texture, int):
        raise ValueError(f"texture_seed must be an integer or None, got {texture!r}")
    caption, spans = compose_caption(objects, relation)
    return Scene(tuple(objects), caption, spans, relation, texture, int(p["image_size"]))


def requested_objects(p: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (colour, shape) pairs an item's prompt asks for, in caption order (for ``annotate``)."""
    return scene_from_provenance(p).words()


# ---- shapes: segmentation, generation accuracy, held-out combinations ---------------------------


def shapes_scene(seed: int, index: int) -> tuple[Scene, int]:
    """Scene and generation seed of shapes item ``index``; odd items use held-out combinations."""
    rng = _rng(seed, "shapes", index)
    pool = sorted(HELD_OUT) if index % 2 else sorted(train_combos())
    n = int(rng.choice(SHAPES_OBJECT_COUNTS, p=SHAPES_OBJECT_WEIGHTS))
    scene = _sample(rng, n, pool)
    return scene, int(rng.integers(2**31))


def build_shapes(options: SplitOptions) -> list[SplitItem]:
    """Single objects, pairs and a few triples; half of them made only of held-out combinations."""
    items = []
    for i in range(_count(options, SHAPES_SIZE)):
        scene, seed = shapes_scene(options.seed, i)
        items.append(
            SplitItem(
                key=f"shapes-{i:04d}",
                text=scene.caption,
                words=_words(scene),
                provenance=scene_provenance(scene),
                seed=seed,
            )
        )
    return items


# ---- colour: the adjective study -----------------------------------------------------------------


def colour_group(seed: int, group: int) -> tuple[Scene, str, int]:
    """A group's one-object layout (drawn with its seed colour), its seed colour and its seed."""
    rng = _rng(seed, "colour", group)
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    seed_colour = list(COLOURS)[int(rng.integers(len(COLOURS)))]
    scene = _sample(rng, 1, [(seed_colour, shape)])
    return scene, seed_colour, int(rng.integers(2**31))


def build_colour(options: SplitOptions) -> list[SplitItem]:
    """Groups of "a <colour> <shape>" varying only the colour word, one seed and layout per group.

    Item order is group by group, the seed colour first, then the other colours in palette order;
    a size that is not a multiple of len(COLOURS) ends with a partial group.
    """
    n = _count(options, COLOUR_SIZE)
    items: list[SplitItem] = []
    for g in range(math.ceil(n / len(COLOURS))):
        base, seed_colour, seed = colour_group(options.seed, g)
        obj = base.objects[0]
        colours = [seed_colour] + [c for c in COLOURS if c != seed_colour]
        for v, colour in enumerate(colours):
            objects = (SceneObject(colour, obj.shape, obj.cx, obj.cy, obj.size),)
            caption, spans = compose_caption(objects)
            scene = Scene(objects, caption, spans, None, base.texture_seed, base.size)
            provenance = scene_provenance(scene) | {
                "group": g,
                "variant": v,
                "colour": colour,
                "shape": obj.shape,
                "seed_colour": seed_colour,
            }
            items.append(
                SplitItem(
                    key=f"colour-{g:04d}-{colour}",
                    text=caption,
                    words=(colour, obj.shape),
                    provenance=provenance,
                    seed=seed,
                )
            )
    return items[:n]


# ---- relation: the syntax study ------------------------------------------------------------------


def relation_scene(seed: int, index: int) -> tuple[Scene, int]:
    """Two objects in seen combinations, captioned with relation ``index`` mod 4 (which holds)."""
    rng = _rng(seed, "relation", index)
    relation = list(RELATIONS)[index % len(RELATIONS)]
    sampler = SceneSampler(relation_prob=1.0, size_range=OBJECT_SIZES)
    scene = _sample(rng, 2, sorted(train_combos()), relation=relation, sampler=sampler)
    return scene, int(rng.integers(2**31))


def build_relation(options: SplitOptions) -> list[SplitItem]:
    """ "a red circle above a blue square": head and dependent nouns joined by a relation.

    In dependency terms (enhanced Universal Dependencies, as in the paper's section 4) the first
    shape word is the head: it is the caption's root, and the second shape word depends on it
    through the preposition, ``nmod:above`` (multi-word prepositions joined by "_", e.g.
    ``nmod:to_the_left_of``). Words are the head, the relation's content word, the dependent.
    Only combinations seen in training are used, so generation failures on held-out
    combinations do not confound the head-dependent overlap.
    """
    items = []
    for i in range(_count(options, RELATION_SIZE)):
        scene, seed = relation_scene(options.seed, i)
        head, dependent = scene.objects[0].shape, scene.objects[1].shape
        word = RELATION_WORDS[scene.relation]
        provenance = scene_provenance(scene) | {
            "head": head,
            "dependent": dependent,
            "relation": scene.relation,
            "dependency": "nmod:" + scene.relation.replace(" ", "_"),
            "relation_word": word,
        }
        items.append(
            SplitItem(
                key=f"relation-{i:04d}",
                text=scene.caption,
                words=(head, word, dependent),
                provenance=provenance,
                seed=seed,
            )
        )
    return items


def seed_prompt_of(prompt) -> str | None:
    """The seed colour's prompt whose layout a stored colour variant reuses (the split's generation
    hook): the variant's caption with its colour word put back to the group's seed colour."""
    import re

    prov = prompt.provenance
    if not (prov.get("seed_colour") and prov.get("colour")):
        return None
    return re.sub(rf"\b{re.escape(prov['colour'])}\b", prov["seed_colour"], prompt.text, count=1)
