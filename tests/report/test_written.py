"""The written report (HTML, Markdown, PNGs, CSV) parsed back and checked against the store."""

from __future__ import annotations

import base64
import io
import re

import pandas as pd
import pytest
from PIL import Image

from benchmark.report import write_report
from benchmark.report.document import Cell
from benchmark.report.export import PARQUET_MISSING, parquet_available
from benchmark.report.formatting import format_cell
from tests.report.bench import HOSTILE_PROMPT, HOSTILE_SUBSET
from tests.report.parse import parse_report

RUN_A = "coco-gen / stable-diffusion-2-base"
RUN_B = "unreal-gen / stable-diffusion-2-base"
TABLES = (
    "runs",
    "table-1",
    "toy-leaderboard",
    "tau-sweep",
    "ablation",
    "generation-accuracy",
    "mos-by-pos",
    "syntax",
    "cohyponym",
    "adjective",
    "other-scores",
)


@pytest.fixture(scope="module")
def written(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    paths = write_report(bench.store, bench.workspace, out, csv=True)
    html = paths["html"].read_text(encoding="utf-8")
    return paths, html, parse_report(html), paths["markdown"].read_text(encoding="utf-8")


def _stored(bench):
    return bench.store.scores(run_id=bench.run_a.id) + bench.store.scores(run_id=bench.run_b.id)


def _expected_text(score) -> str:
    return format_cell(Cell(score.value, score.ci_low, score.ci_high, score.n))


def test_every_table_is_present_with_paper_layout(written):
    paths, _, page, _ = written
    assert {k for k in page.tables if k.startswith("scores:")} == {f"scores:{k}" for k in TABLES}
    table1 = page.tables["scores:table-1"]
    assert table1.head == [["method", RUN_A, RUN_B], ["mIoU80", "mIoU-all", "mIoU80", "mIoU-all"]]
    assert [label for label, _ in table1.rows] == ["mask2former", "clipseg", "daam@0.4", "daam@0.5", "daam@0.3"]


def test_every_stored_score_is_in_a_table_cell_as_stored(bench, written):
    _, _, page, _ = written
    cells = [c for t in page.tables.values() if t.kind == "scores" for _, row in t.rows for c in row]
    for score in _stored(bench):
        matches = [
            c
            for c in cells
            if c.value == score.value
            and c.attrs.get("data-n") == (None if score.n is None else str(score.n))
            and c.text.startswith(_expected_text(score))
        ]
        assert matches, f"score {score.study}/{score.method}/{score.metric}/{score.subset} = {score.value} not shown"
        if score.ci_low is not None:
            assert any(float(c.attrs["data-ci-low"]) == score.ci_low for c in matches)


def test_table1_cells_equal_the_stored_scores_and_mark_the_best(bench, written):
    _, _, page, _ = written
    table1 = page.tables["scores:table-1"]
    stored = bench.store.scores(run_id=bench.run_a.id, study="segmentation", method="daam@0.4", metric="mIoU-all")[0]
    cell = table1.cell("daam@0.4", 1)
    assert cell.value == stored.value and cell.text == f"{_expected_text(stored)}n=300"
    assert cell.text.startswith("0.648 [0.628, 0.668]")
    for j in range(4):
        column = [cells[j] for _, cells in table1.rows]
        best = max(c.value for c in column)
        assert [c.attrs.get("class") == "best" for c in column] == [c.value == best for c in column]


def test_fisher_p_uses_scientific_notation_and_odds_ratio_is_shown(written):
    _, _, page, _ = written
    table = page.tables["scores:cohyponym"]
    assert table.cell("fisher-p: all", 0).text.startswith("3.20e-05")
    assert table.cell("odds ratio: all", 0).value == 0.41


def test_user_text_is_rendered_harmlessly(written):
    _, html, page, md = written
    assert not [a for tag, a in page.start_tags if tag == "script"]
    assert not [a for _, a in page.start_tags if any(k.startswith("on") for k in a)]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in html
    assert HOSTILE_PROMPT in page.texts  # shown verbatim to the reader
    assert HOSTILE_SUBSET in page.tables["scores:other-scores"].rows[0][0]
    assert "<script" not in md and "<img" not in md
    assert '&lt;script&gt;alert(1)&lt;/script&gt; &amp; "quotes"' in md


def test_pictures_are_embedded_png(written):
    _, html, page, _ = written
    images = [a for tag, a in page.start_tags if tag == "img"]
    figures = [a for tag, a in page.start_tags if tag == "figure" and str(a.get("id", "")).startswith("figure-")]
    assert len(figures) == 10  # 2 sweeps, 2 ablations, accuracy, MOS, share, 3 cohyponym plots
    assert len(images) == len(figures) + 4  # plus the gallery's image, overlay and two masks
    for a in images:
        src = a["src"]
        assert src.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image:
            assert image.format == "PNG"
    assert not re.search(r"(src|href)=\"(?!data:|#)", html)  # nothing outside the file


def test_figure_data_equals_stored_curves(bench, written):
    _, _, page, _ = written
    sweep = bench.store.scores(run_id=bench.run_a.id, study="segmentation", metric="mIoU-sweep")[0]
    rows = page.tables["figure-data:tau-sweep-segmentation"].rows
    assert [float(c[1].attrs["data-value"]) for _, c in rows] == sweep.details["miou"]


def test_markdown_has_the_same_numbers_and_its_figures(bench, written):
    paths, _, _, md = written
    for score in _stored(bench):
        assert _expected_text(score) in md, score
    links = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", md)
    assert len(links) == 14
    for link in links:
        assert (paths["markdown"].parent / link).is_file()


def test_csv_round_trips_the_stored_values(bench, written):
    paths, _, _, _ = written
    assert sorted(p.stem for p in paths["tables"].glob("*.csv")) == sorted(TABLES)
    frame = pd.read_csv(paths["tables"] / "table-1.csv").set_index("method")
    for score in bench.store.scores(study="segmentation", metric="mIoU80"):
        label = RUN_A if score.run_id == bench.run_a.id else RUN_B
        assert frame.loc[score.method, f"{label} / mIoU80"] == score.value
        assert frame.loc[score.method, f"{label} / mIoU80 ci_high"] == score.ci_high
        assert frame.loc[score.method, f"{label} / mIoU80 n"] == score.n
    runs = pd.read_csv(paths["tables"] / "runs.csv").set_index("run")
    assert runs.loc["coco-run", "code version"] == "abc1234"


def test_parquet_is_written_or_the_report_says_why_not(written):
    paths, html, _, md = written
    parquet = sorted(paths["tables"].glob("*.parquet"))
    if parquet_available():
        assert len(parquet) == len(TABLES) and PARQUET_MISSING not in md
    else:
        assert not parquet and PARQUET_MISSING in md and "Parquet export skipped" in html
