"""Figures read well: readable legend names, integer steps, stored intervals in bands and data tables."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import db
from benchmark.report import build_report
from benchmark.report.document import Cell, Figure, Report, Section, Series
from benchmark.report.draw import figure_png
from benchmark.report.formatting import format_cell, format_number, format_x
from benchmark.report.labels import method_name, split_common, subset_name, with_common
from benchmark.report.render import render_html
from tests.report.parse import parse_report


@pytest.mark.parametrize(
    "stored, shown",
    [
        ("daam@0.4", "DAAM-0.4"),
        ("daam-render@0.4", "DAAM-0.4 (real renders)"),
        ("daam-render", "DAAM (real renders)"),
        ("daam", "DAAM"),
        ("clipseg", "CLIPSeg"),
        ("whole-image", "whole image"),
        ("my-method@0.3", "my-method-0.3"),  # unknown names stay as stored
    ],
)
def test_method_names_as_a_person_says_them(stored, shown):
    assert method_name(stored) == shown


def test_subset_drops_what_the_method_already_says():
    assert subset_name("render/shape", "daam-render@0.4") == "shape"
    assert subset_name("render/shape", "daam@0.4") == "render/shape"
    assert subset_name("shape/held-out", "daam-render") == "shape/held-out"


def test_shared_label_parts_move_to_the_title():
    parts = [
        ("shapes / weights", "shapes study", "DAAM-0.4 (real renders)", "shape", "first j steps only"),
        ("shapes / weights", "shapes study", "DAAM-0.4 (real renders)", "shape", "last j steps only"),
    ]
    common, labels = split_common(parts)
    assert labels == ["first j steps only", "last j steps only"]
    assert common == ["shapes / weights", "shapes study", "DAAM-0.4 (real renders)", "shape"]
    assert with_common("Ablation over steps", common) == (
        "Ablation over steps: shapes / weights, shapes study, DAAM-0.4 (real renders), shape"
    )
    assert with_common("Tau sweep (shapes)", ["shapes", "DAAM"]) == "Tau sweep (shapes): DAAM"  # not said twice
    common, labels = split_common([("run a", "DAAM", ""), ("run b", "DAAM", "")])
    assert (common, labels) == (["DAAM"], ["run a", "run b"])
    assert split_common([("only", "line")]) == (["only", "line"], [""])  # one line: no legend


def test_integers_are_written_as_integers():
    assert format_number(30) == "30" and format_number(4.0) == "4.000"  # a stored float keeps the rule
    assert format_cell(Cell(value=7)) == "7" and format_cell(Cell(value=7, ci_low=5, ci_high=9)) == "7 [5, 9]"
    assert [format_x(x) for x in (5, 10, 0.05, 0.4, 0.0, "8x8")] == ["5", "10", "0.05", "0.4", "0", "8x8"]


def _report(*figures: Figure) -> Report:
    return Report("t", "sqlite://", ("a",), (Section("s", "S", figures=figures),))


def test_figure_data_shows_stored_intervals_and_integer_steps():
    with_ci = Series("first j", (2, 5, 10), (0.5, 0.52, 0.55), (0.45, None, 0.5), (0.55, None, 0.6))
    plain = Series("tau", (0.3, 0.4), (0.6, 0.65))
    page = parse_report(
        render_html(
            _report(
                Figure("steps", "Ablation", "line", (with_ci,), "steps", "mIoU", y_from_zero=True),
                Figure("taus", "Sweep", "line", (plain,), "tau", "mIoU"),
            )
        )
    )
    steps = page.tables["figure-data:steps"]
    assert steps.head == [["series", "steps", "mIoU", "95% interval"]]
    assert [(c[0].text, c[2].text) for _, c in steps.rows] == [
        ("2", "[0.450, 0.550]"),
        ("5", ""),
        ("10", "[0.500, 0.600]"),
    ]
    taus = page.tables["figure-data:taus"]
    assert taus.head == [["series", "tau", "mIoU"]]  # nothing stored an interval: no column of dashes


def _png(figure: Figure) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(figure_png(figure))).convert("RGB"))


def test_bands_are_drawn_and_a_flat_curve_stays_flat():
    flat = Series("a", (1, 2, 3), (0.548, 0.551, 0.549))
    banded = Series("a", (1, 2, 3), (0.548, 0.551, 0.549), (0.5, 0.5, 0.5), (0.6, 0.6, 0.6))
    bare, shaded = (
        _png(Figure("f", "t", "line", (flat,), "x", "mIoU", y_from_zero=True)),
        _png(Figure("f", "t", "line", (banded,), "x", "mIoU", y_from_zero=True)),
    )
    assert bare.shape == shaded.shape and (bare != shaded).any()  # the band adds pixels, nothing moves

    from matplotlib.figure import Figure as MplFigure

    from benchmark.report.draw import MIN_Y_SPAN, _lines, _y_range

    for from_zero in (True, False):
        ax = MplFigure().add_subplot()
        figure = Figure("f", "t", "line", (flat,), "x", "score", y_from_zero=from_zero)
        _lines(ax, figure.series)
        _y_range(ax, figure)
        low, high = ax.get_ylim()
        assert high - low >= MIN_Y_SPAN - 1e-9 and (low == 0.0) == from_zero
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]


def test_ablation_figure_has_readable_legend_and_stored_bands(tmp_path):
    store = db.connect(tmp_path)
    model = store.get_or_create_model("toy/weights", "r", "diffusion")
    run = store.create_run("r1", "shapes", model.id, {})
    for name, what, lo in (("steps-up-to", "first j steps only", 0.4), ("steps-from", "last j steps only", 0.3)):
        store.upsert_score(
            run.id,
            "shapes",
            "daam-render@0.4",
            "ablation",
            f"render/shape/{name}",
            0.55,
            ci_low=0.5,
            ci_high=0.6,
            n=24,
            details={
                "kind": "steps",
                "x": [2, 5],
                "miou": [0.5, 0.55],
                "ci_low": [lo, None],
                "ci_high": [0.6, None],
                "what": what,
            },
        )
    report = build_report(store, tmp_path)
    figure = next(f for f in report.figures() if f.key == "ablation-steps")
    assert [s.label for s in figure.series] == ["first j steps only", "last j steps only"]
    assert figure.title == "ablation over steps: shapes / weights, shapes study, DAAM-0.4 (real renders), shape"
    assert figure.series[0].low == (0.4, None) and figure.series[1].high == (0.6, None)
    assert figure.y_from_zero
    table = next(t for t in report.tables() if t.key == "ablation")
    assert table.rows[0].cells[0].ci_low == 0.5
    store.close()
