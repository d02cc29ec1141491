"""Rendering a ``Report``: one self-contained HTML page, or Markdown with PNG files beside it.

Every piece of text from the store (prompts, words, run, model and method names, settings) is
escaped here and nowhere else: ``html.escape`` for HTML, and for Markdown the same plus
backslashes before Markdown's own markup, because Markdown viewers pass raw HTML through.
The page allows no scripts at all (Content-Security-Policy), in case escaping ever slips.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from string import Template

from benchmark.report.document import Cell, Figure, Gallery, GalleryItem, Report, Section, Table
from benchmark.report.draw import figure_png
from benchmark.report.formatting import format_cell, format_interval, format_number, format_x

NUMBER_RULE = (
    "Numbers are the stored scores written with three decimals (scientific notation below 0.001), "
    "95% intervals in brackets, n = observations; the best value of a ranked column is in bold."
)

_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>$css</style>
</head>
<body>
<header>
<h1>$title</h1>
<p class="source">Scores read from <code>$source</code> for runs: $runs.</p>
$notes
</header>
<nav><ol>$toc</ol></nav>
<main>
$sections
</main>
<footer><p>$rule</p></footer>
</body>
</html>
""")

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; vertical-align: top; }
td { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { white-space: normal; max-width: 40em; word-break: break-word; }
td.best { background: #e8f4e8; }
tbody th { text-align: left; font-weight: 600; }
.n { color: #777; font-size: 0.8em; margin-left: 0.4em; }
.empty, .intro, .source { color: #555; }
figure { margin: 1em 0; }
figure img { max-width: 100%; }
.table-wrap { overflow-x: auto; max-width: 100%; }
.items { display: flex; flex-wrap: wrap; gap: 1em; }
article.item { border: 1px solid #ddd; padding: 0.5em; max-width: 60em; }
article.item.best h4 { color: #1a6b1a; }
article.item.worst h4 { color: #9b1c1c; }
.panels { display: flex; flex-wrap: wrap; gap: 0.5em; }
.panels figure { margin: 0; }
.panels img { width: 160px; image-rendering: pixelated; }
.colorbar { display: flex; gap: 0.3em; align-items: stretch; height: 160px; font-size: 0.75em; color: #555; }
.colorbar .bar { width: 12px; border: 1px solid #ccc; }
.colorbar .ticks { display: flex; flex-direction: column; justify-content: space-between; }
.prompt { font-style: italic; word-break: break-word; }
.problems { color: #9b1c1c; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# ---------------------------------------------------------------------------------- HTML
def _html_cell(cell: Cell) -> str:
    if cell.text is not None:
        return f'<td class="text">{_e(cell.text)}</td>'
    if cell.value is None:
        return f'<td class="missing">{_e(format_cell(cell))}</td>'
    attrs = [f'data-value="{_e(repr(cell.value))}"']
    for name, value in (("ci-low", cell.ci_low), ("ci-high", cell.ci_high), ("n", cell.n)):
        if value is not None:
            attrs.append(f'data-{name}="{_e(repr(value))}"')
    if cell.best:
        attrs.append('class="best"')
    text = f'<span class="v">{_e(format_cell(cell))}</span>'
    if cell.best:
        text = f"<strong>{text}</strong>"
    if cell.n is not None:
        text += f'<span class="n">n={cell.n}</span>'
    return f"<td {' '.join(attrs)}>{text}</td>"


def _html_table(table: Table) -> str:
    grouped = any(c.group for c in table.columns)
    head = []
    if grouped:
        spans = "".join(f'<th colspan="{n}" scope="colgroup">{_e(g)}</th>' for g, n in table.groups)
        head.append(f'<tr><th rowspan="2" scope="col">{_e(table.row_header)}</th>{spans}</tr>')
        head.append("<tr>" + "".join(f'<th scope="col">{_e(c.label)}</th>' for c in table.columns) + "</tr>")
    else:
        head.append(
            f'<tr><th scope="col">{_e(table.row_header)}</th>'
            + "".join(f'<th scope="col">{_e(c.label)}</th>' for c in table.columns)
            + "</tr>"
        )
    body = "".join(
        f'<tr><th scope="row">{_e(r.label)}</th>{"".join(_html_cell(c) for c in r.cells)}</tr>' for r in table.rows
    )
    note = f'<p class="note">{_e(table.note)}</p>' if table.note else ""
    return (  # wide tables (many runs or subsets) scroll sideways inside their box, not the page
        f'<div class="table-wrap"><table id="table-{_e(table.key)}" class="scores" data-key="{_e(table.key)}">'
        f"<caption>{_e(table.title)}</caption><thead>{''.join(head)}</thead><tbody>{body}</tbody></table></div>{note}"
    )


def _figure_points(figure: Figure) -> list[tuple[str, str, float, str]]:
    points = []
    for s in figure.series:
        for i, (x, y) in enumerate(zip(s.x, s.y)):
            low = s.low[i] if i < len(s.low) else None
            high = s.high[i] if i < len(s.high) else None
            points.append((s.label, format_x(x), y, format_interval(low, high)))
    return points


def _html_figure(figure: Figure) -> str:
    points = _figure_points(figure)
    intervals = any(interval for *_, interval in points)  # no column of dashes where nothing stored one
    rows = "".join(
        f'<tr><td class="text">{_e(label or figure.title)}</td><td class="text">{_e(x)}</td>'
        f'<td data-value="{_e(repr(y))}">{_e(format_number(y))}</td>'
        + (f"<td>{_e(interval)}</td>" if intervals else "")
        + "</tr>"
        for label, x, y, interval in points
    )
    data = (
        f'<details><summary>data</summary><table class="figure-data" data-figure="{_e(figure.key)}">'
        f"<thead><tr><th>series</th><th>{_e(figure.xlabel)}</th><th>{_e(figure.ylabel)}</th>"
        + ("<th>95% interval</th>" if intervals else "")
        + f"</tr></thead><tbody>{rows}</tbody></table></details>"
    )
    return (
        f'<figure id="figure-{_e(figure.key)}"><img alt="{_e(figure.title)}" src="{_data_uri(figure_png(figure))}">'
        f"<figcaption>{_e(figure.title)}</figcaption>{data}</figure>"
    )


def _item_heading(item: GalleryItem) -> str:
    if item.rank == "sample":
        return f"sample: {item.word}" if item.word else "sample"
    iou = "" if item.iou is None else f", IoU {format_number(item.iou)}"
    return f"{item.rank}: \u201c{item.word}\u201d (occurrence {item.occurrence}){iou}"


def _html_colour_bar(colours: tuple[str, ...]) -> str:
    """The overlays' scale, drawn in CSS (a gradient; no picture): 1 at the top, 0 at the bottom."""
    if not colours:
        return ""
    gradient = ", ".join(_e(c) for c in colours)
    return (
        '<div class="colorbar" title="DAAM value: 0 (transparent) to 1 (the word\'s maximum)">'
        f'<div class="bar" style="background: linear-gradient(to top, {gradient})"></div>'
        '<div class="ticks"><span>1</span><span>0.5</span><span>0</span></div></div>'
    )


def _html_gallery(gallery: Gallery) -> str:
    items = []
    for item in gallery.items:
        pictures = [
            f'<figure><img alt="{_e(p.label)}" src="{_data_uri(p.png)}"><figcaption>{_e(p.label)}</figcaption></figure>'
            for p in item.panels
        ]
        last_map = max((i for i, p in enumerate(item.panels) if p.label.startswith("DAAM")), default=None)
        if last_map is not None:  # the scale right after the word maps, before any mask
            pictures.insert(last_map + 1, _html_colour_bar(gallery.colour_bar))
        panels = "".join(pictures)
        problems = (
            '<ul class="problems">' + "".join(f"<li>{_e(p)}</li>" for p in item.problems) + "</ul>"
            if item.problems
            else ""
        )
        items.append(
            f'<article class="item {_e(item.rank)}" data-generation="{item.generation_id}">'
            f'<h4>{_e(_item_heading(item))}</h4><p class="prompt">{_e(item.prompt)}</p>'
            f'<p class="meta">generation {item.generation_id}</p><div class="panels">{panels}</div>'
            f"{problems}</article>"
        )
    return (
        f'<div class="gallery" id="gallery-{_e(gallery.key)}"><h3>{_e(gallery.title)}</h3>'
        f'<div class="items">{"".join(items)}</div></div>'
    )


def _html_section(section: Section) -> str:
    parts = [f'<section id="section-{_e(section.key)}"><h2>{_e(section.title)}</h2>']
    if section.intro:
        parts.append(f'<p class="intro">{_e(section.intro)}</p>')
    if section.is_empty:
        parts.append(f'<p class="empty">{_e(section.empty_note)}</p>')
    parts += [_html_table(t) for t in section.tables]
    parts += [_html_figure(f) for f in section.figures]
    parts += [_html_gallery(g) for g in section.galleries]
    parts.append("</section>")
    return "\n".join(parts)


def render_html(report: Report) -> str:
    """The whole report as one HTML page; figures and pictures are embedded as base64 PNG."""
    notes = "".join(f'<p class="note">{_e(n)}</p>' for n in report.notes)
    toc = "".join(f'<li><a href="#section-{_e(s.key)}">{_e(s.title)}</a></li>' for s in report.sections)
    return _PAGE.substitute(
        title=_e(report.title),
        css=_CSS,
        source=_e(report.source),
        runs=", ".join(f"<code>{_e(r)}</code>" for r in report.runs),
        notes=notes,
        toc=toc,
        sections="\n".join(_html_section(s) for s in report.sections),
        rule=_e(NUMBER_RULE),
    )


# ------------------------------------------------------------------------------ Markdown
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")  # inline markup; "<" and ">" are escaped as HTML
_MD_LINE_START = re.compile(r"^(\d*)([-+=.)])(?=\s|$|[-=])")  # "- x", "1. x": a list (or underline) at line start


def md_text(text: object) -> str:
    """User text made inert in Markdown: markup characters backslashed, then ``&``, ``<`` and ``>``
    HTML-escaped (quotes are harmless outside tags and their entities would hold a ``#``), one line."""
    flat = html.escape(_MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split())), quote=False)
    return _MD_LINE_START.sub(r"\1\\\2", flat)


def _md_cell(cell: Cell) -> str:
    if cell.text is not None:
        return md_text(cell.text)
    text = format_cell(cell)
    if cell.best:
        text = f"**{text}**"
    if cell.n is not None:
        text += f" (n={cell.n})"
    return text.replace("|", "\\|")


def _md_table(table: Table) -> list[str]:
    header = [md_text(table.row_header)] + [md_text(c.full_label) for c in table.columns]
    lines = [
        f"**{md_text(table.title)}**",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * len(table.columns)) + "|",
    ]
    lines += ["| " + " | ".join([md_text(r.label)] + [_md_cell(c) for c in r.cells]) + " |" for r in table.rows]
    if table.note:
        lines += ["", md_text(table.note)]
    return lines + [""]


def render_markdown(report: Report, figure_dir: str | Path) -> str:
    """The report as Markdown; figures and gallery pictures are written as PNG files into
    ``figure_dir``, which must sit beside the Markdown file (links are ``<folder name>/<file>``)."""
    folder = Path(figure_dir)
    folder.mkdir(parents=True, exist_ok=True)

    def picture(name: str, png: bytes, alt: str) -> str:
        (folder / name).write_bytes(png)
        return f"![{md_text(alt)}]({folder.name}/{name})"

    lines = [
        f"# {md_text(report.title)}",
        "",
        f"Scores read from `{report.source.replace('`', '')}` for runs: "
        + ", ".join(md_text(r) for r in report.runs)
        + ".",
        "",
    ]
    lines += [f"> {md_text(n)}" for n in report.notes] + ([""] if report.notes else [])
    for section in report.sections:
        lines += [f"## {md_text(section.title)}", ""]
        if section.intro:
            lines += [md_text(section.intro), ""]
        if section.is_empty:
            lines += [f"_{md_text(section.empty_note)}_", ""]
        for table in section.tables:
            lines += _md_table(table)
        for figure in section.figures:
            lines += [picture(f"{figure.key}.png", figure_png(figure), figure.title), ""]
        for gallery in section.galleries:
            lines += [f"### {md_text(gallery.title)}", ""]
            for i, item in enumerate(gallery.items):
                lines += [
                    f"- **{md_text(_item_heading(item))}**, generation {item.generation_id}: {md_text(item.prompt)}",
                    "",
                ]
                pictures = [
                    picture(f"gallery-{gallery.key}-{i}-{j}.png", p.png, p.label) for j, p in enumerate(item.panels)
                ]
                if pictures:
                    lines += ["  " + " ".join(pictures), ""]
                lines += [f"  - {md_text(p)}" for p in item.problems] + ([""] if item.problems else [])
    lines += ["---", "", md_text(NUMBER_RULE), ""]
    return "\n".join(lines)
