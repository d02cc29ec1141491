"""build_report: the plain Report objects, before any rendering."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import daam
import db
from benchmark.report import ReportError, build_report
from benchmark.report.document import Cell, Column, Row
from benchmark.report.tables import mark_best, pivot, rank_rows
from tests.report.bench import HOSTILE_PROMPT


@pytest.fixture(scope="module")
def report(bench):
    return build_report(bench.store, bench.workspace)


def _section(report, key):
    return next(s for s in report.sections if s.key == key)


def _table(report, key):
    return next(t for t in report.tables() if t.key == key)


def test_runs_are_side_by_side_with_metadata(report, bench):
    assert report.runs == ("coco-run", "unreal-run")
    runs = _table(report, "runs")
    assert [r.label for r in runs.rows] == ["coco-run", "unreal-run"]
    fields = dict(zip([c.label for c in runs.columns], runs.rows[0].cells))
    assert fields["model"].text == "stabilityai/stable-diffusion-2-base"
    assert fields["code version"].text == "abc1234"
    assert fields["settings"].text == '{"guidance": 7.5, "steps": 30}'


def test_table1_rows_best_first_by_the_first_column(report):
    table = _table(report, "table-1")
    assert [c.group for c in table.columns] == ["coco-gen / stable-diffusion-2-base"] * 2 + [
        "unreal-gen / stable-diffusion-2-base"
    ] * 2
    first = [r.cells[0].value for r in table.rows]
    assert first == sorted(first, reverse=True)
    assert [r.label for r in table.rows if r.cells[1].best] == ["daam@0.4"]


def test_syntax_rows_ordered_by_dominance_without_best_marks(report):
    table = _table(report, "syntax")
    assert [r.label for r in table.rows] == ["amod", "compound", "nsubj"]
    assert [c.label for c in table.columns] == ["mIoU", "mIoD", "mIoH", "mIoD-mIoH"]
    assert not any(c.best for r in table.rows for c in r.cells)


def test_curves_come_from_stored_details(report, bench):
    figure = next(f for f in report.figures() if f.key == "ablation-layers")
    assert figure.series[0].x == ("down", "mid", "up", "all")
    assert figure.series[0].y == (0.4, 0.2, 0.5, 0.648)
    buckets = next(f for f in report.figures() if f.key == "cohyponym-overlap-accuracy")
    assert buckets.series[0].x == ("<=0.4", "0.4-0.6", ">=0.6")


def test_gallery_shows_image_overlay_and_masks(report, bench):
    gallery = _section(report, "galleries").galleries[0]
    best, worst = gallery.items
    assert (best.rank, best.word, best.iou, best.prompt) == ("best", "dog", 0.913, HOSTILE_PROMPT)
    assert [p.label for p in best.panels] == ["image", "DAAM overlay", "mask: human rater 1", "mask: automatic"]
    image = np.asarray(Image.open(bench.workspace / "images" / "g0.png").convert("RGB"))
    soft = daam.load(bench.workspace / "maps" / "g0.safetensors").word_map("dog").soft
    drawn = np.asarray(Image.open(io.BytesIO(best.panels[1].png)))
    np.testing.assert_array_equal(drawn, daam.overlay(image, soft))
    mask = db.decode_mask(bench.store.masks(bench.generation.id, source="human")[0])
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(best.panels[2].png))) > 0, mask)
    assert worst.rank == "worst" and not worst.panels
    assert any("missing.png" in p for p in worst.problems)


def test_selected_runs_only_and_empty_sections_say_so(bench):
    report = build_report(bench.store, bench.workspace, ["unreal-run"])
    assert report.runs == ("unreal-run",)
    assert {c.group for c in _table(report, "table-1").columns} == {"unreal-gen / stable-diffusion-2-base"}
    syntax = _section(report, "syntax")
    assert syntax.is_empty and syntax.empty_note == "No syntax scores stored for the selected runs."
    assert _section(report, "galleries").is_empty and _section(report, "other").is_empty


def test_unknown_run_names_the_known_ones(bench):
    with pytest.raises(db.NotFoundError, match="coco-run"):
        build_report(bench.store, bench.workspace, ["no-such-run"])
    with pytest.raises(ReportError, match="twice"):
        build_report(bench.store, bench.workspace, ["coco-run", "coco-run"])


def test_empty_store_and_malformed_curves_are_clear_errors(tmp_path):
    store = db.connect(tmp_path)
    with pytest.raises(ReportError, match="holds no runs"):
        build_report(store, tmp_path)
    model = store.get_or_create_model("m", "r", "diffusion")
    run = store.create_run("r", "coco-gen", model.id, {})
    store.upsert_score(
        run.id, "segmentation", "daam", "mIoU-sweep", "all", 0.5, details={"taus": [0.3, 0.4], "miou": [0.5]}
    )
    with pytest.raises(ReportError, match=r"mIoU-sweep / all.*one length"):
        build_report(store, tmp_path)
    store.close()


def test_ranking_ties_and_missing_values():
    rows = [Row("a", (Cell(0.5), Cell())), Row("b", (Cell(), Cell(0.9))), Row("c", (Cell(0.7), Cell(0.9)))]
    ranked = mark_best(rank_rows(rows, True), True)
    assert [r.label for r in ranked] == ["c", "a", "b"]
    assert [[c.best for c in r.cells] for r in ranked] == [[True, True], [False, False], [False, True]]
    lower = rank_rows(rows, False)
    assert [r.label for r in lower] == ["a", "c", "b"]


def test_pivot_refuses_two_scores_in_one_cell(bench):
    scores = bench.store.scores(run_id=bench.run_a.id, study="segmentation", metric="mIoU80")
    with pytest.raises(ValueError, match="two scores"):
        pivot(
            "t", "t", "run", scores, row_of=lambda s: "one row", column_of=lambda s: Column("x"), higher_is_better=True
        )
