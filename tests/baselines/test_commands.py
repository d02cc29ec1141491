import argparse
import json

import numpy as np
from PIL import Image

import db
from baselines.commands import register
from db import PromptSpec


def _parse(argv):
    parser = argparse.ArgumentParser(prog="bench")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_bench_baseline_runs_the_library_function(tmp_path, capsys):
    with db.connect(tmp_path / "bench.sqlite") as store:
        run = store.create_run("r1", "toy", store.get_or_create_model("m", "0", "diffusion").id, {})
        prompt = store.add_prompts("toy", "1", [PromptSpec("a", "a dog", words=("dog",))])[0]
        (tmp_path / "images").mkdir()
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "images" / "0.png")
        store.record_generation(run.id, prompt.id, 0, image_path="images/0.png", status="done")
    args = _parse(
        [
            "baseline",
            "--run",
            "r1",
            "--method",
            "centre-disc",
            "--option",
            "radius=0.25",
            "--label",
            "disc",
            "--workspace",
            str(tmp_path),
            "--json",
        ]
    )
    assert args.func(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary == {"run": "r1", "method": "disc", "computed": 1, "skipped": 0, "total": 1}
    assert (tmp_path / "baselines" / "disc" / "1.npz").is_file()
    args = _parse(
        [
            "baseline",
            "--run",
            "r1",
            "--method",
            "centre-disc",
            "--option",
            "radius=-1",
            "--label",
            "bad",
            "--workspace",
            str(tmp_path),
        ]
    )
    assert args.func(args) == 2
    assert "radius must be > 0" in capsys.readouterr().err
