"""How numbers are written in the report (one rule for HTML, Markdown and tests).

Rule: values are written with three decimals (``0.647``), as stored (no rescaling to the
paper's points); a value whose magnitude is below 0.001 but not zero (p-values) or at least
one million is written in scientific notation with three significant digits (``3.20e-05``).
Intervals follow the value as ``[low, high]``; counts, and any value stored as an integer, are
integers (``30``, not ``30.000``). A figure's x positions (steps, taus, subsets) are written as
stored: integers as integers, other numbers in their shortest form (``0.05``), labels unchanged. The HTML also carries each
stored value unrounded in a ``data-value`` attribute so the page can be checked exactly.
"""

from __future__ import annotations

import math
import re

from benchmark.report.document import Cell

DASH = "\u2014"  # a missing cell


def format_number(x: float) -> str:
    if isinstance(x, int) and not isinstance(x, bool):  # stored as an integer (a step, a count)
        return str(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x != 0 and not 1e-3 <= abs(x) < 1e6:
        return f"{x:.2e}"
    return f"{x:.3f}"


def format_x(x: object) -> str:
    """A figure's x position: ``10`` for a step, ``0.05`` for a tau, a label unchanged."""
    if isinstance(x, str):
        return x
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, int):
        return str(x)
    return f"{x:.6g}"


def format_interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    return f"[{format_number(low)}, {format_number(high)}]"


def format_cell(cell: Cell) -> str:
    """``value [low, high]``, the text of a text cell, or a dash when empty (n is shown apart)."""
    if cell.text is not None:
        return cell.text
    if cell.value is None:
        return DASH
    interval = format_interval(cell.ci_low, cell.ci_high)
    return f"{format_number(cell.value)} {interval}".strip()


def slug(text: str) -> str:
    """A file-name and id-safe key: lower-case letters, digits and single hyphens."""
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out or "item"
