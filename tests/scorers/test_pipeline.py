"""The scorers on what the runner really stores: real split builders, a tiny real pipeline."""

from __future__ import annotations

import numpy as np
import pytest

import db
from benchmark.runner import RunConfig, run
from benchmark.scorers.adjective import score_adjective
from benchmark.scorers.cohyponym import score_cohyponym
from benchmark.scorers.segmentation import score_segmentation


def _run(tmp_path, sd_path, sd_pipe, split, **kw):
    config = RunConfig(
        split=split,
        model=str(sd_path),
        steps=2,
        height=64,
        width=64,
        workspace=tmp_path / "ws",
        batch_size=4,
        progress=False,
        score=False,
        **kw,
    )
    summary = run(config, pipe=sd_pipe)
    assert summary.failed == 0
    store = db.connect(None, workspace=tmp_path / "ws")
    return store, store.get_run(summary.run)


def test_cohyponym_and_adjective_runs(tmp_path, sd_path, sd_pipe):
    store, cohyponym = _run(tmp_path, sd_path, sd_pipe, "cohyponym", size=4)
    scores, _ = score_cohyponym(store, tmp_path / "ws", cohyponym)
    groups = {p.provenance["cohyponym"] for p in store.prompts("cohyponym", "1")}
    assert {s["subset"] for s in scores} == {"cohyponym" if g else "non-cohyponym" for g in groups}
    assert sum(s["n"] for s in scores) == 4

    store, adjective = _run(tmp_path, sd_path, sd_pipe, "adjective", limit=9)  # shovel, ball, car
    scores, notes = score_adjective(store, tmp_path / "ws", adjective)
    pairs = [p for s in scores if s["subset"] == "all" and s["metric"] != "colour-gain" for p in s["details"]["pairs"]]
    unscored = sum(n.startswith("not scored") for n in notes)
    assert len(pairs) + unscored == 6  # two variants in each of three groups
    assert {p["mask_source"] for p in pairs} == {"daam@0.4"}  # no masks stored: the noun's DAAM map
    assert {p["kind"] for p in pairs if p["group"] == "car"} <= {"colour"}
    assert {p["kind"] for p in pairs if p["group"] != "car"} <= {"attribute"}
    store.close()


def test_segmentation_of_own_prompts(tmp_path, sd_path, sd_pipe):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"text": "a dog on a bench", "words": ["dog", "bench"]}\n')
    store, seg = _run(tmp_path, sd_path, sd_pipe, "prompts", prompts_file=prompts)
    g = store.generations(seg.id, "done")[0]
    import daam

    maps = daam.load(tmp_path / "ws" / store.word_maps(g.id)[0].path)
    truth = maps.word_map("dog").mask(0.4).numpy()  # a truth equal to DAAM's own mask: IoU 1
    store.add_mask(g.id, "dog", 0, truth, source="human", rater=store.get_or_create_rater("r"))
    scores, _ = score_segmentation(store, tmp_path / "ws", seg)
    by = {(s["method"], s["metric"]): s for s in scores}
    assert by[("daam@0.4", "mIoU-all")]["value"] == pytest.approx(1.0)
    assert by[("daam@0.4", "mIoU80")]["n"] == 1  # "dog" is a COCO class by name (no split decision here)
    assert np.isfinite(by[("daam", "mIoU-sweep")]["value"])
    assert not [s for s in scores if s["metric"] == "ablation"]  # no per-step detail kept
    store.close()


def test_keep_detail_gives_the_ablation(tmp_path, sd_path, sd_pipe):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"text": "a dog on a bench", "words": ["dog", "bench"]}\n')
    store, seg = _run(tmp_path, sd_path, sd_pipe, "prompts", prompts_file=prompts, keep_detail=True)
    g = store.generations(seg.id, "done")[0]
    import daam

    maps = daam.load(tmp_path / "ws" / store.word_maps(g.id)[0].path)
    assert {d.shape[1] for d in maps.detail.values()} == {len(maps.tokens.token_ids)}  # trimmed to the prompt
    assert {step for step, _ in maps.detail} == {0, 1}
    truth = maps.word_map("dog").mask(0.4).numpy()
    store.add_mask(g.id, "dog", 0, truth, source="human", rater=store.get_or_create_rater("r"))
    scores, notes = score_segmentation(store, tmp_path / "ws", seg)
    ablation = {s["subset"]: s for s in scores if s["metric"] == "ablation"}
    assert set(ablation) == {"all/steps-up-to", "all/steps-from", "all/resolutions"}
    steps = ablation["all/steps-up-to"]["details"]
    assert steps["x"] == [1, 2] and steps["miou"][-1] == pytest.approx(1.0)
    assert ablation["all/resolutions"]["n"] == 1 and any("ablation over 1 pair" in n for n in notes)
    store.close()
