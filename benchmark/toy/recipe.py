"""The toy model's training settings: one set of defaults, read by `bench toy train` and `train()`.

Kept free of torch so that the CLI can show these defaults in ``--help`` without loading it.
The defaults are the recipe of the shipped runs (``training/toy/config.json``,
``training/toy-unsupervised/config.json``), so that resuming them needs no extra flags.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    out_dir: str = "training/toy"
    seed: int = 0
    vae_steps: int = 750
    steps: int = 20000
    batch_size: int = 32
    lr: float = 5e-4
    warmup: int = 200
    ema_decay: float = 0.999
    caption_dropout: float = 0.1
    ground_weight: float = 0.2  # 0 with pixel_weight 0: the unsupervised comparison variant
    pixel_weight: float = 0.1
    ground_max_t: int = 700
    checkpoint_every: int = 250
    eval_every: int = 500
    threads: int = 1
    device: str = "auto"  # "auto": CUDA when available (a lent GPU trains this in minutes), else CPU
    accuracy_every: int = 2500  # generation accuracy of the EMA weights (`bench toy eval`); 0: never
    accuracy_size: int = 100  # shapes items generated for it (guidance 5, the shipped sampler)


# What a resumed run must share with the run it continues (steps, threads, device, checkpoint and
# evaluation cadence may change).
RECIPE_FIELDS = (
    "seed",
    "vae_steps",
    "batch_size",
    "lr",
    "warmup",
    "ema_decay",
    "caption_dropout",
    "ground_weight",
    "pixel_weight",
    "ground_max_t",
)


class RecipeMismatchError(ValueError):
    """A training folder holds a run made with other settings than the ones given."""


def recipe_changes(saved: dict, cfg: TrainConfig) -> list[str]:
    """The recipe fields where ``cfg`` differs from a saved config, as ``"name old -> new"``."""
    return [
        f"{k} {saved[k]!r} -> {getattr(cfg, k)!r}" for k in RECIPE_FIELDS if k in saved and saved[k] != getattr(cfg, k)
    ]
