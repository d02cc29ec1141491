"""`daam PROMPT` (benchmark/quicklook.py, `python -m daam`): one image, an overlay per word, a grid."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.quicklook import default_words, main

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_toy_model_by_default(tmp_path, capsys):
    out = tmp_path / "look"
    assert main(["a red circle and a blue square", "--out", str(out), "--steps", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("no --model: the shipped toy model (32 px coloured shapes), 35 steps, guidance 5.0")
    assert lines[1] == f"image:    {out / 'image.png'}"
    words = [line.rsplit("(", 1)[1].rstrip(")") for line in lines if line.startswith("overlay:")]
    assert words == ["red", "circle", "blue", "square"]  # stop-words ("a", "and") left out
    assert f"grid:     {out / 'grid.png'}" in lines
    assert Image.open(out / "image.png").size == (32, 32)  # the toy's own size
    for name in ("grid.png", "overlay-01-red.png", "overlay-04-square.png"):
        assert Image.open(out / name).format == "PNG"
    import daam

    assert daam.load(out / "maps.safetensors").words == ["a", "red", "circle", "and", "a", "blue", "square"]


def test_a_diffusers_folder_with_chosen_words(sd_path, tmp_path, capsys):
    out = tmp_path / "sd"
    code = main(["a dog and a cat on a sofa", "--model", str(sd_path), "--words", "cat", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "toy" not in text  # no note about the toy when a model is given
    assert [p.name for p in sorted(out.iterdir())] == [
        "grid.png",
        "image.png",
        "maps.safetensors",
        "overlay-01-cat.png",
    ]
    assert np.asarray(Image.open(out / "image.png")).shape == (64, 64, 3)  # the tiny pipeline's own size


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["  "], "daam: error: the prompt is empty"),
        (["a dog", "--words", "cat"], "daam: error: 'cat' not in the prompt; its words: a, dog"),
        (["a dog", "--steps", "0"], "daam: error: --steps must be at least 1, got 0"),
        (["a dog", "--model", "no-such-model"], "daam: error: model 'no-such-model' is neither"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_default_words_skip_stop_words_and_repeats():
    class Maps:
        words = ["a", "dog", "and", "a", "Dog", "on", "the", "sofa", ","]

    assert default_words(Maps()) == ["dog", "sofa"]


def test_python_m_daam_is_the_same_command():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "daam", ""], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert out.returncode == 2 and out.stderr.startswith("daam: error: the prompt is empty")
    helped = subprocess.run(
        [sys.executable, "-m", "daam", "--help"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert helped.returncode == 0 and "usage: daam" in helped.stdout
