"""Drawing a ``Figure`` as PNG bytes with matplotlib's Agg canvas (no pyplot, no global state)."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np

from benchmark.report.document import Figure, Series
from benchmark.report.tables import distinct

SIZE = (7.0, 3.8)  # inches
DPI = 100


def _plain(text: str) -> str:
    """Labels come from users: a '$' would switch matplotlib to math mode (and can fail to parse)."""
    return text.replace("$", r"\$")


def _errors(s: Series) -> np.ndarray | None:
    if not s.low or not s.high:
        return None
    lower = [0.0 if lo is None else max(y - lo, 0.0) for y, lo in zip(s.y, s.low)]
    upper = [0.0 if hi is None else max(hi - y, 0.0) for y, hi in zip(s.y, s.high)]
    return np.array([lower, upper]) if any(lower) or any(upper) else None


def _bars(ax, series: tuple[Series, ...]) -> None:
    categories = distinct(str(x) for s in series for x in s.x)
    width = 0.8 / max(len(series), 1)
    for i, s in enumerate(series):
        pos = np.array([categories.index(str(x)) for x in s.x], dtype=float) - 0.4 + width * (i + 0.5)
        ax.bar(pos, s.y, width, yerr=_errors(s), capsize=3, label=_plain(s.label))
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels(
        [_plain(c) for c in categories],
        rotation=30 if len(categories) > 6 else 0,
        ha="right" if len(categories) > 6 else "center",
    )


def _lines(ax, series: tuple[Series, ...]) -> None:
    numeric = all(isinstance(x, (int, float)) for s in series for x in s.x)
    categories = [] if numeric else distinct(str(x) for s in series for x in s.x)
    for s in series:
        xs = list(s.x) if numeric else [categories.index(str(x)) for x in s.x]
        ax.plot(xs, s.y, marker="o", markersize=3, label=_plain(s.label))
    if not numeric:
        ax.set_xticks(range(len(categories)))
        ax.set_xticklabels([_plain(c) for c in categories], rotation=30 if len(categories) > 6 else 0)


@lru_cache(maxsize=64)
def figure_png(figure: Figure) -> bytes:
    """The figure as PNG bytes (cached: HTML and Markdown show the same drawing)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    (_bars if figure.kind == "bar" else _lines)(ax, figure.series)
    ax.set_title(_plain(figure.title))
    ax.set_xlabel(_plain(figure.xlabel))
    ax.set_ylabel(_plain(figure.ylabel))
    ax.grid(axis="y", alpha=0.3)
    if len(figure.series) > 1 or (figure.series and figure.series[0].label):
        ax.legend(
            fontsize="small",
            loc="upper center",
            bbox_to_anchor=(0.5, -0.18),
            frameon=False,
            ncol=2 if len(figure.series) > 4 else 1,
        )
    buffer = io.BytesIO()
    # "tight" grows the canvas to hold the legend below the axes instead of shrinking the axes
    fig.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()
