"""`bench toy train` on a few steps: seeded, resumable to the bit, exported, evaluated, carded."""

from __future__ import annotations

import json

import pytest
import torch

from benchmark.toy.export import export
from benchmark.toy.train import TrainConfig, train

TINY = dict(
    vae_steps=2,
    batch_size=4,
    checkpoint_every=2,
    eval_every=2,
    threads=1,
    device="cpu",
    accuracy_every=4,
    accuracy_size=3,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The same recipe run straight to step 4, and run to step 2 then resumed to step 4."""
    root = tmp_path_factory.mktemp("toy-train")
    train(TrainConfig(out_dir=str(root / "straight"), steps=4, **TINY))
    train(TrainConfig(out_dir=str(root / "resumed"), steps=2, **TINY))
    mid = torch.load(root / "resumed" / "state.pt", weights_only=True)
    train(TrainConfig(out_dir=str(root / "resumed"), steps=4, **TINY))
    return root, mid


def test_resume_is_bitwise_the_straight_run(trained):
    root, mid = trained
    a = torch.load(root / "straight" / "state.pt", weights_only=True)
    b = torch.load(root / "resumed" / "state.pt", weights_only=True)
    assert mid["step"] == 2 and a["step"] == b["step"] == 4
    for part in ("unet", "text_encoder", "ema_unet", "ema_text"):
        assert a[part].keys() == b[part].keys()
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), f"{part}.{key} differs after resuming"
    assert any(not torch.equal(mid["unet"][k], a["unet"][k]) for k in a["unet"]), "steps 3-4 changed the weights"


def test_resuming_under_another_recipe_is_refused(trained, capsys):
    root, _ = trained
    with pytest.raises(ValueError, match="ground_weight 0.2 -> 0.0"):
        train(TrainConfig(out_dir=str(root / "resumed"), steps=6, **{**TINY, "ground_weight": 0.0}))
    from benchmark.cli import main

    assert main(["toy", "train", "--out-dir", str(root / "resumed"), "--batch-size", "8", "--vae-steps", "2"]) != 0
    assert "batch_size 4 -> 8" in capsys.readouterr().err
    assert json.loads((root / "resumed" / "config.json").read_text())["batch_size"] == 4  # nothing overwritten


def test_log_checkpoints_and_export(trained, tmp_path):
    root, _ = trained
    log = [json.loads(line) for line in (root / "resumed" / "log.jsonl").read_text().splitlines()]
    evals = [r for r in log if r["phase"] == "eval"]
    assert [r["step"] for r in evals] == [2, 4] and all(r["sharpness"] > 0 for r in evals)
    assert json.loads((root / "resumed" / "config.json").read_text())["steps"] == 4
    from benchmark.toy.model import load_pipeline

    dest = export(root / "resumed", tmp_path / "weights")
    assert (dest / "training_step.txt").read_text() == "4"
    assert not list(dest.rglob("*.bin")) and list(dest.rglob("*.safetensors"))
    pipe = load_pipeline(dest)
    image = pipe(
        "a red circle",
        num_inference_steps=2,
        height=32,
        width=32,
        output_type="np",
        generator=torch.Generator().manual_seed(0),
    ).images[0]
    assert image.shape == (32, 32, 3)


def test_eval_appends_accuracy_and_the_card_shows_it(trained, tmp_path, capsys):
    root, _ = trained
    from benchmark.cli import main
    from benchmark.toy.card import write_model_card
    from benchmark.toy.evaluate import read_accuracy

    train_dir = root / "resumed"
    assert (
        main(
            [
                "toy",
                "eval",
                "--out-dir",
                str(train_dir),
                "--size",
                "6",
                "--steps",
                "2",
                "--guidance",
                "3",
                "5",
                "--seed",
                "1",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    records = read_accuracy(train_dir)
    assert [(r["step"], r["guidance"], r["by"]) for r in records] == [
        (4, 5.0, "bench toy train"),
        (4, 3.0, "bench toy eval"),
        (4, 5.0, "bench toy eval"),
    ]
    assert records[0]["accuracy"]["all"]["n"] == 3  # logged while training, on accuracy_size items
    acc = records[2]["accuracy"]
    assert acc["all"]["n"] == 6 and sum(acc[k]["n"] for k in acc if k.endswith("-object")) == 6
    assert sum(acc[k]["n"] for k in ("seen", "held-out") if k in acc) == 6
    assert all(0.0 <= a["value"] <= 1.0 for a in acc.values())
    miou = records[2]["daam_miou"]  # words of the objects found (none may be found this early)
    assert set(miou) <= {"shape", "colour"} and all(0.0 <= m["value"] <= 1.0 for m in miou.values())
    assert printed.splitlines()[0].startswith("step") and len(printed.splitlines()) == 3
    weights = export(train_dir, tmp_path / "weights")
    scores = [
        {
            "method": "model",
            "metric": "generation-accuracy",
            "subset": "2-object",
            "value": 0.5,
            "ci_low": 0.4,
            "ci_high": 0.6,
            "n": 10,
        }
    ]
    card = write_model_card(train_dir, weights, scores, tmp_path / "CARD.md", tmp_path / "curves.png")
    text = card.read_text()
    assert "| generation accuracy, pairs | 0.500 | [0.40, 0.60] n=10 | >= 0.6 |" in text
    assert "## Generation accuracy by checkpoint" in text and "| 4 | 5 | 2 | 1 |" in text
    assert records[1]["seed"] == 1 and records[0]["seed"] == 0 and records[1]["sampling_steps"] == 2
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert main(["toy", "eval", "--out-dir", str(tmp_path / "nothing")]) != 0
    assert "expected state.pt" in capsys.readouterr().err


def test_training_hours_leave_pauses_and_restarts_out():
    from benchmark.toy.card import training_hours

    log = [
        {"step": 50, "time": 0.0},
        {"step": 100, "time": 40.0},
        {"step": 150, "time": 4000.0},  # session gap
        {"step": 200, "time": 4045.0},
        {"step": 150, "time": 4100.0},
        {"step": 200, "time": 4140.0},
    ]  # restart
    assert training_hours(log) == pytest.approx((40 + 45 + 40) / 3600)


def test_card_rewrite_needs_the_published_run(tmp_path, capsys):
    from benchmark.cli import main

    assert main(["toy", "card", "--workspace", str(tmp_path)]) != 0
    assert "bench toy publish" in capsys.readouterr().err
    (tmp_path / "scored_step.txt").write_text("1")  # scored other weights than the shipped ones
    assert main(["toy", "card", "--workspace", str(tmp_path)]) != 0
    assert "shipped weights are from step" in capsys.readouterr().err
