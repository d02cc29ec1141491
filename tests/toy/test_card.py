"""The model card: a template plus measured facts; one model, or two side by side."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import db
from benchmark.results import ScoreRecord
from benchmark.scorers.common import store_scores
from benchmark.toy import publish as publish_mod
from benchmark.toy import shipped
from benchmark.toy.card import TARGETS, CardModel, render_model_card

REPO = Path(__file__).resolve().parents[2]
TOY = REPO / "training" / "toy"
VARIANT = REPO / "training" / "toy-unsupervised"

ROWS = [
    ("model", "generation-accuracy", "1-object", 1.0, 0.95, 1.0, 69),
    ("model", "generation-accuracy", "2-object", 0.968, 0.91, 0.99, 94),
    ("daam@0.4", "mIoU", "shape", 0.588, 0.57, 0.60, 355),
    ("whole-image", "mIoU", "shape", 0.080, 0.07, 0.09, 355),
]


def _scores(scale: float = 1.0) -> list[dict]:
    return [
        {
            "study": "shapes",
            "method": m,
            "metric": k,
            "subset": s,
            "value": v * scale,
            "ci_low": lo * scale,
            "ci_high": hi * scale,
            "n": n,
            "details": {},
        }
        for m, k, s, v, lo, hi, n in ROWS
    ]


needs_logs = pytest.mark.skipif(
    not (TOY / "config.json").is_file() or not (VARIANT / "config.json").is_file(),
    reason="the training logs are not in this tree",
)


@needs_logs
def test_one_model_renders_the_shipped_card():
    """Everything but the metric rows (scores live in workspaces not in the tree) is the committed
    card: the shipped models' columns, from the logs and configs in the tree."""
    models = [CardModel("toy", TOY, shipped.WEIGHTS_DIR, _scores())]
    variant = shipped.NAMED_MODELS["toy-unsupervised"]
    if variant.shipped():  # the committed card shows it beside the grounded model
        models.append(CardModel(variant.name, VARIANT, variant.weights, _scores(0.5)))
    text = render_model_card(models, "toy-training.png")
    committed = (REPO / "benchmark" / "toy" / "MODEL_CARD.md").read_text()
    labels = tuple(f"| {label} |" for label, _, _ in TARGETS)

    def keep(t):
        return [line for line in t.splitlines() if not line.startswith(labels)]

    assert keep(text) == keep(committed)
    pairs = "| generation accuracy, pairs | 0.968 | [0.91, 0.99] n=94 |"
    assert pairs in text and (len(models) == 1 or "0.484 | [0.46, 0.49] n=94 | >= 0.6 |" in text)
    assert "| centre disc, shape word (generated) | - | |" in text
    assert "on 1 CPU thread (2-core machine)" in text  # from the log's machine line, not typed


def _workspace(root: Path, name: str, step: str, scores: list[dict]) -> Path:
    """A publish workspace: a SQLite store holding one run's scores, and the step it scored."""
    ws = root / name
    store = db.connect(None, workspace=ws)
    try:
        model = store.get_or_create_model(name, "test", "diffusion", {})
        store_scores(store, store.create_run(f"{name}-run", "shapes", model.id, {}), [ScoreRecord(**d) for d in scores])
    finally:
        store.close()
    (ws / publish_mod.SCORED_STEP).write_text(step)
    return ws


def _weights(root: Path, step: str) -> Path:
    weights = root / "weights"
    shutil.copytree(shipped.WEIGHTS_DIR, weights, ignore=shutil.ignore_patterns("*.safetensors"))
    (weights / "training_step.txt").write_text(step)
    return weights


@needs_logs
def test_card_shows_a_scored_variant_beside_the_main_model(tmp_path, monkeypatch):
    main_ws = _workspace(tmp_path, "toy-ws", "15750", _scores())
    variant_weights = _weights(tmp_path / "variant", "7000")
    variant = shipped.NamedModel("toy-unsupervised", variant_weights, str(VARIANT), "no grounding losses")
    monkeypatch.setitem(shipped.NAMED_MODELS, "toy-unsupervised", variant)
    monkeypatch.setattr(publish_mod, "CARD", tmp_path / "MODEL_CARD.md")
    monkeypatch.setattr(publish_mod, "CURVES", tmp_path / "curves.png")
    _workspace(tmp_path, "variant-ws", "7000", _scores(0.5))

    # the variant's workspace is not there yet: one column, as today
    one = publish_mod.rewrite_card(TOY, main_ws).read_text()
    assert "| measure | value | 95% CI | target |" in one and "toy-unsupervised" not in one

    # once its publish workspace (<train dir>/eval-workspace) scored its shipped weights: two columns
    monkeypatch.setattr(shipped.NamedModel, "workspace", property(lambda self: str(tmp_path / "variant-ws")))
    two = publish_mod.rewrite_card(TOY, main_ws).read_text()
    assert "| measure | `toy` | 95% CI | `toy-unsupervised` | 95% CI | target |" in two
    assert "|---|---|---|---|---|---|" in two
    assert "| generation accuracy, pairs | 0.968 | [0.91, 0.99] n=94 | 0.484 | [0.46, 0.49] n=94 | >= 0.6 |" in two
    assert "| centre disc, shape word (generated) | - | | - | | reference |" in two
    assert "**Second column: `toy-unsupervised`** (`training/toy-unsupervised`): no grounding losses" in two
    assert "recipe differences: ground_weight 0.0, pixel_weight 0.0" in two
    assert "- `toy`: 15750 UNet steps" in two and "- `toy-unsupervised`: 7000 UNet steps of 15750 planned" in two
    assert "### `toy`" in two and "### `toy-unsupervised`" in two
    assert two.count("## Generation accuracy by checkpoint") == 1
    assert (tmp_path / "curves.png").stat().st_size > 0
    (tmp_path / "two.md").write_text(two)

    # a variant workspace that scored other weights gives no column rather than wrong numbers
    (variant_weights / "training_step.txt").write_text("7250")
    assert "toy-unsupervised" not in publish_mod.rewrite_card(TOY, main_ws).read_text()
