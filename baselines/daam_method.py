"""DAAM as one method among the baselines: its stored soft word maps under the same protocol.

The maps come from a saved ``daam.GenerationMaps`` (the traced generation), so nothing is
recomputed; thresholds (DAAM-0.3/0.4/0.5) are applied later by the metrics, as for every soft
method. Words lost to the text encoder's token limit have no DAAM map: they are returned all zero
and listed as ``unsupported``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import daam
from baselines.protocol import Baseline, BaselineError, BaselineOutput, as_rgb, check_words


class DAAMBaseline(Baseline):
    name = "daam"
    title = "DAAM"
    kind = "soft"
    stage = "generation"
    reads_stored_maps = True

    @classmethod
    def tracer(cls, pipe, **options):
        """``daam.trace(pipe, **options)``: the runner generates through it and stores its maps."""
        return daam.trace(pipe, **options)

    @classmethod
    def attribute(cls, pipe, image, prompt: str, words: Sequence[str], **settings) -> daam.GenerationMaps:
        """``daam.attribute(pipe, image, prompt, words, **settings)``: DAAM maps of a real image."""
        return daam.attribute(pipe, image, prompt, words, **settings)

    def __init__(self, maps: daam.GenerationMaps | str | os.PathLike[str] | None = None, check_prompt: bool = True):
        if maps is None:
            raise BaselineError("the DAAM method reads stored maps: pass maps=<GenerationMaps or a maps file>")
        self.source = None if isinstance(maps, daam.GenerationMaps) else Path(maps)
        self.maps = maps if isinstance(maps, daam.GenerationMaps) else self._load(Path(maps))
        self.check_prompt = check_prompt

    @staticmethod
    def _load(path: Path) -> daam.GenerationMaps:
        if not path.is_file():
            raise BaselineError(f"no DAAM maps file at {path}")
        try:
            return daam.load(path)
        except Exception as exc:  # safetensors raises its own error types for foreign files
            raise BaselineError(f"{path} is not a DAAM maps file: {exc}") from exc

    def _check_input(self, image, prompt: str) -> tuple[int, int]:
        """(H, W) of ``image``, which with ``prompt`` must be the stored maps' generation."""
        h, w = as_rgb(image).shape[:2]
        if (h, w) != tuple(self.maps.image_size):
            raise BaselineError(
                f"the image is {h}x{w} but the DAAM maps are {self.maps.image_size[0]}x"
                f"{self.maps.image_size[1]}: they belong to another generation"
            )
        if self.check_prompt and self.maps.prompt is not None and prompt != self.maps.prompt:
            raise BaselineError(f"prompt {prompt!r} differs from the traced prompt {self.maps.prompt!r}")
        return h, w

    def predict(self, image, prompt: str, words: Sequence[str]) -> BaselineOutput:
        h, w = self._check_input(image, prompt)
        cut = {c.lower() for c in self.maps.cut_words}
        maps, unsupported = {}, []
        for word in check_words(words):
            try:
                maps[word] = self.maps.word_map(word).soft.numpy().astype(np.float32)
            except daam.WordNotFoundError as exc:
                if word.strip().lower() not in cut:
                    raise BaselineError(f"DAAM has no map for {word!r}: {exc}") from exc
                maps[word] = np.zeros((h, w), np.float32)
                unsupported.append(word)
        return BaselineOutput(self.name, (h, w), maps=maps, unsupported=tuple(unsupported), details=self.describe())

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "maps": None if self.source is None else self.source.name}
