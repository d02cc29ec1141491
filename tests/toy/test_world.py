"""The renderer's masks are exact: the automatic annotator and every toy score rest on that."""

import math

import numpy as np
import pytest
from scipy import ndimage as ndi

from benchmark.toy.world import (
    BACKGROUND,
    COLOURS,
    SHAPES,
    SceneSampler,
    render,
    shape_mask,
)

SIZE = 32


def _params(seed: int, n: int):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        s = float(rng.uniform(6, 22))
        cx, cy = rng.uniform(s / 2 + 1, SIZE - s / 2 - 1, size=2)
        yield float(cx), float(cy), s


def _integers_within(lo: float, hi: float) -> int:
    return max(0, min(math.floor(hi), SIZE - 1) - max(math.ceil(lo), 0) + 1)


def test_square_pixel_count_is_closed_form():
    for cx, cy, s in _params(0, 500):
        h = s / 2.0 * 0.88
        expected = _integers_within(cx - h, cx + h) * _integers_within(cy - h, cy + h)
        assert shape_mask("square", cx, cy, s, SIZE).sum() == expected, (cx, cy, s)


def test_circle_pixels_are_the_pixel_centres_inside_it():
    for cx, cy, s in _params(1, 60):
        r = s / 2.0
        brute = {(y, x) for y in range(SIZE) for x in range(SIZE) if (x - cx) ** 2 + (y - cy) ** 2 <= r * r}
        m = shape_mask("circle", cx, cy, s, SIZE)
        assert set(zip(*np.nonzero(m))) == brute, (cx, cy, s)


def _inside_polygon(px: float, py: float, pts: list[tuple[float, float]]) -> bool:
    """Ray casting, independent of scikit-image."""
    inside = False
    for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1]):
        if (y1 > py) != (y2 > py) and px < x1 + (py - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def test_triangle_pixels_are_the_pixel_centres_inside_it():
    for cx, cy, s in _params(2, 60):
        r = s / 2
        pts = [(cx, cy - r), (cx + r, cy + r * 0.85), (cx - r, cy + r * 0.85)]
        brute = {(y, x) for y in range(SIZE) for x in range(SIZE) if _inside_polygon(x, y, pts)}
        assert set(zip(*np.nonzero(shape_mask("triangle", cx, cy, s, SIZE)))) == brute, (cx, cy, s)


def test_every_shape_stays_in_its_bounding_square_and_is_one_piece():
    eight = np.ones((3, 3), bool)
    for shape in SHAPES:
        for cx, cy, s in _params(3, 200):
            m = shape_mask(shape, cx, cy, s, SIZE)
            ys, xs = np.nonzero(m)
            assert m.sum() > 0
            assert xs.min() >= cx - s / 2 and xs.max() <= cx + s / 2
            assert ys.min() >= cy - s / 2 and ys.max() <= cy + s / 2
            assert ndi.label(m, eight)[1] == 1  # stars may touch their tips only diagonally
            assert ndi.label(~m)[1] == 1  # no holes


def test_unknown_shape_is_named_in_the_error():
    with pytest.raises(ValueError, match="hexagon"):
        shape_mask("hexagon", 16, 16, 10, SIZE)


def _scenes(n: int, seed: int, **kw):
    rng = np.random.default_rng(seed)
    sampler = SceneSampler(texture_prob=0.5, **kw)
    return [sampler.sample(rng) for _ in range(n)]


def test_objects_never_touch_or_overlap():
    eight = np.ones((3, 3), bool)
    for scene in _scenes(300, 4):
        _, masks = render(scene)
        for i, a in enumerate(masks):
            for b in masks[i + 1 :]:
                assert not (ndi.binary_dilation(a, eight) & b).any(), scene  # >= 2 px apart


def test_masks_are_exactly_the_visible_pixels_of_each_object():
    for scene in _scenes(300, 5):
        image, masks = render(scene)
        assert image.dtype == np.uint8 and image.shape == (SIZE, SIZE, 3)
        covered = np.zeros((SIZE, SIZE), bool)
        for o, m in zip(scene.objects, masks):
            np.testing.assert_array_equal(m, shape_mask(o.shape, o.cx, o.cy, o.size, SIZE))
            assert (image[m] == COLOURS[o.colour]).all()
            covered |= m
        rest = image[~covered].astype(int) - BACKGROUND
        assert np.abs(rest).max() <= 6  # background, lightly textured
        assert (rest == rest[:, :1]).all()  # texture is grey: the same offset on every channel
        if scene.texture_seed is None:
            assert (rest == 0).all()


def test_same_seed_renders_the_same_pixels():
    a = [render(s)[0] for s in _scenes(20, 6)]
    b = [render(s)[0] for s in _scenes(20, 6)]
    c = [render(s)[0] for s in _scenes(20, 7)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def _scene(*objects, relation=None):
    from benchmark.toy.world import Scene, SceneObject, compose_caption

    objs = tuple(SceneObject(c, s, 6.0 + 10 * i, 8.0, 6.0) for i, (c, s) in enumerate(objects))
    caption, spans = compose_caption(objs, relation)
    return Scene(objs, caption, spans, relation, 7, SIZE)


def test_without_object_captions_the_rest_by_the_same_grammar():
    from benchmark.toy.world import without_object

    three = _scene(("orange", "square"), ("yellow", "triangle"), ("green", "circle"))
    assert three.caption == "an orange square, a yellow triangle and a green circle"
    assert [without_object(three, i).caption for i in range(3)] == [
        "a yellow triangle and a green circle",
        "an orange square and a green circle",
        "an orange square and a yellow triangle",
    ]
    rest = without_object(three, 1)
    assert rest.words() == [("orange", "square"), ("green", "circle")]
    assert [(rest.caption[slice(*c)], rest.caption[slice(*s)]) for c, s in rest.spans] == rest.words()
    assert (rest.texture_seed, rest.size) == (three.texture_seed, three.size)
    assert three.caption == "an orange square, a yellow triangle and a green circle"  # unchanged

    # a relation joins two objects: it goes with either of them
    pair = _scene(("red", "circle"), ("blue", "square"), relation="to the left of")
    assert pair.caption == "a red circle to the left of a blue square"
    assert (without_object(pair, 0).caption, without_object(pair, 0).relation) == ("a blue square", None)
    assert without_object(pair, 1).caption == "a red circle"


def test_without_object_names_what_is_wrong():
    from benchmark.toy.world import without_object

    with pytest.raises(ValueError, match="at least 2"):
        without_object(_scene(("red", "star")), 0)
    pair = _scene(("red", "circle"), ("blue", "square"))
    for bad in (2, -1, True, 1.0):
        with pytest.raises(ValueError, match=r"object index must be an integer in \[0, 2\)"):
            without_object(pair, bad)
