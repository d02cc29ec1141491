"""The toy world: procedural scenes of coloured shapes with exact per-object masks.

Everything is a pure function of a seed and ``WORLD_VERSION``: the same seed renders the same
pixels on every machine. Shapes are drawn with hard edges (no anti-aliasing) so that masks are
exact and an image's pixels can be segmented back into objects by colour alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

WORLD_VERSION = "1"

# Colours far apart in RGB so that nearest-colour segmentation is unambiguous.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (40, 70, 230),
    "yellow": (240, 215, 30),
    "purple": (150, 50, 180),
    "orange": (250, 140, 20),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")
BACKGROUND = (205, 205, 205)
# Colour-shape combinations never seen in training: the analogue of Unreal-Gen.
HELD_OUT: frozenset[tuple[str, str]] = frozenset(
    {("red", "star"), ("green", "triangle"), ("blue", "circle"), ("yellow", "square")}
)
RELATIONS = {"above": (0, -1), "below": (0, 1), "to the left of": (-1, 0), "to the right of": (1, 0)}


@dataclass(frozen=True)
class SceneObject:
    colour: str
    shape: str
    cx: float  # centre, in pixels
    cy: float
    size: float  # side of the bounding square, in pixels


@dataclass(frozen=True)
class Scene:
    objects: tuple[SceneObject, ...]
    caption: str
    # per object: character spans of its colour word and its shape word in the caption
    spans: tuple[tuple[tuple[int, int], tuple[int, int]], ...]
    relation: str | None = None
    texture_seed: int | None = None  # lightly textured background when set
    size: int = 32

    def words(self) -> list[tuple[str, str]]:
        return [(o.colour, o.shape) for o in self.objects]


def _polygon_mask(points: np.ndarray, size: int) -> np.ndarray:
    from skimage.draw import polygon2mask

    # polygon2mask takes (row, col) vertices and tests pixel centres
    return polygon2mask((size, size), points[:, ::-1])


def shape_mask(shape: str, cx: float, cy: float, s: float, size: int) -> np.ndarray:
    """Exact boolean mask of one shape whose bounding square has side ``s``."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    r = s / 2.0
    if shape == "circle":
        return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    if shape == "square":
        h = r * 0.88  # a little smaller than the bound so areas are comparable with the circle
        return (np.abs(xx - cx) <= h) & (np.abs(yy - cy) <= h)
    if shape == "triangle":
        pts = np.array([(cx, cy - r), (cx + r, cy + r * 0.85), (cx - r, cy + r * 0.85)])
        return _polygon_mask(pts, size)
    if shape == "star":
        angles = [-math.pi / 2 + k * math.pi / 5 for k in range(10)]
        radii = [r * 1.05 if k % 2 == 0 else r * 0.45 for k in range(10)]
        pts = np.array([(cx + q * math.cos(a), cy + 0.05 * r + q * math.sin(a)) for q, a in zip(radii, angles)])
        return _polygon_mask(pts, size)
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def render(scene: Scene) -> tuple[np.ndarray, list[np.ndarray]]:
    """Image (uint8 HxWx3) and one exact boolean mask per object (visible pixels)."""
    n = scene.size
    img = np.empty((n, n, 3), dtype=np.int16)
    img[:] = BACKGROUND
    if scene.texture_seed is not None:
        noise = np.random.default_rng(scene.texture_seed).integers(-6, 7, size=(n, n, 1))
        img += noise.astype(np.int16)
    masks = []
    taken = np.zeros((n, n), dtype=bool)
    for o in scene.objects:
        m = shape_mask(o.shape, o.cx, o.cy, o.size, n) & ~taken
        img[m] = COLOURS[o.colour]
        taken |= m
        masks.append(m)
    return np.clip(img, 0, 255).astype(np.uint8), masks


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def compose_caption(objects, relation: str | None = None):
    """Caption text and each object's (colour span, shape span)."""
    parts: list[str] = []
    spans = []
    text = ""

    def add(s: str) -> tuple[int, int]:
        nonlocal text
        start = len(text)
        text += s
        return start, len(text)

    for i, o in enumerate(objects):
        if i > 0:
            if relation is not None:
                add(f" {relation} ")
            elif i == len(objects) - 1:
                add(" and ")
            else:
                add(", ")
        add(_article(o.colour) + " ")
        cs = add(o.colour)
        add(" ")
        ss = add(o.shape)
        spans.append((cs, ss))
    del parts
    return text, tuple(spans)


