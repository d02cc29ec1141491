"""The toy world's automatic annotator: objects and their masks, found from pixels alone.

A generated toy image is segmented by colour (each pixel to the nearest palette colour, where a
pixel may also lie on the blend between the background and a colour, as blurred edges do), cleaned
of speckle, split into connected components per colour, and each component's shape is named by
fitting the renderer's own templates (``world.shape_mask``). ``annotate`` then matches the objects
a prompt requested to what was found: the matched components are the ground-truth masks (source
"automatic") for the object's colour word and shape word, and "every requested object present"
is the generation-accuracy label of the cohyponym study (paper section 5.1).

On clean renders the masks are the renderer's own, pixel for pixel: every cleaning rule below only
fires on configurations that the renderer cannot produce (tested in tests/toy). Shapes are named
without error on clean renders whose bounding squares are at least 8 px; a star drawn in under 8 px
can be the very pixels of a disc (about 1.5 % of stars between 7 and 8 px are named circles).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from benchmark.metrics.overlap import iou as overlap_iou
from benchmark.toy.world import BACKGROUND, COLOURS, SHAPES, shape_mask

# Palette index 0 is the background; 1.. are COLOURS in their declared order.
PALETTE_NAMES: tuple[str, ...] = ("background", *COLOURS)
_PALETTE = np.array([BACKGROUND, *COLOURS.values()], dtype=np.float32)

# A pixel farther than this (RGB Euclidean) from every background-to-colour blend is background:
# off-palette speckle. Rendered pixels are at distance 0 (objects) or <= sqrt(3) * 6 ~ 10.4
# (textured background); a colour shifted by 15 per channel (26) plus noise of sd 12 (21 on
# average) stays mostly within 70; black is >= 170 from every blend (white is nearest the
# background anyway).
MAX_COLOUR_DISTANCE = 90.0
# A pixel on the blend between the background and a colour is that colour when it is at least this
# far along the blend: a hard edge blurred symmetrically crosses 0.5 exactly at the true edge.
BLEND_SPLIT = 0.5
# 4-connected components of at most this many pixels are speckle and take the label that
# surrounds them. The renderer never makes a component this small except a star's 1-pixel tip,
# which touches its star diagonally and is kept (see _clean).
SPECKLE_AREA = 4
# Colour components smaller than this are not objects. The smallest rendered object (a star with
# a 7-pixel bounding square, the sampler's minimum) covers at least 14 pixels.
MIN_OBJECT_AREA = 8
# A detection shows its shape only if its fitted template IoU reaches this; blobs below it have no
# recognisable shape. Measured: clean renders fit their own template at >= 0.82, degraded renders
# (tests/toy) at >= 0.70 (1st percentile 0.80); a 3x24 bar fits any template far below 0.6.
MIN_SHAPE_IOU = 0.6
# Edges of generated images are soft: shapes are told apart by comparing colour membership with
# templates blurred by this much (px), see classify_shape.
EDGE_SIGMA = 0.5
# The template search only refines the start matched to the component's area and centroid: it
# stays within this many px of that centre and this factor range of that size.
CENTRE_RANGE = 2
SIZE_RANGE = (0.7, 1.3)

_FOUR = ndi.generate_binary_structure(2, 1)
_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True, eq=False)
class Detection:
    """One object found in an image: a connected component of one colour and its best shape."""

    colour: str
    shape: str
    mask: np.ndarray  # bool (H, W): the component's pixels
    shape_iou: float  # IoU of the best-fitting template of ``shape`` with ``mask``
    area: int


@dataclass(frozen=True, eq=False)
class RequestedObject:
    """A requested (colour, shape) and the detection that shows it, if any."""

    colour: str
    shape: str
    present: bool
    mask: np.ndarray | None  # the matched detection's mask; None when absent
    detection: int | None  # index into Annotation.detections


@dataclass(frozen=True, eq=False)
class Annotation:
    objects: tuple[RequestedObject, ...]
    detections: tuple[Detection, ...]
    extra: tuple[int, ...]  # detections no requested object claimed

    @property
    def all_present(self) -> bool:
        """Generation correct: every requested object is in the image (paper section 5.1)."""
        return all(o.present for o in self.objects)

    def word_masks(self) -> list[tuple[str, int, np.ndarray]]:
        """(word, occurrence, mask) for the colour and shape word of every present object.

        Occurrences count each word in request order, which is caption order for toy captions
        ("a red circle and a red square": red#0 is the circle, red#1 the square).
        """
        seen: dict[str, int] = {}
        out = []
        for o in self.objects:
            for word in (o.colour, o.shape):
                k = seen.get(word, 0)
                seen[word] = k + 1
                if o.present:
                    out.append((word, k, o.mask))
        return out


def blend_positions(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel and colour: position along the background-to-colour blend, and distance from it.

    Returns ``t`` (H, W, C) in [0, 1] (0 = background, 1 = the pure colour) and ``dist`` (H, W, C)
    in RGB units, with C = len(COLOURS) in their declared order. A blurred edge pixel is a blend of
    its object's colour and the background, so ``t`` is also a soft membership of that colour.
    """
    _check_image(image)
    h, w, _ = image.shape
    x = image.reshape(-1, 3).astype(np.float32) - _PALETTE[0]
    ends = _PALETTE[1:] - _PALETTE[0]  # (C, 3)
    t = np.clip((x @ ends.T) / (ends * ends).sum(1), 0.0, 1.0)  # (N, C)
    nearest = t[:, :, None] * ends[None] - x[:, None, :]
    dist = np.sqrt((nearest * nearest).sum(2))
    return t.reshape(h, w, -1), dist.reshape(h, w, -1)


def classify_pixels(image: np.ndarray) -> np.ndarray:
    """Palette index per pixel (0 background), before cleaning.

    A pixel takes the colour whose blend with the background passes closest to it, if it lies past
    the blend's middle; otherwise, or when it is far from every blend, it is background. Pure
    colours are the blends' ends, so unblurred pixels get their nearest palette colour; blurred
    edges do not turn into a third colour (a blue-grey blend is nearest to pure purple).
    """
    t, dist = blend_positions(image)
    best = dist.argmin(2)
    rows, cols = np.indices(best.shape)
    labels = np.where(t[rows, cols, best] >= BLEND_SPLIT, best + 1, 0)
    labels[dist[rows, cols, best] > MAX_COLOUR_DISTANCE] = 0
    return labels.astype(np.int8)


def _clean(labels: np.ndarray) -> np.ndarray:
    """Relabel speckle (tiny components, any label) by the label that surrounds it.

    A tiny colour component that touches a larger one of its colour diagonally is part of it (a
    star's tip drawn at pixel centres), so it is kept. Two passes: relabelling can leave a new
    tiny component behind.
    """
    labels = labels.copy()
    for _ in range(2):
        changed = False
        for value in np.unique(labels):
            comp, n = ndi.label(labels == value, _FOUR)
            if n == 0:
                continue
            areas = np.bincount(comp.ravel())
            small = [i for i in range(1, n + 1) if areas[i] <= SPECKLE_AREA]
            if not small:
                continue
            large = np.isin(comp, [i for i in range(1, n + 1) if areas[i] > SPECKLE_AREA])
            near_large = ndi.binary_dilation(large, _EIGHT) if value != 0 else None
            slices = ndi.find_objects(comp)
            for i in small:
                sl = _grow(slices[i - 1], labels.shape)
                piece = comp[sl] == i
                if near_large is not None and (near_large[sl] & piece).any():
                    continue  # a diagonal tip of a larger component of this colour
                ring = ndi.binary_dilation(piece, _EIGHT) & ~piece
                around = labels[sl][ring]
                if around.size:
                    labels[sl][piece] = np.bincount(around.astype(np.int64)).argmax()
                    changed = True
        if not changed:
            break
    return labels


def _grow(sl: tuple[slice, slice], shape: tuple[int, int]) -> tuple[slice, slice]:
    return tuple(slice(max(s.start - 1, 0), min(s.stop + 1, n)) for s, n in zip(sl, shape))


def _components(labels: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(colour, mask) per object: 4-connected components, each with its diagonal tips."""
    out = []
    for value in range(1, len(PALETTE_NAMES)):
        colour = labels == value
        if not colour.any():
            continue
        comp4, _ = ndi.label(colour, _FOUR)
        comp8, n8 = ndi.label(colour, _EIGHT)
        areas4 = np.bincount(comp4.ravel())
        for j in range(1, n8 + 1):
            group = comp8 == j
            parts = np.unique(comp4[group])
            big = [p for p in parts if areas4[p] > SPECKLE_AREA]
            if len(big) == 1:
                masks = [group]  # one object plus its tips
            else:  # diagonal contact between objects (only off clean renders): keep them apart
                masks = [comp4 == p for p in (big or parts)]
            for m in masks:
                if m.sum() >= MIN_OBJECT_AREA:
                    out.append((PALETTE_NAMES[value], m))
    return out


@functools.cache
def _template_geometry(shape: str) -> tuple[float, float]:
    """(area / s^2, centroid row offset / s) of a shape, measured on a large render of it."""
    side, n = 400.0, 512
    m = shape_mask(shape, n / 2, n / 2, side, n)
    rows = np.nonzero(m)[0]
    return float(m.sum()) / side**2, float(rows.mean() - n / 2) / side


class _Window:
    """A square crop around one component, large enough for every template the fit tries."""

    def __init__(self, mask: np.ndarray, membership: np.ndarray | None):
        ys, xs = np.nonzero(mask)
        self.area = len(xs)
        self.centroid = float(xs.mean()), float(ys.mean())
        largest = math.sqrt(self.area / min(_template_geometry(s)[0] for s in SHAPES))
        self.side = side = math.ceil(SIZE_RANGE[1] * largest) + 2 * CENTRE_RANGE + 4
        self.left = round(self.centroid[0] - side / 2)
        self.top = round(self.centroid[1] - side / 2)
        h, w = mask.shape
        r0, r1 = max(self.top, 0), min(self.top + side, h)
        c0, c1 = max(self.left, 0), min(self.left + side, w)
        inside = (slice(r0 - self.top, r1 - self.top), slice(c0 - self.left, c1 - self.left))
        self.mask = np.zeros((side, side), dtype=bool)
        self.mask[inside] = mask[r0:r1, c0:c1]
        self.valid = np.zeros((side, side), dtype=bool)  # window pixels inside the image
        self.valid[inside] = True
        self.membership = np.zeros((side, side), dtype=np.float32)
        if membership is not None:
            self.membership[inside] = membership[r0:r1, c0:c1]

    def template(self, shape: str, p: tuple[float, float, float]) -> np.ndarray:
        return shape_mask(shape, p[0] - self.left, p[1] - self.top, p[2], self.side) & self.valid

    def start(self, shape: str) -> tuple[float, float, float]:
        """The template whose area and centroid equal the component's."""
        area_k, dy_k = _template_geometry(shape)
        s0 = math.sqrt(self.area / area_k)
        return self.centroid[0], self.centroid[1] - dy_k * s0, s0


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return overlap_iou(a, b)  # the one IoU (benchmark.metrics.overlap)


def _soften(template: np.ndarray) -> np.ndarray:
    """The template blurred by a Gaussian of EDGE_SIGMA px (3 taps), like a decoded edge."""
    k = math.exp(-1 / (2 * EDGE_SIGMA**2))
    w_side, w_mid = k / (1 + 2 * k), 1 / (1 + 2 * k)
    t = np.pad(template.astype(np.float32), 1)
    t = w_mid * t[1:-1] + w_side * (t[:-2] + t[2:])
    return w_mid * t[:, 1:-1] + w_side * (t[:, :-2] + t[:, 2:])


def fit_shape(mask: np.ndarray, shape: str) -> tuple[float, tuple[float, float, float]]:
    """Best IoU of ``shape``'s template (``world.shape_mask``) with ``mask``, and its (cx, cy, s).

    A small search: from the template with the component's area and centroid, climb over centre
    and size in steps of 1/2 then 1/4 px, within CENTRE_RANGE px and SIZE_RANGE of the start.
    """
    if not mask.any():
        raise ValueError("cannot fit a shape to an empty mask")
    return _climb(_Window(mask, None), shape)


def _climb(win: _Window, shape: str) -> tuple[float, tuple[float, float, float]]:
    x0, y0, s0 = start = win.start(shape)
    cache: dict[tuple[float, float, float], float] = {}

    def iou(p: tuple[float, float, float]) -> float:
        if p not in cache:
            cache[p] = _iou(win.template(shape, p), win.mask)
        return cache[p]

    best = start
    for step in (0.5, 0.25):
        while True:
            cx, cy, s = best
            moves = [
                m
                for m in (
                    (cx + step, cy, s),
                    (cx - step, cy, s),
                    (cx, cy + step, s),
                    (cx, cy - step, s),
                    (cx, cy, s + step),
                    (cx, cy, s - step),
                )
                if abs(m[0] - x0) <= CENTRE_RANGE
                and abs(m[1] - y0) <= CENTRE_RANGE
                and SIZE_RANGE[0] * s0 <= m[2] <= SIZE_RANGE[1] * s0
            ]
            move = max(moves, key=iou, default=best)
            if iou(move) <= iou(best):
                break
            best = move
    return iou(best), best


def classify_shape(mask: np.ndarray, membership: np.ndarray) -> tuple[str, float]:
    """The component's shape and the IoU of that shape's fitted template.

    Every shape's template is placed with the component's area and centroid, softened by
    EDGE_SIGMA and compared with the colour's membership (``blend_positions``) by squared error;
    the closest names the shape, whose template is then fitted by ``fit_shape``. Comparing soft
    edges rather than binary IoU tells small blurred stars from circles (measured on degraded
    renders: shape accuracy 0.95 -> 0.97, stars under 10 px 0.71 -> 0.89); on clean renders with
    objects of at least 8 px it named every shape right in 6,000 scenes, as binary IoU does.
    """
    win = _Window(mask, membership)
    near = ndi.binary_dilation(win.mask, _EIGHT, iterations=2)
    soft = np.where(near, win.membership, 0.0)

    def error(shape: str) -> float:
        return float(((soft - _soften(win.template(shape, win.start(shape)))) ** 2).sum())

    shape = min(SHAPES, key=error)
    return shape, _climb(win, shape)[0]


def segment(image: np.ndarray) -> list[Detection]:
    """Every object in a toy image: colour, shape, mask. Ordered by colour, then position."""
    t, _ = blend_positions(image)
    labels = _clean(classify_pixels(image))
    detections = []
    for colour, mask in _components(labels):
        shape, iou = classify_shape(mask, t[:, :, PALETTE_NAMES.index(colour) - 1])
        detections.append(Detection(colour, shape, mask, float(iou), int(mask.sum())))
    return detections


def annotate(image: np.ndarray, requested: Sequence[tuple[str, str]]) -> Annotation:
    """Match the requested (colour, shape) objects to the objects found in ``image``.

    A detection shows a requested object when colour and shape both match and its template fit
    reaches MIN_SHAPE_IOU; each detection shows at most one object. Requests of the same
    (colour, shape) are interchangeable, so taking the best-fitting detections first is optimal.
    """
    for r in requested:
        if not (isinstance(r, (tuple, list)) and len(r) == 2 and r[0] in COLOURS and r[1] in SHAPES):
            raise ValueError(
                f"requested object {r!r} is not a (colour, shape) pair with colour in "
                f"{', '.join(COLOURS)} and shape in {', '.join(SHAPES)}"
            )
    detections = segment(image)
    order = sorted(range(len(detections)), key=lambda i: (-detections[i].shape_iou, -detections[i].area))
    taken: set[int] = set()
    objects = []
    for colour, shape in requested:
        match = next(
            (
                i
                for i in order
                if i not in taken
                and detections[i].colour == colour
                and detections[i].shape == shape
                and detections[i].shape_iou >= MIN_SHAPE_IOU
            ),
            None,
        )
        if match is None:
            objects.append(RequestedObject(colour, shape, False, None, None))
        else:
            taken.add(match)
            objects.append(RequestedObject(colour, shape, True, detections[match].mask, match))
    extra = tuple(i for i in range(len(detections)) if i not in taken)
    return Annotation(tuple(objects), tuple(detections), extra)


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be uint8 (H, W, 3), got {image.dtype} {image.shape}")
