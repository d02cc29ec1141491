"""The appendix A.1 ablation on real traced maps: curves consistent with the full sums."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import daam
from benchmark.metrics.ablation import ablation_ious, ablation_scores, has_step_detail, step_cuts
from benchmark.metrics.overlap import iou

KW = dict(num_inference_steps=4, height=64, width=64, guidance_scale=7.5)


@pytest.fixture(scope="module")
def traced(sd_path):
    from tests.pipelines import load

    pipe = load("StableDiffusionPipeline", sd_path)
    with daam.trace(pipe, keep_steps=True) as tc:
        pipe("a dog on a bench", generator=torch.Generator().manual_seed(3), **KW)
    with daam.trace(pipe) as plain:
        pipe("a dog on a bench", generator=torch.Generator().manual_seed(3), **KW)
    return tc.results()[0], plain.results()[0]


def test_step_cuts():
    assert step_cuts(30) == [3, 8, 15, 22, 27, 30]
    assert step_cuts(1) == [1]
    with pytest.raises(ValueError, match="positive"):
        step_cuts(0)


def test_curves_end_at_the_full_map(traced):
    maps, plain = traced
    assert has_step_detail(maps) and not has_step_detail(plain)
    truth = maps.word_map("dog").mask(0.4).numpy()
    other = np.zeros_like(truth)
    other[:32] = True
    rec = ablation_ious(maps, "dog", 0, [truth, other])
    full = (1.0 + iou(truth, other)) / 2  # the map is the first truth exactly; averaged over both
    assert rec["full"] == pytest.approx(full)
    assert rec["steps"] == [1, 2, 3, 4] and rec["steps-up-to"][-1] == pytest.approx(full)
    assert rec["steps-from"][-1] == pytest.approx(full)
    assert rec["resolution_names"] == ["4x4", "8x8"] and len(rec["resolutions"]) == 2
    first = maps.word_map("dog", steps=[0]).soft.numpy() >= 0.4
    assert rec["steps-up-to"][0] == pytest.approx((iou(first, truth) + iou(first, other)) / 2)
    assert ablation_ious(plain, "dog", 0, [truth]) is None
    small = ablation_ious(
        maps,
        "dog",
        0,
        [truth[::2, ::2]],
        fit=lambda soft, size: soft[:: soft.shape[0] // size[0], :: soft.shape[1] // size[1]],
    )
    assert small["full"] == pytest.approx(1.0)


def test_scores_one_curve_each(traced):
    maps, _ = traced
    truth = maps.word_map("dog").mask(0.4).numpy()
    rec = ablation_ious(maps, "dog", 0, [truth])
    scores = ablation_scores([rec, None, rec], "segmentation", "daam", "all/")
    assert [s["subset"] for s in scores] == ["all/steps-up-to", "all/steps-from", "all/resolutions"]
    assert all(s["n"] == 2 and s["method"] == "daam@0.4" and s["value"] == pytest.approx(1.0) for s in scores)
    assert scores[2]["details"]["x"] == ["4x4", "8x8"] and scores[0]["details"]["kind"] == "steps"
    assert ablation_scores([None], "segmentation", "daam") == []


def _record(up_to: list[float], full: float) -> dict:
    return {
        "steps-up-to": up_to,
        "steps-from": up_to[::-1],
        "resolutions": [full],
        "full": full,
        "steps": [1, 2, 4],
        "resolution_names": ["8x8"],
    }


def test_scores_store_an_interval_per_point():
    rng = np.random.default_rng(0)
    values = rng.uniform(0.2, 0.8, size=(40, 3))
    records = [_record(list(v), float(v[-1])) for v in values]
    records.append(_record([float("nan"), 0.5, 0.5], 0.5))  # a pair without a score at one point
    up_to = ablation_scores(records, "shapes", "daam")[0]
    details = up_to["details"]
    assert len(details["ci_low"]) == len(details["ci_high"]) == len(details["x"]) == 3
    for j, (lo, mid, hi) in enumerate(zip(details["ci_low"], details["miou"], details["ci_high"])):
        kept = [r["steps-up-to"][j] for r in records if not np.isnan(r["steps-up-to"][j])]
        assert mid == pytest.approx(np.mean(kept))
        assert min(kept) <= lo < mid < hi <= max(kept)
        # a 95% interval of a mean of ~40 uniform values: about mean +- 2 standard errors
        half = 1.96 * np.std(kept, ddof=1) / np.sqrt(len(kept))
        assert hi - lo == pytest.approx(2 * half, rel=0.25)
    assert up_to["ci_low"] < up_to["value"] < up_to["ci_high"]


def test_one_pair_has_no_interval():
    (up_to, *_) = ablation_scores([_record([0.1, 0.2, 0.3], 0.3)], "shapes", "daam")
    assert up_to["details"]["ci_low"] == [None, None, None] and up_to["ci_low"] is None
    assert up_to["details"]["miou"] == pytest.approx([0.1, 0.2, 0.3])
