"""A real SQLite store in a temporary workspace, filled by hand so every score is known exactly.

DAAM maps are built directly as ``daam.GenerationMaps`` whose only resolution is the image size
(no upscaling), so a word's soft map is its pattern min-max normalised: a pattern with 0 and 1 in
it comes back unchanged. Images are tiny arrays written as PNG.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

import db

SIZE = 8


def block(rows: slice = slice(None), cols: slice = slice(None), size: int = SIZE) -> np.ndarray:
    mask = np.zeros((size, size), dtype=bool)
    mask[rows, cols] = True
    return mask


@dataclass
class Bench:
    store: db.Store
    workspace: Path
    tokenizer: object
    _prompts: dict = field(default_factory=dict)

    def run(self, split: str, name: str | None = None) -> db.Run:
        model = self.store.get_or_create_model("tiny-sd", "test", "diffusion", {})
        return self.store.create_run(name or f"{split}-run", split, model.id, {})

    def prompt(self, split: str, key: str, text: str, words=(), provenance=None) -> db.Prompt:
        return self.store.add_prompts(split, "1", [db.PromptSpec(key, text, provenance or {}, tuple(words))])[0]

    def maps(self, path: Path, text: str, patterns: dict[tuple[str, int], np.ndarray], size: int) -> None:
        """A maps file whose word (word, occurrence) has exactly ``patterns[...]`` as its soft map."""
        import daam

        tokens = daam.align(self.tokenizer, text)
        sums = torch.zeros(len(tokens.token_ids), size, size)
        for (word, occurrence), pattern in patterns.items():
            sums[tokens.find(word, occurrence).tokens[0]] = torch.as_tensor(np.asarray(pattern, np.float32))
        daam.GenerationMaps(
            prompt=text,
            image_index=0,
            prompt_index=0,
            image_size=(size, size),
            tokens=tokens,
            sums={(size, size): sums},
            layer_resolutions={},
            n_steps=1,
        ).save(path)

    def generation(
        self,
        run: db.Run,
        prompt: db.Prompt,
        *,
        image: np.ndarray | None = None,
        patterns: dict | None = None,
        index: int = 0,
        seed: int = 0,
    ) -> db.Generation:
        from PIL import Image

        image = np.full((SIZE, SIZE, 3), 128, np.uint8) if image is None else image
        size = image.shape[0]
        rel = f"images/{run.name}/{prompt.key}-{index}.png"
        (self.workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(self.workspace / rel)
        g = self.store.record_generation(run.id, prompt.id, index, seed=seed, image_path=rel, height=size, width=size)
        if patterns is not None:
            rel_maps = f"maps/{run.name}/{g.id}.safetensors"
            (self.workspace / rel_maps).parent.mkdir(parents=True, exist_ok=True)
            self.maps(self.workspace / rel_maps, prompt.text, patterns, size)
            self.store.add_word_maps(g.id, [db.WordMapSpec(w, 0, (1,), rel_maps) for w in dict.fromkeys(prompt.words)])
        return g

    def human_mask(self, generation: db.Generation, word: str, mask: np.ndarray, rater: str = "rater-1") -> db.Mask:
        return self.store.add_mask(
            generation.id, word, 0, mask, source="human", rater=self.store.get_or_create_rater(rater)
        )

    def scores(self, run: db.Run, **filters) -> dict[tuple[str, str, str], db.Score]:
        return {(s.method, s.metric, s.subset): s for s in self.store.scores(run.id, **filters)}


@pytest.fixture
def bench(tmp_path, clip_tokenizer):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    store = db.connect(workspace)
    yield Bench(store, workspace, clip_tokenizer)
    store.close()
