"""Run settings: the user's option, then the split's spec, then the model's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.settings import UserOptions, resolve_settings
from benchmark.splits.catalogue import SplitDataError, catalogue, default_split, parse_catalogue
from benchmark.toy.shipped import shipped_model


def test_the_default_split_and_its_toy_defaults(tmp_path):
    assert default_split() == "shapes"
    s = resolve_settings("shapes", UserOptions(), tmp_path)
    assert (s.steps, s.guidance, s.height, s.width, s.batch_size, s.scheduler) == (35, 5.0, 32, 32, 16, None)
    assert s.source["steps"] == "split" and s.source["model"] == "split"
    if shipped_model() is not None:
        assert Path(s.model) == shipped_model()


def test_paper_splits_use_the_paper_setup_with_the_paper_model(tmp_path):
    s = resolve_settings("coco-gen", UserOptions(), tmp_path)
    assert s.model == "stabilityai/stable-diffusion-2-base"
    assert (s.steps, s.guidance, s.height, s.width, s.batch_size, s.scheduler) == (30, 7.5, 512, 512, 1, "dpm")


@pytest.mark.skipif(shipped_model() is None, reason="the toy model is not shipped")
def test_a_users_model_follows_its_own_pipeline(tmp_path):
    # the toy folder on a paper split: no 512 px, no DPM solver; steps and guidance stay the split's
    s = resolve_settings("coco-gen", UserOptions(model=str(shipped_model())), tmp_path)
    assert (s.height, s.width, s.batch_size, s.scheduler) == (None, None, 1, None)
    assert (s.steps, s.guidance) == (30, 7.5) and s.source["height"] == "model"
    # naming the split's own model keeps its model-bound settings
    same = resolve_settings("shapes", UserOptions(model="toy"), tmp_path)
    assert (same.height, same.batch_size) == (32, 16)
    same = resolve_settings("shapes", UserOptions(model=str(shipped_model())), tmp_path)
    assert (same.height, same.batch_size) == (32, 16)


def test_options_win(tmp_path):
    s = resolve_settings("coco-gen", UserOptions(steps=3, height=64, width=128, scheduler="model"), tmp_path)
    assert (s.steps, s.height, s.width, s.scheduler) == (3, 64, 128, None)
    assert s.source["height"] == "option"


def test_generation_modes_and_hooks_are_data():
    specs = catalogue()
    assert specs["adjective"].generation.mode == "fixed-layout"
    assert specs["shapes-colour"].generation.mode == "fixed-layout"
    assert specs["coco-gen"].generation.mode == "plain"
    hook = specs["shapes-colour"].generation.hook("seed_prompt")

    class P:
        text = "a blue circle"
        provenance = {"colour": "blue", "seed_colour": "red"}

    assert hook(P) == "a red circle"


def _entry(**kw):
    entry = {"name": "x", "version": "1", "study": "rating", "description": "d", "builder": "m.n:f"}
    entry.update(kw)
    return entry


@pytest.mark.parametrize(
    "entry, message",
    [
        (_entry(generation={"mode": "tiled"}), "generation.mode"),
        (_entry(generation={"mode": "fixed-layout", "seed_prompt": "nope"}), "module:function"),
        (_entry(model={"name": "m", "height": 0}), "positive"),
        (_entry(model={"name": "m", "colour": 1}), "unknown model keys"),
        (_entry(settings={"steps": "many"}), "wrong type"),
    ],
)
def test_bad_run_defaults_are_rejected(entry, message):
    with pytest.raises(SplitDataError, match=message):
        parse_catalogue({"format": 2, "splits": [entry]}, "test.yaml")
