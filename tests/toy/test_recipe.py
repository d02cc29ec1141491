"""One set of training defaults: `bench toy train` and `TrainConfig` agree, and resume the shipped runs."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from benchmark.toy.recipe import TrainConfig, recipe_changes

REPO = Path(__file__).resolve().parents[2]


def _train_args(argv: list[str]):
    from benchmark.cli import _parser

    return _parser().parse_args(["toy", "train", *argv])


def test_the_cli_defaults_are_the_configs():
    args = _train_args([])
    given = {f.name for f in fields(TrainConfig)} & set(vars(args))
    assert {"out_dir", "steps", "vae_steps", "batch_size", "seed", "ground_weight", "pixel_weight"} <= given
    assert {k: getattr(args, k) for k in given} == {k: getattr(TrainConfig, k) for k in given}


@pytest.mark.parametrize(
    "run, flags", [("toy", []), ("toy-unsupervised", ["--ground-weight", "0", "--pixel-weight", "0"])]
)
def test_the_shipped_runs_resume_with_the_defaults(run, flags, tmp_path):
    saved = REPO / "training" / run / "config.json"
    if not saved.is_file():
        pytest.skip(f"{saved} is not in this tree")
    args = _train_args(["--out-dir", str(tmp_path), *flags])
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)})
    assert recipe_changes(json.loads(saved.read_text()), cfg) == []
    # and train()'s own check agrees, on a copy (a training job may be writing the real folder)
    from benchmark.toy.train import _check_resumable

    (tmp_path / "config.json").write_text(saved.read_text())
    (tmp_path / "state.pt").write_bytes(b"")
    _check_resumable(cfg, tmp_path)
    with pytest.raises(ValueError, match="vae_steps 750 -> 1500"):
        _check_resumable(TrainConfig(**{**cfg.__dict__, "vae_steps": 1500}), tmp_path)
