"""A tiny stored benchmark for the report: two runs on two splits, one hostile prompt, an image,
a maps file, masks, and scores of every metric kind the scorers write.

The ``bench`` fixture (conftest.py) builds it once per test module; the tests only read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import db

HOSTILE_PROMPT = 'a dog <script>alert(1)</script> & "quotes"'
HOSTILE_SUBSET = "<img src=x onerror=alert(2)>"
SIZE = 32


@dataclass(frozen=True)
class StoredBench:
    workspace: Path
    store: db.Store
    run_a: db.Run  # coco-gen: every kind of score
    run_b: db.Run  # unreal-gen: table 1 only
    generation: db.Generation  # has an image, a maps file and two masks
    broken_generation: db.Generation  # its image file is missing


def _maps_file(path: Path, prompt: str) -> None:
    import daam
    from daam.words import PromptTokens, Word, split_words

    words, counts = [], {}
    for i, (text, start, end) in enumerate(split_words(prompt)):
        occurrence = counts.get(text.lower(), 0)
        counts[text.lower()] = occurrence + 1
        words.append(Word(text, start, end, i, occurrence, (i + 1,)))
    n_tokens = len(words) + 2
    tokens = PromptTokens(
        prompt, tuple(range(n_tokens)), ((0, 0),) + tuple((w.start, w.end) for w in words) + ((0, 0),), tuple(words)
    )
    generator = torch.Generator().manual_seed(0)
    sums = {
        (4, 4): torch.rand(n_tokens, 4, 4, generator=generator),
        (8, 8): torch.rand(n_tokens, 8, 8, generator=generator),
    }
    maps = daam.GenerationMaps(
        prompt=prompt,
        image_index=0,
        prompt_index=0,
        image_size=(SIZE, SIZE),
        tokens=tokens,
        sums=sums,
        layer_resolutions={},
        n_steps=1,
    )
    maps.save(path)


def _scores(a: int, b: int, gid: int, broken_gid: int) -> list[db.ScoreSpec]:
    S = db.ScoreSpec
    out = []
    table1 = {
        "daam@0.3": (0.512, 0.605),
        "daam@0.4": (0.561, 0.648),
        "daam@0.5": (0.54, 0.62),
        "clipseg": (0.72, 0.61),
        "mask2former": (0.81, 0.35),
    }
    for run, shift in ((a, 0.0), (b, -0.05)):
        for method, (m80, mall) in table1.items():
            out.append(
                S(
                    run,
                    "segmentation",
                    method,
                    "mIoU80",
                    "all",
                    m80 + shift,
                    m80 + shift - 0.03,
                    m80 + shift + 0.03,
                    120,
                )
            )
            details = {}
            if run == a and method == "daam@0.4":
                details = {
                    "examples": {
                        "best": [{"generation_id": gid, "word": "dog", "occurrence": 0, "iou": 0.913}],
                        "worst": [{"generation_id": broken_gid, "word": "dog", "occurrence": 0, "iou": 0.012}],
                    }
                }
            out.append(
                S(
                    run,
                    "segmentation",
                    method,
                    "mIoU-all",
                    "all",
                    mall + shift,
                    mall + shift - 0.02,
                    mall + shift + 0.02,
                    300,
                    details,
                )
            )
    out.append(
        S(
            a,
            "segmentation",
            "daam",
            "mIoU-sweep",
            "all",
            0.648,
            n=300,
            details={"taus": [0.2, 0.3, 0.4, 0.5, 0.6], "miou": [0.5, 0.605, 0.648, 0.62, 0.55], "best_tau": 0.4},
        )
    )
    for method, base in (("daam@0.4", 0.44), ("daam-render@0.4", 0.52), ("whole-image", 0.12), ("centre-disc", 0.21)):
        for i, subset in enumerate(("shape", "colour", "shape/held-out", "render/shape")):
            out.append(S(a, "shapes", method, "mIoU", subset, base - 0.01 * i, base - 0.05, base + 0.05, 64))
    out.append(S(a, "shapes", "model", "generation-accuracy", "all", 0.875, 0.8, 0.92, 128))
    out.append(S(a, "shapes", "model", "generation-accuracy", "1-object", 0.95, 0.9, 0.98, 64))
    out.append(
        S(
            a,
            "shapes",
            "daam",
            "mIoU-sweep",
            "shape",
            0.47,
            n=64,
            details={"taus": [0.3, 0.4, 0.5], "miou": [0.41, 0.47, 0.45], "best_tau": 0.4},
        )
    )
    for tag, mos in (("NOUN", 4.2), ("VERB", 3.9), ("ADJ", 4.0), ("NUM", 3.4)):
        out.append(S(a, "rating", "human", "MOS", tag, mos, mos - 0.2, mos + 0.2, 50))
        out.append(S(a, "rating", "human", "share-fair-or-better", tag, mos / 5, mos / 5 - 0.05, mos / 5 + 0.04, 150))
    for relation, (miou, miod, mioh) in (
        ("amod", (0.39, 0.61, 0.48)),
        ("nsubj", (0.46, 0.52, 0.74)),
        ("compound", (0.54, 0.63, 0.62)),
    ):
        for metric, value in (("mIoU", miou), ("mIoD", miod), ("mIoH", mioh), ("mIoD-mIoH", miod - mioh)):
            out.append(S(a, "syntax", "daam@0.4", metric, relation, value, value - 0.04, value + 0.04, 200))
    for subset, acc in (
        ("cohyponym", 0.52),
        ("non-cohyponym", 0.61),
        ("<=0.4", 0.745),
        ("0.4-0.6", 0.55),
        (">=0.6", 0.2),
    ):
        out.append(S(a, "cohyponym", "model", "generation-accuracy", subset, acc, acc - 0.05, acc + 0.05, 500))
    out.append(S(a, "cohyponym", "daam@0.4", "mIoU", "cohyponym", 0.467, 0.44, 0.49, 500))
    out.append(S(a, "cohyponym", "daam@0.4", "mIoU", "non-cohyponym", 0.229, 0.21, 0.25, 500))
    out.append(S(a, "cohyponym", "model", "fisher-p", "all", 3.2e-05, n=1000, details={"odds_ratio": 0.41}))
    out.append(S(a, "adjective", "daam@0.4", "colour-spill", "all", 0.183, 0.15, 0.21, 24))
    out.append(S(a, "adjective", "daam@0.4", "attribute-spill", "all", 1.37, 1.1, 1.6, 24))
    out.append(
        S(
            a,
            "segmentation",
            "daam",
            "ablation",
            "steps",
            0.648,
            n=300,
            details={"kind": "steps", "x": [5, 10, 20, 30], "miou": [0.31, 0.45, 0.6, 0.648]},
        )
    )
    out.append(
        S(
            a,
            "segmentation",
            "daam",
            "ablation",
            "layers",
            0.648,
            n=300,
            details={"kind": "layers", "x": ["down", "mid", "up", "all"], "miou": [0.4, 0.2, 0.5, 0.648]},
        )
    )
    out.append(S(a, "segmentation", "daam@0.4", "dice", HOSTILE_SUBSET, 0.68, 0.66, 0.7, 300))
    return out


def build_bench(root: Path) -> StoredBench:
    from PIL import Image

    workspace = root / "workspace"
    (workspace / "images").mkdir(parents=True)
    (workspace / "maps").mkdir()
    store = db.connect(workspace)
    model = store.get_or_create_model("stabilityai/stable-diffusion-2-base", "main", "diffusion", {"scheduler": "dpm"})
    run_a = store.create_run("coco-run", "coco-gen", model.id, {"steps": 30, "guidance": 7.5}, "abc1234")
    run_b = store.create_run("unreal-run", "unreal-gen", model.id, {"steps": 30, "guidance": 7.5}, "abc1234")
    prompt_a, prompt_a2 = store.add_prompts(
        "coco-gen",
        "1",
        [db.PromptSpec("p0", HOSTILE_PROMPT, words=("dog",)), db.PromptSpec("p1", "a dog on a bench", words=("dog",))],
    )
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)).save(workspace / "images" / "g0.png")
    generation = store.record_generation(
        run_a.id, prompt_a.id, 0, seed=0, image_path="images/g0.png", height=SIZE, width=SIZE
    )
    broken = store.record_generation(
        run_a.id, prompt_a2.id, 0, seed=1, image_path="images/missing.png", height=SIZE, width=SIZE
    )
    _maps_file(workspace / "maps" / "g0.safetensors", HOSTILE_PROMPT)
    store.add_word_maps(generation.id, [db.WordMapSpec("dog", 0, (2,), "maps/g0.safetensors")])
    mask = np.zeros((SIZE, SIZE), bool)
    mask[8:24, 4:20] = True
    store.add_mask(generation.id, "dog", 0, mask, source="human", rater=store.get_or_create_rater("rater-1"))
    store.add_mask(generation.id, "dog", 0, np.roll(mask, 3, axis=1), source="automatic")
    store.upsert_scores(_scores(run_a.id, run_b.id, generation.id, broken.id))
    return StoredBench(workspace, store, run_a, run_b, generation, broken)
