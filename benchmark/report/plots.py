"""Figure data from scores: bars with intervals and lines from stored curves (no drawing here)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from benchmark.report.document import Series
from benchmark.report.stored import ReportError
from benchmark.report.tables import distinct
from db import Score


def bar_series(
    scores: Sequence[Score],
    x_of: Callable[[Score], str],
    series_of: Callable[[Score], str],
    order: Callable[[Score], Any],
) -> tuple[Series, ...]:
    """One series per ``series_of`` label, one bar per ``x_of`` category, with stored intervals."""
    ordered = sorted(scores, key=order)
    out = []
    for label in distinct(series_of(s) for s in ordered):
        mine = [s for s in ordered if series_of(s) == label]
        out.append(
            Series(
                label,
                tuple(x_of(s) for s in mine),
                tuple(s.value for s in mine),
                tuple(s.ci_low for s in mine),
                tuple(s.ci_high for s in mine),
            )
        )
    return tuple(out)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReportError(f"{what} must be a number, got {value!r}")
    return float(value)


def stored_curve(score: Score, x_key: str, y_key: str = "miou") -> tuple[tuple[Any, ...], tuple[float, ...]]:
    """The (x, y) lists a scorer stored in ``details``; a malformed curve is a ReportError."""
    where = (
        f"score {score.id} ({score.study} / {score.method} / {score.metric} / {score.subset}) of run id {score.run_id}"
    )
    xs, ys = score.details.get(x_key), score.details.get(y_key)
    if not isinstance(xs, list) or not isinstance(ys, list):
        raise ReportError(f"{where}: details must hold lists {x_key!r} and {y_key!r}, got keys {sorted(score.details)}")
    if len(xs) != len(ys) or not xs:
        raise ReportError(
            f"{where}: details {x_key!r} and {y_key!r} must be non-empty and of one length, got {len(xs)} and {len(ys)}"
        )
    for x in xs:
        if not isinstance(x, (str, int, float)) or isinstance(x, bool):
            raise ReportError(f"{where}: {x_key!r} entries must be numbers or labels, got {x!r}")
    return tuple(xs), tuple(_number(y, f"{where}: {y_key!r} entry") for y in ys)
