"""Fake castorini/daam experiment folders, written the way ``GenerationExperiment.save`` and
``save_prediction_mask`` write them: masks are RGBA with every channel ``mask * 255``."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
from PIL import Image

HEIGHT, WIDTH = 32, 48  # not square, so a swapped (H, W) shows


class RunsCodeWhenUnpickled:
    """Unpickling this creates ``marker``: proof that an importer loaded a pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.makedirs, (str(self.marker),)


def image(seed: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def box(top: int, left: int, bottom: int, right: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    mask[top:bottom, left:right] = True
    return mask


def save_mask(path: Path, mask: np.ndarray) -> None:
    channel = (mask.astype(np.uint8) * 255)[..., None]
    Image.fromarray(np.repeat(channel, 4, axis=-1)).save(path)  # mode RGBA, as the release


def write_experiment(
    folder: Path,
    prompt: str,
    *,
    seed: str | None = "0",
    pixels: np.ndarray | None = None,
    truth: dict[str, np.ndarray] | None = None,
    predictions: dict[str, np.ndarray] | None = None,
) -> Path:
    """One experiment folder: prompt.txt, seed.txt, output.png, <word>.gt.png, <word>.daam.pred.png."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompt.txt").write_text(prompt)
    if seed is not None:
        (folder / "seed.txt").write_text(seed)
    if pixels is not None:
        Image.fromarray(pixels).save(folder / "output.png")
    for word, mask in (truth or {}).items():
        save_mask(folder / f"{word}.gt.png", mask)
    for word, mask in (predictions or {}).items():
        save_mask(folder / f"{word.lower()}.daam.pred.png", mask)
    return folder


TRUTH_101 = {"dog": box(4, 2, 20, 18), "cat": box(10, 25, 30, 46)}
PRED_101 = {"dog": box(5, 3, 22, 20), "cat": box(12, 20, 28, 44)}
TRUTH_202 = {"car": box(0, 0, 16, 48)}


def write_release(root: Path, marker: Path) -> Path:
    """Three folders: "101" (full), "batch-2/202" (nested, no predictions) and "303" (broken)."""
    first = write_experiment(
        root / "101", "A dog chasing a cat", seed="42", pixels=image(1), truth=TRUTH_101, predictions=PRED_101
    )
    for word in ("dog", "cat"):  # matplotlib figures in the release: pictures, not values
        Image.fromarray(image(7, 480, 640)).save(first / f"{word}.heat_map.png")
    (first / "generation.pt").write_bytes(pickle.dumps(RunsCodeWhenUnpickled(marker)))
    second = write_experiment(
        root / "batch-2" / "202", "a red car parked\n", seed="None", pixels=image(2), truth={"Car": TRUTH_202["car"]}
    )  # file names keep case; words are lower-cased
    (second / "alt").mkdir()
    Image.fromarray(image(3)).save(second / "alt" / "output.png")  # a subtype image
    write_experiment(
        root / "303",
        "a bird on a wire",
        pixels=image(4),
        truth={"bird": box(1, 1, 5, 5, height=HEIGHT // 2, width=WIDTH // 2)},
    )  # wrong size
    return root
