"""Segmentation scorer: DAAM and baselines against hand-made masks, scores checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

import db
from baselines.io import save_output
from baselines.protocol import BaselineOutput
from benchmark.metrics import SWEEP_TAUS
from benchmark.scorers.common import ScoringError
from benchmark.scorers.segmentation import score_segmentation
from tests.scorers.conftest import SIZE, block

TOP, LEFT = block(rows=slice(0, 4)), block(cols=slice(0, 4))


def _tree_map() -> np.ndarray:
    """1 on columns 0-1, 0.35 on columns 2-3: IoU with LEFT is 1 up to tau 0.35, then 0.5."""
    soft = np.zeros((SIZE, SIZE), np.float32)
    soft[:, :2], soft[:, 2:4] = 1.0, 0.35
    return soft


@pytest.fixture
def coco_run(bench):
    run = bench.run("coco-gen")
    p1 = bench.prompt("coco-gen", "coco-1", "a dog near a tree", ("dog", "tree"), {"coco_classes": {"dog": "dog"}})
    p2 = bench.prompt("coco-gen", "coco-2", "a cat on a sofa", ("cat", "sofa"), {"coco_classes": {"cat": "cat"}})
    g1 = bench.generation(run, p1, patterns={("dog", 0): TOP, ("tree", 0): _tree_map()})
    g2 = bench.generation(run, p2, patterns={("cat", 0): TOP, ("sofa", 0): LEFT})
    bench.human_mask(g1, "dog", TOP)
    bench.human_mask(g1, "tree", LEFT)
    bench.human_mask(g2, "cat", LEFT)  # DAAM's TOP: IoU 16 / 48
    bench.human_mask(g2, "sofa", np.zeros((SIZE, SIZE), bool))  # judged absent: no pair
    return run, g1, g2


def test_no_human_masks_gives_a_note_and_no_scores(bench):
    run = bench.run("coco-gen")
    p = bench.prompt("coco-gen", "coco-1", "a dog", ("dog",))
    bench.generation(run, p, patterns={("dog", 0): TOP})
    scores, notes = score_segmentation(bench.store, bench.workspace, run)
    assert scores == [] and bench.store.scores(run.id) == []
    assert "no human masks" in notes[0]


def test_daam_miou_per_tau_matches_hand_computation(bench, coco_run):
    run, _, _ = coco_run
    returned, notes = score_segmentation(bench.store, bench.workspace, run)
    stored = bench.scores(run)
    assert len(returned) == len(stored)
    third = 1 / 3
    expected = {  # (dog, tree, cat) IoUs per tau; mIoU80 keeps dog and cat
        0.3: (1.0, 1.0, third),
        0.4: (1.0, 0.5, third),
        0.5: (1.0, 0.5, third),
    }
    for tau, (dog, tree, cat) in expected.items():
        all_ = stored[(f"daam@{tau}", "mIoU-all", "all")]
        assert all_.value == pytest.approx((dog + tree + cat) / 3) and all_.n == 3
        assert all_.ci_low <= all_.value <= all_.ci_high
        coco = stored[(f"daam@{tau}", "mIoU80", "all")]
        assert coco.value == pytest.approx((dog + cat) / 2) and coco.n == 2
    assert any("1 nouns were marked absent" in n for n in notes)


def test_examples_and_tau_sweep(bench, coco_run):
    run, g1, _ = coco_run
    score_segmentation(bench.store, bench.workspace, run)
    stored = bench.scores(run)
    examples = stored[("daam@0.4", "mIoU-all", "all")].details["examples"]
    assert examples["best"][0] == {"generation_id": g1.id, "word": "dog", "occurrence": 0, "iou": 1.0}
    assert examples["worst"][0]["word"] == "cat" and examples["worst"][0]["iou"] == pytest.approx(1 / 3)
    assert len(examples["best"]) == 3
    assert "examples" not in stored[("daam@0.4", "mIoU80", "all")].details
    sweep = stored[("daam", "mIoU-sweep", "all")]
    assert sweep.details["taus"] == list(SWEEP_TAUS)
    # tau 0: every pixel predicted, IoU = truth area / image = 0.5 for all three nouns
    assert sweep.details["miou"][0] == pytest.approx(0.5)
    assert sweep.details["best_tau"] == 0.05 and sweep.value == pytest.approx((1 + 1 + 1 / 3) / 3)
    assert stored[("daam", "mIoU-sweep", "coco80")].n == 2


def test_soft_and_cluster_baselines(bench, coco_run):
    run, g1, _ = coco_run
    right = np.zeros((SIZE, SIZE), np.float32)
    right[:, 4:] = 0.6
    rel = f"baselines/clipseg/{g1.id}.npz"
    save_output(
        bench.workspace / rel,
        BaselineOutput("clipseg", (SIZE, SIZE), maps={"dog": TOP.astype(np.float32), "tree": right}),
    )
    bench.store.add_word_maps(g1.id, [db.WordMapSpec(w, 0, (), rel, method="clipseg") for w in ("dog", "tree")])
    clusters = np.full((SIZE, SIZE), 2, np.int32)
    clusters[:4] = 0
    clusters[4:, :4] = 1
    save_output(
        bench.workspace / f"baselines/stego/{g1.id}.npz",
        BaselineOutput("stego", (SIZE, SIZE), clusters=clusters, n_clusters=3),
    )
    _, notes = score_segmentation(bench.store, bench.workspace, run)
    stored = bench.scores(run)
    clip = stored[("clipseg", "mIoU-all", "all")]
    assert clip.value == pytest.approx(0.5) and clip.n == 2  # dog 1, tree 0; cat has no output
    assert clip.details["n_unscored"] == 1 and clip.details["tau"] == 0.5
    # Hungarian: dog -> cluster 0 (IoU 1), tree -> cluster 1 (16 / 32) beats dog->1 + tree->0 (0 + 1/3)
    stego = stored[("stego", "mIoU-all", "all")]
    assert stego.value == pytest.approx(0.75) and stego.details["matching"] == "hungarian"
    assert stored[("stego", "mIoU80", "all")].value == pytest.approx(1.0)
    assert "clipseg" in notes[0] and "stego" in notes[0]


def test_several_raters_are_averaged_per_pair_and_excluded_raters_dropped(bench):
    run = bench.run("coco-gen")
    p = bench.prompt("coco-gen", "coco-1", "a dog", ("dog",), {"coco_classes": {"dog": "dog"}})
    g = bench.generation(run, p, patterns={("dog", 0): TOP})
    bench.human_mask(g, "dog", LEFT, rater="a")  # an earlier version, replaced below
    bench.human_mask(g, "dog", TOP, rater="a")  # IoU 1
    bench.human_mask(g, "dog", block(rows=slice(0, 2)), rater="b")  # IoU 16 / 32
    bench.human_mask(g, "dog", LEFT, rater="c")
    bench.store.set_rater_excluded("c", True, "failed attention checks")
    score_segmentation(bench.store, bench.workspace, run)
    s = bench.scores(run)[("daam@0.4", "mIoU-all", "all")]
    assert s.value == pytest.approx(0.75) and s.n == 1 and s.details["n_raters"] == 2
    assert s.ci_low is None and s.ci_high is None  # one pair: no interval, stored as missing


def test_rescoring_replaces_scores_and_wrong_study_is_refused(bench, coco_run):
    run, _, _ = coco_run
    first, _ = score_segmentation(bench.store, bench.workspace, run)
    second, _ = score_segmentation(bench.store, bench.workspace, run)
    assert len(bench.store.scores(run.id)) == len(first) == len(second)
    assert all(math.isfinite(s.value) for s in bench.store.scores(run.id))
    other = bench.run("cohyponym")
    with pytest.raises(ScoringError, match="study 'cohyponym', not 'segmentation'"):
        score_segmentation(bench.store, bench.workspace, other)
