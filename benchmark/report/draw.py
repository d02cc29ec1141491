"""Drawing a ``Figure`` as PNG bytes with matplotlib's Agg canvas (no pyplot, no global state).

Legends sit to the right of the axes, clear of the tick labels; lines carry their stored 95%
interval as a band and bars as error bars; integer x values (steps) get integer ticks; a share
axis (``Figure.y_from_zero``) starts at 0 and any other line axis spans at least ``MIN_Y_SPAN``,
so noise is not drawn as a slope.
"""

from __future__ import annotations

import io
import textwrap
from functools import lru_cache

import numpy as np

from benchmark.report.document import Figure, Series
from benchmark.report.formatting import format_x
from benchmark.report.tables import distinct

SIZE = (7.0, 3.8)  # inches, the axes and their labels; the legend widens the picture
DPI = 100
MIN_Y_SPAN = 0.2  # a line figure's y-axis spans at least this much
MAX_INTEGER_TICKS = 12  # integer x values up to this many get a tick each
TITLE_WIDTH, LEGEND_WIDTH = 70, 34  # characters per line before wrapping


def _plain(text: str) -> str:
    """Labels come from users: a '$' would switch matplotlib to math mode (and can fail to parse)."""
    return text.replace("$", r"\$")


def _wrapped(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(_plain(text), width, break_on_hyphens=False)) or _plain(text)


def _errors(s: Series) -> np.ndarray | None:
    if not s.low or not s.high:
        return None
    lower = [0.0 if lo is None else max(y - lo, 0.0) for y, lo in zip(s.y, s.low)]
    upper = [0.0 if hi is None else max(hi - y, 0.0) for y, hi in zip(s.y, s.high)]
    return np.array([lower, upper]) if any(lower) or any(upper) else None


def _slanted(ax, labels: list[str]) -> None:
    """Category tick labels, slanted and anchored at their tick when many or long, so they never overlap."""
    slant = len(labels) > 6 or sum(len(x) for x in labels) > 60
    ax.set_xticklabels(
        [_plain(c) for c in labels],
        rotation=30 if slant else 0,
        ha="right" if slant else "center",
        rotation_mode="anchor" if slant else "default",
    )


def _bars(ax, series: tuple[Series, ...]) -> None:
    categories = distinct(format_x(x) for s in series for x in s.x)
    width = 0.8 / max(len(series), 1)
    for i, s in enumerate(series):
        pos = np.array([categories.index(format_x(x)) for x in s.x], dtype=float) - 0.4 + width * (i + 0.5)
        ax.bar(pos, s.y, width, yerr=_errors(s), capsize=3, label=_wrapped(s.label, LEGEND_WIDTH))
    ax.set_xticks(range(len(categories)))
    _slanted(ax, categories)


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _band(ax, xs: list[float], s: Series, colour) -> None:
    """The stored per-point interval as a shaded band (gaps where a point has none)."""
    if not s.low or not s.high:
        return
    low = np.array([np.nan if v is None else v for v in s.low], dtype=float)
    high = np.array([np.nan if v is None else v for v in s.high], dtype=float)
    known = ~(np.isnan(low) | np.isnan(high))
    if known.any():
        ax.fill_between(xs, low, high, where=known, color=colour, alpha=0.2, linewidth=0)


def _lines(ax, series: tuple[Series, ...]) -> None:
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for s in series for x in s.x)
    categories = [] if numeric else distinct(format_x(x) for s in series for x in s.x)
    for s in series:
        xs = list(s.x) if numeric else [categories.index(format_x(x)) for x in s.x]
        (line,) = ax.plot(xs, s.y, marker="o", markersize=3, label=_wrapped(s.label, LEGEND_WIDTH))
        _band(ax, xs, s, line.get_color())
    if not numeric:
        ax.set_xticks(range(len(categories)))
        _slanted(ax, categories)
        return
    values = sorted({x for s in series for x in s.x})
    if all(_is_int(x) for x in values):  # steps: integer ticks, written as integers
        from matplotlib.ticker import MaxNLocator

        if len(values) <= MAX_INTEGER_TICKS:
            ax.set_xticks(values)
            ax.set_xticklabels([format_x(x) for x in values])
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _y_range(ax, figure: Figure) -> None:
    if figure.y_from_zero:
        ax.set_ylim(bottom=0.0)
    low, high = ax.get_ylim()
    if figure.kind == "line" and high - low < MIN_Y_SPAN:
        if figure.y_from_zero:
            ax.set_ylim(0.0, MIN_Y_SPAN)
        else:
            middle = (low + high) / 2
            ax.set_ylim(middle - MIN_Y_SPAN / 2, middle + MIN_Y_SPAN / 2)


@lru_cache(maxsize=64)
def figure_png(figure: Figure) -> bytes:
    """The figure as PNG bytes (cached: HTML and Markdown show the same drawing)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    (_bars if figure.kind == "bar" else _lines)(ax, figure.series)
    _y_range(ax, figure)
    ax.set_title(_wrapped(figure.title, TITLE_WIDTH), fontsize="medium")
    ax.set_xlabel(_plain(figure.xlabel))
    ax.set_ylabel(_plain(figure.ylabel))
    ax.grid(axis="y", alpha=0.3)
    if any(s.label for s in figure.series):
        # beside the axes, top-aligned: never over the data or the (slanted) tick labels
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    buffer = io.BytesIO()
    # "tight" grows the canvas to hold the legend beside the axes instead of shrinking the axes
    fig.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()
