"""Reading report.html back with the standard library's parser, independently of the renderer."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class ParsedCell:
    attrs: dict[str, str | None]
    text: str = ""

    @property
    def value(self) -> float | None:
        v = self.attrs.get("data-value")
        return None if v is None else float(v)


@dataclass
class ParsedTable:
    key: str
    kind: str  # "scores" or "figure-data"
    head: list[list[str]] = field(default_factory=list)  # header rows of cell texts
    rows: list[tuple[str, list[ParsedCell]]] = field(default_factory=list)

    def cell(self, row: str, column: int) -> ParsedCell:
        return next(cells for label, cells in self.rows if label == row)[column]


class ReportParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.start_tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: dict[str, ParsedTable] = {}
        self.texts: list[str] = []
        self._table: ParsedTable | None = None
        self._section = ""
        self._row: list | None = None
        self._cell: ParsedCell | None = None
        self._cell_tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.start_tags.append((tag, a))
        if tag == "table":
            kind = "figure-data" if a.get("class") == "figure-data" else "scores"
            key = a.get("data-figure") if kind == "figure-data" else a.get("data-key")
            self._table = self.tables.setdefault(f"{kind}:{key}", ParsedTable(str(key), kind))
        elif tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell, self._cell_tag = ParsedCell(a), tag

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._section == "thead":
                self._table.head.append([c.text for c in self._row])
            elif self._row:
                self._table.rows.append((self._row[0].text, self._row[1:]))
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._cell is not None:
            self._cell.text += data


def parse_report(text: str) -> ReportParser:
    parser = ReportParser()
    parser.feed(text)
    parser.close()
    return parser
