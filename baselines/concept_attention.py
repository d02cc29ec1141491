"""ConceptAttention (Helbling et al., ICML 2025) as methods of the benchmark: ``conceptattention``
(the paper's output space, o_x o_c^T) and ``conceptattention-cross`` (its cross-attention variant,
q_x k_c^T), both from ``daam.concept_attention`` on the joint DiTs with side streams (SD3/SD3.5,
FLUX.1, Chroma, Qwen-Image, FLUX.2).

The concepts are the words asked for plus *background concepts* (default ``("background",)``):
a concept's map is a softmax over the concepts at each pixel, so a single word would get 1
everywhere; the background concept gives the pixels that show none of the words somewhere else to
go (the paper segments with a target concept beside others). Words are matched to concepts
case-insensitively; a word equal to a background concept is one concept.

Like DAAM, the maps are stored with the generation (``reads_stored_maps``): ``tracer`` (generation
time, needs the concept list up front: ``concepts=``) or ``attribute`` (a real image, concepts
from ``words``) make a ``daam.GenerationMaps`` whose vocabulary holds the concepts' maps, and
``predict`` reads the words' maps from it (min-max normalised, ``WordMap.soft``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

import daam
from baselines.daam_method import DAAMBaseline
from baselines.protocol import BaselineError, BaselineOutput, as_rgb, check_words

BACKGROUND = ("background",)


def concepts_for(words: Sequence[str], background: Sequence[str] | None = None) -> list[str]:
    """The words, then the background concepts, each once (case-insensitive)."""
    extra = BACKGROUND if background is None else tuple(background)
    seen, out = set(), []
    for c in [*words, *extra]:
        key = " ".join(str(c).split()).lower()
        if key and key not in seen:
            seen.add(key)
            out.append(" ".join(str(c).split()))
    return out


class ConceptAttentionBaseline(DAAMBaseline):
    name = "conceptattention"
    title = "ConceptAttention"
    kind = "soft"
    stage = "generation"
    reads_stored_maps = True
    space: ClassVar[str] = "output"

    @classmethod
    def tracer(cls, pipe, concepts: Sequence[str] | None = None, background: Sequence[str] | None = None, **options):
        """``daam.concept_attention(pipe, concepts + background, space=...)``; other options go to it."""
        if not concepts:
            raise BaselineError(
                f"{cls.name} traces generation with a concept list fixed before the pipeline runs: "
                "pass concepts=[...] (the words to map); real images take them from the words (attribute)"
            )
        return daam.concept_attention(pipe, concepts_for(concepts, background), space=cls.space, **options)

    @classmethod
    def trace_options(cls, words: Sequence[str]) -> dict[str, object]:
        """The batch's words are the concepts (the runner's generation; background added by ``tracer``)."""
        return {"concepts": list(dict.fromkeys(words))}

    @classmethod
    def attribute(
        cls, pipe, image, prompt: str, words: Sequence[str], background: Sequence[str] | None = None, **settings
    ) -> daam.GenerationMaps:
        """``daam.attribute(..., concepts=words + background, concept_space=...)`` on a real image."""
        words = check_words(words)
        return daam.attribute(
            pipe, image, prompt, concepts=concepts_for(words, background), concept_space=cls.space, **settings
        )

    def predict(self, image, prompt: str, words: Sequence[str]) -> BaselineOutput:
        h, w = as_rgb(image).shape[:2]
        maps = self.maps
        if (h, w) != tuple(maps.image_size):
            raise BaselineError(
                f"the image is {h}x{w} but the {self.title} maps are {maps.image_size[0]}x{maps.image_size[1]}: "
                "they belong to another generation"
            )
        if self.check_prompt and maps.prompt is not None and prompt != maps.prompt:
            raise BaselineError(f"prompt {prompt!r} differs from the traced prompt {maps.prompt!r}")
        made_by = f"conceptattention-{self.space}"
        if maps.vocabulary_method != made_by:
            raise BaselineError(
                f"these maps hold {maps.vocabulary_method or 'no concept'} maps, not {made_by}'s: "
                f"trace with the {self.name} method"
            )
        out = {}
        for word in check_words(words):
            try:
                out[word] = maps.word_map(word, source="concepts").soft.numpy().astype(np.float32)
            except daam.WordNotFoundError as exc:
                raise BaselineError(f"{self.title} has no concept {word!r}: {exc}") from exc
        return BaselineOutput(self.name, (h, w), maps=out, details=self.describe())

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "space": self.space, "concepts": list(self.maps.vocabulary)}


class ConceptAttentionCrossBaseline(ConceptAttentionBaseline):
    name = "conceptattention-cross"
    title = "ConceptAttention (cross-attention)"
    space = "cross"
