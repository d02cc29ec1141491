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
    if any(m == "daam-render@0.4" for m, _, _ in metrics):
        ablation = [s for s in out["scores"] if s["metric"] == "ablation"]
        assert {s["details"]["kind"] for s in ablation} == {"steps", "resolutions"}
        steps = next(s for s in ablation if s["subset"].endswith("steps-up-to"))
        assert (
            steps["details"]["x"] == sorted(steps["details"]["x"])
            and abs(steps["details"]["miou"][-1] - steps["value"]) < 1e-9
        )
    html = (ws / "report" / out["run"] / "report.html").read_text()
    assert "ablation over steps" in html
    # again: nothing regenerated, same scores
    assert main(["run", "--split", "shapes", "--limit", "4", "--workspace", str(ws), "--steps", "4", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["generated_now"] == 0 and len(again["scores"]) == len(out["scores"])
    store.close()