def without_object(scene: Scene, index: int) -> Scene:
    """``scene`` less object ``index``, captioned by the same grammar (``compose_caption``).

    Its caption names every other object and not this one: the prompt under which a render of the
    whole ``scene`` is attributed when the object's words must be absent from the prompt (open
    vocabulary). A spatial relation joins two objects, so it goes with either of them.
    """
    n = len(scene.objects)
    if n < 2:
        raise ValueError(f"a scene of {n} object(s) has no caption without one of them: it needs at least 2")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < n:
        raise ValueError(f"object index must be an integer in [0, {n}), got {index!r}")
    objects = tuple(o for i, o in enumerate(scene.objects) if i != index)
    relation = scene.relation if len(objects) >= 2 else None
    caption, spans = compose_caption(objects, relation)
    return Scene(objects, caption, spans, relation, scene.texture_seed, scene.size)


@dataclass
class SceneSampler:
    """Samples scenes; ``allowed`` restricts the colour-shape combinations used."""

    size: int = 32
    allowed: frozenset[tuple[str, str]] | None = None
    n_objects: tuple[int, ...] = (1, 2, 3)
    n_weights: tuple[float, ...] = (0.35, 0.45, 0.20)
    relation_prob: float = 0.4  # two-object scenes captioned with a spatial relation
    texture_prob: float = 0.3
    # object size range (side of the bounding square, pixels) by number of objects
    size_range: dict = field(default_factory=lambda: {1: (10.0, 20.0), 2: (8.0, 14.0), 3: (7.0, 11.0)})
    _combos: list = field(default_factory=list, repr=False)

    def __post_init__(self):
        every = [(c, s) for c in COLOURS for s in SHAPES]
        self._combos = [cs for cs in every if self.allowed is None or cs in self.allowed]
        if not self._combos:
            raise ValueError("no colour-shape combination allowed")

    def sample(self, rng: np.random.Generator, n: int | None = None, combos=None) -> Scene:
        if n is None:
            n = int(rng.choice(self.n_objects, p=np.array(self.n_weights) / sum(self.n_weights)))
        pool = combos or self._combos
        for _ in range(200):  # rejection sampling of non-touching placements
            picks = [pool[int(i)] for i in rng.choice(len(pool), size=n, replace=len(pool) < n)]
            lo, hi = (self.size / 32 * v for v in self.size_range[n])
            objs = []
            for colour, shape in picks:
                s = float(rng.uniform(lo, hi))
                c = rng.uniform(s / 2 + 1, self.size - s / 2 - 1, size=2)
                objs.append(SceneObject(colour, shape, float(c[0]), float(c[1]), s))
            if n > 1 and len({(o.colour, o.shape) for o in objs}) < n:
                continue  # captions must name each object unambiguously
            if all(_apart(a, b) for i, a in enumerate(objs) for b in objs[i + 1 :]):
                break
        else:
            raise RuntimeError(f"could not place {n} objects without contact; lower size_range[{n}]")
        relation = None
        if n == 2 and rng.random() < self.relation_prob:
            relation = _relation(objs[0], objs[1])
        caption, spans = compose_caption(objs, relation)
        texture = int(rng.integers(2**31)) if rng.random() < self.texture_prob else None
        return Scene(tuple(objs), caption, spans, relation, texture, self.size)


def _apart(a: SceneObject, b: SceneObject, gap: float = 2.0) -> bool:
    """Bounding squares at least ``gap`` pixels apart: masks never touch."""
    dx = abs(a.cx - b.cx) - (a.size + b.size) / 2
    dy = abs(a.cy - b.cy) - (a.size + b.size) / 2
    return max(dx, dy) >= gap


def _relation(a: SceneObject, b: SceneObject) -> str | None:
    """The relation that clearly holds between a and b, if one does."""
    dx, dy = a.cx - b.cx, a.cy - b.cy
    if abs(dy) > 1.5 * abs(dx) and abs(dy) > (a.size + b.size) / 2:
        return "above" if dy < 0 else "below"
    if abs(dx) > 1.5 * abs(dy) and abs(dx) > (a.size + b.size) / 2:
        return "to the left of" if dx < 0 else "to the right of"
    return None


def train_combos() -> frozenset[tuple[str, str]]:
    return frozenset((c, s) for c in COLOURS for s in SHAPES if (c, s) not in HELD_OUT)
