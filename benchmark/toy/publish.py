"""Ship the toy model: export EMA weights, score them, write the model card and the picture."""
from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CARD = Path(__file__).parent / "MODEL_CARD.md"
CURVES = REPO / "docs" / "images" / "toy-training.png"
SCORED_STEP = "scored_step.txt"  # in the publish workspace: which weights its run scored


def publish(train_dir: str | Path, workspace: str | Path, size: int | None = None) -> list[Path]:
    from benchmark.pipelines import load_pipeline
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
    (workspace / SCORED_STEP).write_text((weights / "training_step.txt").read_text())
    card = write_model_card(train_dir, weights, summary.scores, CARD, CURVES)
    figure = example_figure(load_pipeline(str(weights), scheduler=None), REPO / "docs" / "images" / "example.png",
                            renders=True, seed=1)
    return [weights, card, figure]


def rewrite_card(train_dir: str | Path, workspace: str | Path) -> Path:
    """The model card again from the published run's stored scores and the current logs.

    For when only the logs moved on (more `bench toy eval` rows, training continued): the
    metrics stay those of the shipped weights, which must be the ones the workspace scored.
    """
    import dataclasses

    import db
    from benchmark.toy.card import write_model_card
    from benchmark.toy.shipped import WEIGHTS_DIR

    workspace = Path(workspace)
    marker = workspace / SCORED_STEP
    if not marker.is_file():
        raise FileNotFoundError(f"{workspace} holds no published run ({SCORED_STEP} missing): run `bench toy publish`")
    shipped = (WEIGHTS_DIR / "training_step.txt").read_text().strip()
    if marker.read_text().strip() != shipped:
        raise FileNotFoundError(f"{workspace} scored the weights of step {marker.read_text().strip()}, but the "
                                f"shipped weights are from step {shipped}: run `bench toy publish`")
    store = db.connect(None, workspace=workspace)
    try:
        run = store.runs()[-1]
        scores = [dataclasses.asdict(s) for s in store.scores(run.id)]
    finally:
        store.close()
    return write_model_card(train_dir, WEIGHTS_DIR, scores, CARD, CURVES)
