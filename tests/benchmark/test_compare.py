"""A split's comparison models run on the same items and settings, side by side in the report."""

from __future__ import annotations

import json
import shutil

import pytest

import db
from benchmark import settings
from benchmark.cli import main
from benchmark.settings import UserOptions, comparison_models
from benchmark.toy.shipped import shipped_model


def test_unshipped_comparisons_are_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setitem(settings.NAMED_MODELS._entries, "toy-unsupervised", lambda ws: (None, None))
    models, notes = comparison_models("shapes", UserOptions(), tmp_path)
    assert models == [] and "not shipped yet" in notes[0]
    assert comparison_models("shapes", UserOptions(model="toy"), tmp_path) == ([], [])  # the user chose


@pytest.mark.skipif(shipped_model() is None, reason="the toy model is not shipped")
def test_default_job_runs_the_comparison_model_beside_its_own(tmp_path, monkeypatch, capsys):
    twin = tmp_path / "toy-twin"
    shutil.copytree(shipped_model(), twin)  # stands in for the unsupervised weights
    monkeypatch.setitem(settings.NAMED_MODELS._entries, "toy-unsupervised", lambda ws: (twin, None))
    ws = tmp_path / "ws"
    code = main(["run", "--limit", "2", "--no-score", "--workspace", str(ws), "--threads", "1", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    (other,) = out["comparisons"]
    assert other["model"] == str(twin) and other["done"] == out["done"] == 2
    with db.connect(None, workspace=ws) as store:
        runs = {r.name: r for r in store.runs()}
        assert set(runs) == {out["run"], other["run"]}
        # the same settings, another model
        assert runs[out["run"]].settings == runs[other["run"]].settings
    html = (ws / "report" / out["run"] / "report.html").read_text()
    assert "toy-twin" in html
    assert main(["run", "--limit", "2", "--no-score", "--workspace", str(tmp_path / "ws2"), "--no-compare"]) == 0
    with db.connect(None, workspace=tmp_path / "ws2") as store:
        assert len(store.runs()) == 1
