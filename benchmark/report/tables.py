"""Turning stored scores into tables: pivot, sort best first, mark the best of each column.

Nothing is computed from the scores except their order and which one is best in a column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from benchmark.report.document import EMPTY, Cell, Column, Row, Table
from db import Score


def direction_of(scores: Sequence[Score]) -> bool | None:
    """The direction the scores' metrics declare (``MetricInfo.higher_is_better``) when they all
    agree; None (nothing ranked or marked) when they differ or a metric has no preferred direction."""
    import benchmark.metrics.catalog  # noqa: F401  (registers the metrics)
    from core.registry import METRICS

    found = {METRICS.get(s.metric).higher_is_better if s.metric in METRICS else None for s in scores}
    return found.pop() if len(found) == 1 else None


def score_cell(score: Score) -> Cell:
    return Cell(value=score.value, ci_low=score.ci_low, ci_high=score.ci_high, n=score.n)


def subset_order(subset: str) -> tuple[Any, ...]:
    """ "all" first, then top-level subsets, then nested ones ("shape/held-out"), by name."""
    return (subset != "all", subset.count("/"), subset)


def distinct(values: Iterable[Any]) -> list[Any]:
    """Unique values in first-seen order."""
    return list(dict.fromkeys(values))


def pivot(
    key: str,
    title: str,
    row_header: str,
    scores: Sequence[Score],
    row_of: Callable[[Score], str],
    column_of: Callable[[Score], Column],
    *,
    higher_is_better: bool | None,
    order: Callable[[Score], Any] | None = None,
    note: str = "",
) -> Table:
    """A table with one cell per score at (row_of(score), column_of(score)).

    Columns and (unranked) rows appear in the order of ``sorted(scores, key=order)``. Two scores
    in one cell is a bug in the caller's choice of row and column: it raises ValueError.
    """
    ordered = sorted(scores, key=order) if order is not None else list(scores)
    columns = distinct(column_of(s) for s in ordered)
    labels = distinct(row_of(s) for s in ordered)
    grid: dict[tuple[str, Column], Cell] = {}
    for s in ordered:
        at = (row_of(s), column_of(s))
        if at in grid:
            raise ValueError(
                f"table {key!r}: two scores fall in row {at[0]!r}, column "
                f"{at[1].full_label!r} (the second is score {s.id})"
            )
        grid[at] = score_cell(s)
    rows = [Row(label, tuple(grid.get((label, c), EMPTY) for c in columns)) for label in labels]
    if higher_is_better is not None:
        rows = mark_best(rank_rows(rows, higher_is_better), higher_is_better)
    return Table(key, title, row_header, tuple(columns), tuple(rows), note)


def rank_rows(rows: Sequence[Row], higher_is_better: bool) -> list[Row]:
    """Best first by the first column, ties (and rows missing it) by the next, and so on."""
    sign = -1.0 if higher_is_better else 1.0

    def key(row: Row) -> tuple[tuple[bool, float], ...]:
        return tuple((c.value is None, 0.0 if c.value is None else sign * c.value) for c in row.cells)

    return sorted(rows, key=key)


def mark_best(rows: Sequence[Row], higher_is_better: bool) -> list[Row]:
    """Flag the best value of each column (all of them on a tie) where two or more rows compete."""
    if not rows:
        return []
    pick = max if higher_is_better else min
    marked = [list(r.cells) for r in rows]
    for j in range(len(rows[0].cells)):
        values = [r.cells[j].value for r in rows if r.cells[j].value is not None]
        if len(values) < 2:
            continue
        best = pick(values)
        for i, r in enumerate(rows):
            if r.cells[j].value == best:
                marked[i][j] = replace(r.cells[j], best=True)
    return [Row(r.label, tuple(cells)) for r, cells in zip(rows, marked)]
