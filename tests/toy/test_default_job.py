"""`bench run --split shapes --limit 4`: the embedded default job end to end."""

import json

import db
from benchmark.cli import main


def test_bench_run_shapes_end_to_end(tmp_path, capsys):
    ws = tmp_path / "ws"
    code = main(["run", "--split", "shapes", "--limit", "4", "--workspace", str(ws), "--steps", "4", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["done"] == out["generations"] == 4
    metrics = {(s["method"], s["metric"], s["subset"]) for s in out["scores"]}
    assert ("model", "generation-accuracy", "all") in metrics
    store = db.connect(None, workspace=ws)
    run = store.get_run(out["run"])
    stored = {(s.method, s.metric, s.subset) for s in store.scores(run.id)}
    assert metrics == stored  # what is printed is what is stored
    masks = [m for g in store.generations(run.id) for m in store.masks(g.id, source="automatic")]
    if any(m == "daam@0.4" for m, _, _ in metrics):
        assert masks, "scored words have automatic masks"
        for method in ("daam@0.3", "daam@0.4", "daam@0.5", "whole-image", "centre-disc"):
            assert any(m == method and metric == "mIoU" for m, metric, _ in metrics)
        # the best and worst generated pairs at tau 0.4 feed the report's galleries, per word kind
        with_examples = [s for s in out["scores"] if "examples" in s["details"]]
        assert {(s["method"], s["subset"]) for s in with_examples} <= {("daam@0.4", "shape"), ("daam@0.4", "colour")}
        assert with_examples
        for s in with_examples:
            best = s["details"]["examples"]["best"][0]
            assert store.get_generation(best["generation_id"]).run_id == run.id and 0 <= best["iou"] <= 1
    if any(m == "daam-render@0.4" for m, _, _ in metrics):
        ablation = [s for s in out["scores"] if s["metric"] == "ablation"]
        assert {s["details"]["kind"] for s in ablation} == {"steps", "resolutions"}
        steps = next(s for s in ablation if s["subset"].endswith("steps-up-to"))
        assert (
            steps["details"]["x"] == sorted(steps["details"]["x"])
            and abs(steps["details"]["miou"][-1] - steps["value"]) < 1e-9
        )
        # open vocabulary on the real renders (the first 4 items all have 2-3 objects): the left-out
        # object's shape word as a vocabulary entry, absent from the caption and present in it
        # (beside the prompt's own map), on the same objects, with the trivial references
        by = {(s["method"], s["metric"], s["subset"]): s for s in out["scores"]}
        absent = by[("vocab-render@0.4", "mIoU", "render-absent/shape")]
        assert absent["n"] == 4 and 0 <= absent["value"] <= 1
        for method in ("vocab-render@0.4", "daam-render@0.4"):
            assert by[(method, "mIoU", "render-present/shape")]["n"] == absent["n"]
        for method in ("whole-image", "centre-disc"):
            assert by[(method, "mIoU", "render-absent/shape")]["n"] == absent["n"]
            assert (
                by[(method, "mIoU", "render-absent/shape")]["value"]
                == by[(method, "mIoU", "render-present/shape")]["value"]
            )
        assert by[("vocab-render@0.4", "mIoU", "render-absent/colour")]["n"] == 4
        assert "Open vocabulary on real renders" in (ws / "report" / out["run"] / "report.html").read_text()
    html = (ws / "report" / out["run"] / "report.html").read_text()
    assert "ablation over steps" in html
    assert "No scores of the selected runs store example items" not in html
    assert '<div class="colorbar"' in html  # the galleries show overlays with their scale
    # again: nothing regenerated, same scores
    assert main(["run", "--split", "shapes", "--limit", "4", "--workspace", str(ws), "--steps", "4", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["generated_now"] == 0 and len(again["scores"]) == len(out["scores"])
    store.close()


def test_a_run_without_scores_writes_its_report_with_sample_maps(tmp_path, capsys):
    ws = tmp_path / "ws"
    argv = [
        "run",
        "--limit",
        "2",
        "--workspace",
        str(ws),
        "--steps",
        "2",
        "--no-score",
        "--run-name",
        "look",
        "--no-compare",
    ]
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    report = ws / "report" / "look" / "report.html"
    assert lines[-3:] == [f"images: {ws / 'images' / 'look'}", f"maps: {ws / 'maps' / 'look'}", f"report: {report}"]
    html = report.read_text()
    assert html.count('<article class="item sample"') == 2  # each done generation, image and word maps
    assert "DAAM: " in html and '<div class="colorbar"' in html
