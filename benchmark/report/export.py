"""Tables as CSV (and parquet where pyarrow is importable) through pandas, for further analysis.

Each numeric column becomes four: ``<column>``, ``<column> ci_low``, ``<column> ci_high`` and
``<column> n``, holding the stored numbers unrounded; text columns stay one column.

CSV files are opened by spreadsheets, which run a cell starting with ``=``, ``+``, ``-`` or ``@``
(or tab, carriage return) as a formula: such text cells and headers (a run named ``=HYPERLINK(...)``)
get a leading single quote, OWASP's rule for CSV injection. Numbers stay numbers (-0.5 is not
quoted). Parquet is typed, not evaluated, and keeps the text exactly.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from benchmark.report.document import Report, Table

PARQUET_MISSING = "Parquet export skipped: pyarrow is not installed (the tables are written as CSV only)."


def parquet_available() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


def table_frame(table: Table):
    """The table as a pandas DataFrame, one row per table row, stored values unrounded."""
    import pandas as pd

    data: dict[str, list] = {table.row_header: [r.label for r in table.rows]}
    for j, column in enumerate(table.columns):
        name = column.full_label
        if name in data:
            raise ValueError(f"table {table.key!r} has two columns called {name!r}")
        cells = [r.cells[j] for r in table.rows]
        if any(c.text is not None for c in cells):
            data[name] = [c.text for c in cells]
            continue
        data[name] = [c.value for c in cells]
        data[f"{name} ci_low"] = [c.ci_low for c in cells]
        data[f"{name} ci_high"] = [c.ci_high for c in cells]
        data[f"{name} n"] = pd.array([c.n for c in cells], dtype="Int64")
    return pd.DataFrame(data)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value):
    """A text cell a spreadsheet would evaluate gets a leading ``'``; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe(frame):
    """A copy of ``frame`` whose text cells and column names cannot run as formulas."""
    import pandas as pd

    safe = frame.rename(columns=neutralise_cell)
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):  # numbers, negative ones too, stay numbers
            safe[column] = safe[column].map(neutralise_cell)
    return safe


def export_tables(report: Report, folder: str | Path, parquet: bool | None = None) -> list[Path]:
    """Write ``<key>.csv`` (and ``<key>.parquet`` when ``parquet``; default: if pyarrow is
    importable) for every table of the report; returns the written paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    parquet = parquet_available() if parquet is None else parquet
    written = []
    for table in report.tables():
        frame = table_frame(table)
        written.append(out / f"{table.key}.csv")
        spreadsheet_safe(frame).to_csv(written[-1], index=False)
        if parquet:
            written.append(out / f"{table.key}.parquet")
            frame.to_parquet(written[-1], index=False)
    return written
