"""The documented number rule and the Markdown escaping of user text."""

from __future__ import annotations

import pytest

from benchmark.report.document import Cell
from benchmark.report.formatting import format_cell, format_number, slug
from benchmark.report.render import md_text


@pytest.mark.parametrize(
    "value, text",
    [
        (0.6471, "0.647"),
        (0.0, "0.000"),
        (4.2, "4.200"),
        (-0.22, "-0.220"),
        (0.001, "0.001"),
        (3.2e-05, "3.20e-05"),
        (2_500_000.0, "2.50e+06"),
        (float("nan"), "nan"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


def test_format_cell():
    assert format_cell(Cell(0.5, 0.41, 0.6, 12)) == "0.500 [0.410, 0.600]"
    assert format_cell(Cell(0.5)) == "0.500"
    assert format_cell(Cell(text="x")) == "x"
    assert format_cell(Cell()) == "\u2014"


def test_markdown_text_is_inert():
    assert md_text('<b>x</b> & "q"') == '&lt;b&gt;x&lt;/b&gt; &amp; "q"'
    assert md_text("a|b *c* [d](e) `f` #g") == r"a\|b \*c\* \[d\](e) \`f\` \#g"
    assert md_text("- item\nnext") == r"\- item next"
    assert md_text("1. first") == r"1\. first"
    assert md_text("0.4-0.6") == "0.4-0.6"


def test_slug():
    assert slug("tau sweep (Segmentation)") == "tau-sweep-segmentation"
    assert slug("<>") == "item"
