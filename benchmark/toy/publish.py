"""Ship a toy model: export EMA weights, score them, write the model card and the picture.

The default model ships in ``benchmark/toy/weights``; a named variant (``shipped.NAMED_MODELS``,
e.g. ``toy-unsupervised``) in its own folder, scored in ``<its training folder>/eval-workspace``.
The card shows every shipped model whose workspace scored its current weights, side by side.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmark.results import ScoreRecord

REPO = Path(__file__).resolve().parents[2]
CARD = Path(__file__).parent / "MODEL_CARD.md"
CURVES = REPO / "docs" / "images" / "toy-training.png"
SCORED_STEP = "scored_step.txt"  # in the publish workspace: which weights its run scored


def publish(
    train_dir: str | Path, workspace: str | Path | None = None, size: int | None = None, dest: str | Path | None = None
) -> list[Path]:
    """Export ``train_dir``'s EMA weights to ``dest`` (default: the shipped toy weights), score them on
    `shapes` in ``workspace`` (default: ``<train_dir>/eval-workspace``), and rewrite the card.

    Publishing the default model also draws the README's example figure; publishing a variant
    rewrites the card only when the default model's scored workspace is at hand (its column
    comes first), and says so otherwise.
    """
    from benchmark.runner import RunConfig, run
    from benchmark.toy.export import export
    from benchmark.toy.model import SAMPLING_GUIDANCE, SAMPLING_STEPS
    from benchmark.toy.shipped import WEIGHTS_DIR

    dest = Path(dest) if dest is not None else WEIGHTS_DIR
    workspace = Path(workspace) if workspace is not None else Path(train_dir) / "eval-workspace"
    weights = export(train_dir, dest)
    if workspace.exists():
        shutil.rmtree(workspace)  # the weights changed: score them afresh
    summary = run(
        RunConfig(
            split="shapes",
            model=str(weights),
            scheduler=None,
            steps=SAMPLING_STEPS,
            guidance=SAMPLING_GUIDANCE,
            height=32,
            width=32,
            batch_size=16,
            size=size,
            workspace=workspace,
            progress=True,
        )
    )
    (workspace / SCORED_STEP).write_text((weights / "training_step.txt").read_text())
    if weights.resolve() == WEIGHTS_DIR.resolve():
        from benchmark.pipelines import load_pipeline
        from benchmark.toy.card import write_model_card
        from benchmark.toy.figure import example_figure

        card = write_model_card(train_dir, weights, summary.scores, CARD, CURVES, others=scored_variants())
        figure = example_figure(
            load_pipeline(str(weights), scheduler=None), REPO / "docs" / "images" / "example.png", renders=True, seed=1
        )
        return [weights, card, figure]
    from benchmark.toy.shipped import DEFAULT_MODEL, NAMED_MODELS

    main = NAMED_MODELS[DEFAULT_MODEL]
    try:
        return [weights, rewrite_card(main.train_dir, main.workspace)]
    except FileNotFoundError as e:
        print(f"model card not rewritten: {e}", file=sys.stderr)
        return [weights]


def stored_scores(workspace: str | Path) -> list[ScoreRecord]:
    """The scores of the newest run in a publish workspace."""
    import db

    store = db.connect(None, workspace=Path(workspace))
    try:
        run = store.runs()[-1]
        return [ScoreRecord.from_row(s) for s in store.scores(run.id)]
    finally:
        store.close()


def _check_scored(workspace: Path, weights: Path) -> None:
    """The workspace must have scored these very weights (the step they were exported at)."""
    marker = workspace / SCORED_STEP
    if not marker.is_file():
        raise FileNotFoundError(f"{workspace} holds no published run ({SCORED_STEP} missing): run `bench toy publish`")
    shipped = (weights / "training_step.txt").read_text().strip()
    if marker.read_text().strip() != shipped:
        raise FileNotFoundError(
            f"{workspace} scored the weights of step {marker.read_text().strip()}, but the "
            f"shipped weights are from step {shipped}: run `bench toy publish`"
        )


def scored_variants(names: Sequence[str] | None = None) -> list:
    """A card column (``card.CardModel``) for each named variant that is shipped and whose workspace
    scored its current weights; ``names`` (default: every variant) picks which."""
    from benchmark.toy.card import CardModel
    from benchmark.toy.shipped import DEFAULT_MODEL, NAMED_MODELS

    columns = []
    for name in names if names is not None else [n for n in NAMED_MODELS if n != DEFAULT_MODEL]:
        model = NAMED_MODELS[name]
        workspace = REPO / model.workspace  # an absolute path stays itself
        if not model.shipped() or not (workspace / SCORED_STEP).is_file():
            continue
        try:
            _check_scored(workspace, model.weights)
        except FileNotFoundError as e:  # scored older weights: no column rather than wrong numbers
            print(f"model card: no `{name}` column: {e}", file=sys.stderr)
            continue
        columns.append(CardModel(name, REPO / model.train_dir, model.weights, stored_scores(workspace)))
    return columns


def rewrite_card(train_dir: str | Path, workspace: str | Path, others: Sequence | None = None) -> Path:
    """The model card again from the published runs' stored scores and the current logs.

    For when only the logs moved on (more `bench toy eval` rows, training continued): the
    metrics stay those of the shipped weights, which must be the ones the workspace scored.
    ``others``: further columns (``card.CardModel``); default: every scored named variant.
    """
    from benchmark.toy.card import write_model_card
    from benchmark.toy.shipped import WEIGHTS_DIR

    workspace = Path(workspace)
    _check_scored(workspace, WEIGHTS_DIR)
    others = scored_variants() if others is None else others
    return write_model_card(train_dir, WEIGHTS_DIR, stored_scores(workspace), CARD, CURVES, others=others)
