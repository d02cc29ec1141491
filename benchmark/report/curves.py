"""Sections drawn from curves the scorers stored in ``details``: the tau sweep and the ablations."""

from __future__ import annotations

from typing import Any

from benchmark.report.document import Cell, Column, Figure, Row, Section, Series, Table
from benchmark.report.labels import method_name, subset_name
from benchmark.report.plots import named, stored_curve, stored_interval
from benchmark.report.stored import ReportError, StoredResults
from benchmark.report.tables import distinct, subset_order
from db import Score

ABLATION_KINDS = ("steps", "resolutions", "layers")
ABLATION_AXES = {  # what the x-axis of each kind counts
    "steps": "time steps summed (j)",
    "resolutions": "attention-map resolution (latent cells)",
    "layers": "layers summed",
}


def _row_label(parts: tuple[str, ...]) -> str:
    return ", ".join(p for p in parts if p)


def _curve(s: Score, x_key: str) -> Series:
    """The stored curve with its stored per-point interval, where the scorer kept one."""
    xs, ys = stored_curve(s, x_key)
    low, high = stored_interval(s, len(xs))
    return Series("", xs, ys, low, high)


def _at(values: tuple[Any, ...], xs: tuple[Any, ...], x: Any) -> Any:
    return values[xs.index(x)] if values and x in xs else None


def tau_sweep(results: StoredResults) -> Section:
    key, title = "tau-sweep", "Threshold (tau) sweep"
    intro = (
        "mIoU of maps binarised at each threshold tau, one line per run, method and subset (shaded: the stored "
        "95% interval, where the scorer kept one); the paper's DAAM-0.3/0.4/0.5 are three points of these curves."
    )
    scores = results.for_section(key)
    if not scores:
        return Section(key, title, intro, empty_note="No tau sweeps stored for the selected runs.")
    scores.sort(key=lambda s: (s.study, results.run_order(s.run_id), s.method, subset_order(s.subset)))
    figures, rows = [], []
    for study in distinct(s.study for s in scores):
        lines = []
        for s in (s for s in scores if s.study == study):
            parts = (results.label(s.run_id), method_name(s.method), subset_name(s.subset, s.method))
            curve = _curve(s, "taus")
            lines.append((parts, curve))
            best = s.details.get("best_tau")
            numeric = isinstance(best, (int, float)) and not isinstance(best, bool)
            low, high = s.ci_low, s.ci_high
            if low is None and high is None and numeric:  # the interval the scorer stored at that tau
                low, high = _at(curve.low, curve.x, best), _at(curve.high, curve.x, best)
            rows.append(
                Row(
                    f"{study} study: {_row_label(parts)}",
                    (Cell(value=float(best)) if numeric else Cell(), Cell(s.value, low, high, s.n)),
                )
            )
        name, series = named(f"Tau sweep ({study})", lines)
        figures.append(Figure(f"tau-sweep-{study}", name, "line", series, "tau", "mIoU", y_from_zero=True))
    table = Table(
        "tau-sweep",
        "Best threshold per curve and the mIoU there",
        "curve",
        (Column("best tau"), Column("mIoU at best tau")),
        tuple(rows),
    )
    return Section(key, title, intro, tables=(table,), figures=tuple(figures))


def _ablation_parts(results: StoredResults, s: Score) -> tuple[str, ...]:
    """Run, study, method, word subset and what the curve keeps ("last j steps only").

    Scorers name a curve's subset "<words subset>/<curve>" and say in ``details['what']`` what it
    keeps; a subset stored without that meaning is shown whole."""
    what = s.details.get("what")
    if isinstance(what, str) and what:
        words = s.subset.rsplit("/", 1)[0] if "/" in s.subset else ""
    else:
        words, what = "", s.subset
    return (
        results.label(s.run_id),
        f"{s.study} study",
        method_name(s.method),
        subset_name(words, s.method),
        what,
    )


def ablation(results: StoredResults) -> Section:
    key, title = "ablation", "Time-step and layer ablation (paper appendix A.1, figure 11)"
    intro = (
        "mIoU when DAAM sums only some time steps, layer resolutions or layers; one line per run, method and "
        "subset, shaded by the stored 95% interval of each point (bootstrap over word-image pairs)."
    )
    scores = results.for_section(key)
    if not scores:
        return Section(key, title, intro, empty_note="No ablation curves stored for the selected runs.")
    by_kind: dict[str, list] = {}
    rows = []
    # curves of one method in the order the scorer stored them (first j steps, last j steps, ...)
    for s in sorted(scores, key=lambda s: (results.run_order(s.run_id), s.study, s.method, s.id)):
        kind = s.details.get("kind")
        if not isinstance(kind, str) or not kind:
            raise ReportError(
                f"ablation score {s.id} of run id {s.run_id}: details 'kind' must name what was "
                f"restricted (one of {', '.join(ABLATION_KINDS)}), got {kind!r}"
            )
        parts = _ablation_parts(results, s)
        by_kind.setdefault(kind, []).append((parts, _curve(s, "x")))
        rows.append(Row(f"{kind}: {_row_label(parts)}", (Cell(s.value, s.ci_low, s.ci_high, s.n),)))
    order = sorted(by_kind, key=lambda k: (ABLATION_KINDS.index(k) if k in ABLATION_KINDS else len(ABLATION_KINDS), k))
    figures = []
    for kind in order:
        name, series = named(f"ablation over {kind}", by_kind[kind])
        axis = ABLATION_AXES.get(kind, kind)
        figures.append(Figure(f"ablation-{kind}", name, "line", series, axis, "mIoU", y_from_zero=True))
    table = Table(
        "ablation",
        "mIoU with every step and layer, per ablation curve (the curves are in the figures)",
        "curve",
        (Column("mIoU, all steps and layers"),),
        tuple(rows),
    )
    return Section(key, title, intro, tables=(table,), figures=tuple(figures))
