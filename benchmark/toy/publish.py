"""Ship the toy model: export EMA weights, score them, write the model card and the picture."""
from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def publish(train_dir: str | Path, workspace: str | Path, size: int | None = None) -> list[Path]:
    from benchmark.models import load_pipeline
    from benchmark.runner import RunConfig, run
    from benchmark.toy.card import write_model_card
    from benchmark.toy.figure import example_figure
    from benchmark.toy.shipped import WEIGHTS_DIR
    from benchmark.toy.train import export

    weights = export(train_dir, WEIGHTS_DIR)
    workspace = Path(workspace)
    if workspace.exists():
        shutil.rmtree(workspace)  # the weights changed: score them afresh
    from benchmark.toy.model import SAMPLING_GUIDANCE, SAMPLING_STEPS

    summary = run(RunConfig(split="shapes", model=str(weights), scheduler=None, steps=SAMPLING_STEPS,
                            guidance=SAMPLING_GUIDANCE,
                            height=32, width=32, batch_size=16, size=size, workspace=workspace, progress=True))
    card = write_model_card(train_dir, weights, summary.scores, Path(__file__).parent / "MODEL_CARD.md",
                            REPO / "docs" / "images" / "toy-training.png")
    figure = example_figure(load_pipeline(str(weights), scheduler=None), REPO / "docs" / "images" / "example.png",
                            renders=True, seed=1)
    return [weights, card, figure]
