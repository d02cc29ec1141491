"""The report as plain data: sections of tables, figures and galleries, built before rendering.

Everything here is a frozen dataclass holding stored numbers and user text as they are; the
renderers (``benchmark.report.render``) own all formatting and escaping, so one ``Report``
becomes HTML, Markdown and CSV with the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Cell:
    """A table cell: a stored score (value, interval, n) or, for metadata, plain text."""

    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    text: str | None = None
    best: bool = False  # best value of its column (only where the metric has a direction)

    @property
    def is_empty(self) -> bool:
        return self.value is None and self.text is None


EMPTY = Cell()


@dataclass(frozen=True)
class Column:
    """A table column; ``group`` is the header spanning several columns (a run, a split)."""

    label: str
    group: str = ""

    @property
    def full_label(self) -> str:
        return f"{self.group} / {self.label}" if self.group else self.label


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    """Rows of cells under columns; ``key`` names the CSV file and the HTML element id."""

    key: str
    title: str
    row_header: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    note: str = ""

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row.cells) != len(self.columns):
                raise ValueError(
                    f"table {self.key!r}: row {row.label!r} has {len(row.cells)} cells for {len(self.columns)} columns"
                )

    @property
    def groups(self) -> list[tuple[str, int]]:
        """Consecutive column groups with their spans, for a two-level header."""
        spans: list[tuple[str, int]] = []
        for column in self.columns:
            if spans and spans[-1][0] == column.group:
                spans[-1] = (column.group, spans[-1][1] + 1)
            else:
                spans.append((column.group, 1))
        return spans


@dataclass(frozen=True)
class Series:
    """One line or one set of bars: y over x, with an optional interval per point."""

    label: str
    x: tuple[str | float, ...]
    y: tuple[float, ...]
    low: tuple[float | None, ...] = ()
    high: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class Figure:
    """A plot described by its data; drawn (matplotlib) only when rendered."""

    key: str
    title: str
    kind: Literal["line", "bar"]
    series: tuple[Series, ...]
    xlabel: str
    ylabel: str
    note: str = ""
    # The y-axis starts at 0 (shares such as mIoU): a small difference then looks small, not a slope
    y_from_zero: bool = False


@dataclass(frozen=True)
class Panel:
    """One picture of a gallery item (the image, the DAAM overlay, a stored mask) as PNG bytes."""

    label: str
    png: bytes


@dataclass(frozen=True)
class GalleryItem:
    """One stored example (a word of a generation) with the IoU the scorer gave it, or, for a run
    whose scorers stored no examples, a sample generation (``word``: its mapped words, comma-separated)."""

    rank: Literal["best", "worst", "sample"]
    prompt: str
    word: str
    occurrence: int
    iou: float | None
    generation_id: int
    panels: tuple[Panel, ...]
    problems: tuple[str, ...] = ()  # files that could not be read; the item is still shown


@dataclass(frozen=True)
class Gallery:
    key: str
    title: str
    items: tuple[GalleryItem, ...]
    # The overlays' colour map from 0 to 1 (hex colours, evenly spaced), drawn as each item's colour bar
    colour_bar: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """One part of the report; ``empty_note`` replaces the content when nothing is stored."""

    key: str
    title: str
    intro: str = ""
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()
    galleries: tuple[Gallery, ...] = ()
    empty_note: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.tables or self.figures or self.galleries)


@dataclass(frozen=True)
class Report:
    title: str
    source: str  # where the scores were read from (database URL, password hidden)
    runs: tuple[str, ...]  # run names, in report order
    sections: tuple[Section, ...]
    notes: tuple[str, ...] = ()

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]

    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]
