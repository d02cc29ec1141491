"""DAAM + vocabulary (OVAM) as a method: each word's map from its own text encoding.

The maps come from a saved ``daam.GenerationMaps`` traced with ``vocabulary=`` (``daam.vocabulary``):
a word's map is the attention of the generation's image queries to the word encoded on its own
(OVAM, CVPR 2024), not to the word's token inside the prompt. So a word of the prompt means its
vocabulary map here, and words that are not in the prompt have maps too. Cross-attention
pipelines only (SD 1.x/2.x, SDXL, PixArt, Sana).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

import daam
from baselines.daam_method import DAAMBaseline
from baselines.protocol import BaselineError, BaselineOutput, check_words


class DAAMVocabularyBaseline(DAAMBaseline):
    name = "daam-vocabulary"
    title = "DAAM + vocabulary (OVAM)"
    kind = "soft"
    stage = "generation"
    reads_stored_maps = True

    @classmethod
    def tracer(cls, pipe, vocabulary: Iterable[str] | None = None, **options):
        """``daam.trace(pipe, vocabulary=vocabulary, **options)``: the words to map must be named
        before the pipeline runs."""
        if vocabulary is None or isinstance(vocabulary, str) or not list(vocabulary):
            raise BaselineError(
                f"{cls.name} traces with the words to map: tracer(pipe, vocabulary=[...]) with a list of "
                f"words or phrases, got {vocabulary!r}"
            )
        return daam.trace(pipe, vocabulary=list(vocabulary), **options)

    @classmethod
    def trace_options(cls, words: Sequence[str]) -> dict[str, object]:
        """The batch's words are the vocabulary: each gets the map of its own text encoding."""
        return {"vocabulary": list(dict.fromkeys(words))}

    @classmethod
    def attribute(
        cls, pipe, image, prompt: str, words: Sequence[str], extra_vocabulary: Iterable[str] = (), **settings
    ) -> daam.GenerationMaps:
        """``daam.attribute(pipe, image, prompt, vocabulary=words + extra_vocabulary, **settings)``."""
        if isinstance(extra_vocabulary, str):
            raise BaselineError(f"extra_vocabulary must be a list of words, got the string {extra_vocabulary!r}")
        if "vocabulary" in settings:
            raise BaselineError(f"{cls.name} maps the words asked: pass more entries as extra_vocabulary=")
        return daam.attribute(pipe, image, prompt, vocabulary=[*check_words(words), *extra_vocabulary], **settings)

    def __init__(self, maps=None, check_prompt: bool = True):
        super().__init__(maps, check_prompt)
        if not self.maps.vocabulary:
            raise BaselineError(
                f"{self.title} reads maps traced with a vocabulary (daam.trace(pipe, vocabulary=[...])); "
                f"{self.source or 'these maps'} hold none"
            )

    def predict(self, image, prompt: str, words: Sequence[str]) -> BaselineOutput:
        h, w = self._check_input(image, prompt)
        maps = {}
        for word in check_words(words):
            try:
                maps[word] = self.maps.word_map(word, source="vocabulary").soft.numpy().astype(np.float32)
            except daam.WordNotFoundError as exc:
                raise BaselineError(f"{self.title} has no map for {word!r}: {exc}") from exc
        return BaselineOutput(self.name, (h, w), maps=maps, details=self.describe())

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "vocabulary": list(self.maps.vocabulary)}
