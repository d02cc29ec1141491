"""Figure data from scores: bars with intervals and lines from stored curves (no drawing here)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from benchmark.report.document import Series
from benchmark.report.labels import split_common, with_common
from benchmark.report.stored import ReportError
from benchmark.report.tables import distinct
from db import Score

Line = tuple[tuple[str, ...], Series]  # a series with the parts of its label (run, method, ...)


def named(title: str, lines: Sequence[Line]) -> tuple[str, tuple[Series, ...]]:
    """The figure's title with the label parts all its series share, and each series labelled by
    the parts that differ (``labels.split_common``)."""
    common, labels = split_common([parts for parts, _ in lines])
    return with_common(title, common), tuple(replace(s, label=label) for (_, s), label in zip(lines, labels))


def bar_series(
    scores: Sequence[Score],
    x_of: Callable[[Score], str],
    parts_of: Callable[[Score], tuple[str, ...]],
    order: Callable[[Score], Any],
) -> list[Line]:
    """One series per ``parts_of`` label parts, one bar per ``x_of`` category, with stored intervals
    (label them with ``named``)."""
    ordered = sorted(scores, key=order)
    out = []
    for parts in distinct(parts_of(s) for s in ordered):
        mine = [s for s in ordered if parts_of(s) == parts]
        out.append(
            (
                parts,
                Series(
                    "",
                    tuple(x_of(s) for s in mine),
                    tuple(s.value for s in mine),
                    tuple(s.ci_low for s in mine),
                    tuple(s.ci_high for s in mine),
                ),
            )
        )
    return out


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


def stored_interval(score: Score, n: int) -> tuple[tuple[float | None, ...], tuple[float | None, ...]]:
    """The per-point 95% interval a scorer stored beside a curve (``details`` lists ``ci_low`` and
    ``ci_high``, None where a point has none); ``((), ())`` when it stored none."""
    lows, highs = score.details.get("ci_low"), score.details.get("ci_high")
    if lows is None and highs is None:
        return (), ()
    where = (
        f"score {score.id} ({score.study} / {score.method} / {score.metric} / {score.subset}) of run id {score.run_id}"
    )
    if not isinstance(lows, list) or not isinstance(highs, list) or len(lows) != n or len(highs) != n:
        raise ReportError(f"{where}: details 'ci_low' and 'ci_high' must be lists of one entry per point ({n})")

    def bound(v: Any) -> float | None:
        return None if v is None else _number(v, f"{where}: interval bound")

    return tuple(bound(v) for v in lows), tuple(bound(v) for v in highs)
