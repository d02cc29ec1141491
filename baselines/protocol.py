"""One protocol for every segmentation method: image + prompt + words -> per-word maps.

A method is either "soft" (a map in [0, 1] per word at the image's size, thresholded later by the
metrics exactly like DAAM's maps) or "clusters" (unlabeled segment ids per pixel, matched to words
afterwards; see ``baselines.matching``). DAAM itself is one implementation among the others.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

Kind = Literal["soft", "clusters"]
KINDS: tuple[str, ...] = ("soft", "clusters")
# When a method sees the image: "generation" methods trace the pipeline while it generates (DAAM;
# their word-map rows are written by the generation step), "post-hoc" methods read a finished image.
Stage = Literal["generation", "post-hoc"]
STAGES: tuple[str, ...] = ("generation", "post-hoc")


class BaselineError(ValueError):
    """A baseline was given input it cannot use, or produced output that breaks the protocol."""


@dataclass(frozen=True)
class BaselineOutput:
    """What one method says about one image.

    ``maps``: word -> float32 ``[H, W]`` in [0, 1] (kind "soft"), one per requested word, in the
    order asked. ``clusters``: int32 ``[H, W]`` ids in ``[0, n_clusters)`` (kind "clusters").
    ``unsupported`` lists words the method cannot segment (their maps are all zero), e.g. words
    outside Mask2Former's COCO classes. Arrays are made read-only so the record stays frozen.
    """

    method: str
    size: tuple[int, int]  # (H, W) of the image
    maps: Mapping[str, np.ndarray] | None = None
    clusters: np.ndarray | None = None
    n_clusters: int | None = None
    unsupported: tuple[str, ...] = ()
    details: Mapping[str, object] = field(default_factory=dict)  # JSON-able notes (model id, options)

    def __post_init__(self) -> None:
        h, w = self.size
        if (self.maps is None) == (self.clusters is None):
            raise BaselineError(f"{self.method}: an output holds either maps or clusters, not both or neither")
        if self.maps is not None:
            fixed = {}
            for word, soft in self.maps.items():
                soft = np.asarray(soft)
                if soft.shape != (h, w):
                    raise BaselineError(f"{self.method}: map of {word!r} is {soft.shape}, image is {(h, w)}")
                if soft.dtype != np.float32:
                    raise BaselineError(f"{self.method}: map of {word!r} is {soft.dtype}, expected float32")
                if soft.size and not (np.isfinite(soft).all() and soft.min() >= 0.0 and soft.max() <= 1.0):
                    raise BaselineError(f"{self.method}: map of {word!r} leaves [0, 1]")
                soft = soft.copy()  # the record owns its arrays: later edits by the caller cannot reach it
                soft.setflags(write=False)
                fixed[word] = soft
            object.__setattr__(self, "maps", fixed)
            missing = [u for u in self.unsupported if u not in fixed]
            if missing:
                raise BaselineError(f"{self.method}: unsupported words {missing} have no map")
        else:
            ids = np.asarray(self.clusters)
            if ids.shape != (h, w) or not np.issubdtype(ids.dtype, np.integer):
                raise BaselineError(
                    f"{self.method}: clusters must be an integer array of shape {(h, w)}, got {ids.dtype} {ids.shape}"
                )
            if self.n_clusters is None or self.n_clusters < 1:
                raise BaselineError(f"{self.method}: cluster output needs n_clusters >= 1")
            if ids.size and (ids.min() < 0 or ids.max() >= self.n_clusters):
                raise BaselineError(f"{self.method}: cluster ids must lie in [0, {self.n_clusters})")
            ids = ids.astype(np.int32, copy=True)
            ids.setflags(write=False)
            object.__setattr__(self, "clusters", ids)
        object.__setattr__(self, "unsupported", tuple(self.unsupported))

    @property
    def kind(self) -> Kind:
        return "soft" if self.maps is not None else "clusters"

    @property
    def words(self) -> list[str]:
        return list(self.maps) if self.maps is not None else []


def as_rgb(image) -> np.ndarray:
    """An ``uint8 [H, W, 3]`` array from a PIL image or an array (grey, RGB or RGBA)."""
    if hasattr(image, "convert") and hasattr(image, "size"):  # PIL, without importing it
        image = np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, -1)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise BaselineError(f"image must be H x W x 3 (or a PIL image), got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise BaselineError(f"image must be uint8, got {arr.dtype}; convert with (x * 255).round().astype(np.uint8)")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise BaselineError(f"image is empty: shape {arr.shape}")
    return np.ascontiguousarray(arr[..., :3])


def check_words(words: Sequence[str] | str) -> list[str]:
    """Words as a list without repeats (first occurrence kept); bad input is an error."""
    if isinstance(words, str):
        raise BaselineError(f"words must be a sequence of strings, got the string {words!r}")
    out = list(dict.fromkeys(words))
    bad = [w for w in out if not isinstance(w, str) or not w.strip()]
    if bad:
        raise BaselineError(f"words must be non-empty strings, got {bad!r}")
    return out


class Baseline(ABC):
    """A segmentation method under the benchmark's protocol.

    Subclasses set ``name`` and ``kind`` and implement ``predict``. ``predict_batch`` loops; models
    that batch images override it.
    """

    name: ClassVar[str]
    kind: ClassVar[Kind]
    stage: ClassVar[Stage] = "post-hoc"
    title: ClassVar[str] = ""  # how reports and messages name the method (default: ``name``)
    # a generation-time method that predicts from what it recorded while tracing: the runner passes
    # the generation's stored maps file as ``maps=`` (instead of building one method for all images)
    reads_stored_maps: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("title") and "name" in cls.__dict__:
            cls.title = cls.name

    @classmethod
    def tracer(cls, pipe, **options):
        """Generation-time methods: a context manager observing ``pipe`` whose ``results()`` give one
        maps object per generated image (with ``save(path)`` and ``prompt_words()``)."""
        raise BaselineError(f"{cls.name} is a {cls.stage} method: it does not trace a pipeline")

    @classmethod
    def trace_options(cls, words: Sequence[str]) -> dict[str, object]:
        """Generation-time methods: what ``tracer`` must be told before the pipeline runs to map
        ``words`` (the words of the prompts in the batch), e.g. an open vocabulary; ``{}`` when
        nothing (DAAM maps every prompt token anyway)."""
        return {}

    @classmethod
    def attribute(cls, pipe, image, prompt: str, words: Sequence[str], **settings):
        """Generation-time methods on a real image (one the model did not generate): the method's
        maps object for ``image`` and ``prompt`` (a ``daam.GenerationMaps``, with ``save(path)``),
        computed by running ``pipe`` over the image (``daam.attribute``). ``settings`` are the run's
        (``strength``, ``steps``, ``guidance_scale``, ``seed``, ...) plus the method's own options.
        The stored file is read back by ``predict`` (``reads_stored_maps``)."""
        raise BaselineError(f"{cls.name} is a {cls.stage} method: it does not attribute through a pipeline")

    @abstractmethod
    def predict(self, image, prompt: str, words: Sequence[str]) -> BaselineOutput:
        """Maps (or clusters) for ``words`` of ``prompt`` over ``image`` (uint8 H x W x 3 or PIL)."""

    def predict_batch(self, items: Iterable[tuple[object, str, Sequence[str]]]) -> list[BaselineOutput]:
        return [self.predict(image, prompt, words) for image, prompt, words in items]

    def describe(self) -> dict[str, object]:
        """JSON-able settings, stored beside the maps so a score says what produced it."""
        return {"method": self.name, "kind": self.kind, "stage": self.stage}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"
