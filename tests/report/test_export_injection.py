"""CSV exports cannot carry live spreadsheet formulas (OWASP CSV injection); numbers stay numbers."""

import csv

import pandas as pd

from benchmark.report.document import Cell, Column, Report, Row, Section, Table
from benchmark.report.export import export_tables, neutralise_cell


def _report() -> Report:
    columns = (Column("mIoU", group='=HYPERLINK("http://x")'), Column("note"))
    rows = tuple(
        Row(label, (Cell(value=value, ci_low=value, ci_high=value, n=3), Cell(text=text)))
        for label, value, text in [
            ("=cmd|' /C calc'!A0", -0.5, "+1+1"),
            ("-2+3", 0.25, "@SUM(A1:A2)"),
            ("\tleading tab", 1.0, "-x"),
            ("plain-run", -1.0, "fine - here"),
        ]
    )
    table = Table("runs", "Runs", "run", columns, rows)
    return Report("t", "sqlite://", ("a",), (Section("s", "S", tables=(table,)),))


def test_neutralise_cell_quotes_only_formula_text():
    for text in ("=1+1", "+1", "-1", "@x", "\tx", "\rx"):
        assert neutralise_cell(text) == "'" + text
    for value in ("plain", "a=b", "", -1.5, 3, None):
        assert neutralise_cell(value) == value


def test_csv_cells_and_headers_cannot_start_a_formula(tmp_path):
    (path,) = export_tables(_report(), tmp_path, parquet=False)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    cells = [c for row in rows for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert [r[0] for r in rows[1:]] == ["'=cmd|' /C calc'!A0", "'-2+3", "'\tleading tab", "plain-run"]
    assert rows[0][1] == '\'=HYPERLINK("http://x") / mIoU'
    frame = pd.read_csv(path)
    assert frame.iloc[:, 1].tolist() == [-0.5, 0.25, 1.0, -1.0]  # negative numbers stay numbers
    assert frame["note"].tolist() == ["'+1+1", "'@SUM(A1:A2)", "'-x", "fine - here"]
