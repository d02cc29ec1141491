"""Sections drawn from curves the scorers stored in ``details``: the tau sweep and the ablations."""

from __future__ import annotations

from benchmark.report.document import Cell, Column, Figure, Row, Section, Series, Table
from benchmark.report.plots import stored_curve
from benchmark.report.stored import ReportError, StoredResults
from benchmark.report.tables import distinct, subset_order
from db import Score

ABLATION_KINDS = ("steps", "resolutions", "layers")


def _line_label(results: StoredResults, s: Score) -> str:
    return f"{results.label(s.run_id)} / {s.method} / {s.subset}"


def tau_sweep(results: StoredResults) -> Section:
    key, title = "tau-sweep", "Threshold (tau) sweep"
    intro = (
        "mIoU of maps binarised at each threshold tau, one line per run, method and subset; the paper's "
        "DAAM-0.3/0.4/0.5 are three points of these curves."
    )
    scores = results.for_section(key)
    if not scores:
        return Section(key, title, intro, empty_note="No tau sweeps stored for the selected runs.")
    scores.sort(key=lambda s: (s.study, results.run_order(s.run_id), s.method, subset_order(s.subset)))
    figures, rows = [], []
    for study in distinct(s.study for s in scores):
        mine = [s for s in scores if s.study == study]
        series = []
        for s in mine:
            taus, miou = stored_curve(s, "taus")
            series.append(Series(_line_label(results, s), taus, miou))
            best = s.details.get("best_tau")
            numeric = isinstance(best, (int, float)) and not isinstance(best, bool)
            rows.append(
                Row(
                    f"{study}: {_line_label(results, s)}",
                    (Cell(value=float(best)) if numeric else Cell(), Cell(s.value, s.ci_low, s.ci_high, s.n)),
                )
            )
        figures.append(Figure(f"tau-sweep-{study}", f"tau sweep ({study})", "line", tuple(series), "tau", "mIoU"))
    table = Table(
        "tau-sweep",
        "Best threshold per curve and the mIoU there",
        "curve",
        (Column("best tau"), Column("mIoU at best tau")),
        tuple(rows),
    )
    return Section(key, title, intro, tables=(table,), figures=tuple(figures))


def ablation(results: StoredResults) -> Section:
    key, title = "ablation", "Time-step and layer ablation (paper appendix A.1, figure 11)"
    intro = (
        "mIoU when DAAM sums only some time steps, layer resolutions or layers; one line per run, method and subset."
    )
    scores = results.for_section(key)
    if not scores:
        return Section(key, title, intro, empty_note="No ablation curves stored for the selected runs.")
    by_kind: dict[str, list[Series]] = {}
    rows = []
    for s in sorted(scores, key=lambda s: (results.run_order(s.run_id), s.study, s.method, subset_order(s.subset))):
        kind = s.details.get("kind")
        if not isinstance(kind, str) or not kind:
            raise ReportError(
                f"ablation score {s.id} of run id {s.run_id}: details 'kind' must name what was "
                f"restricted (one of {', '.join(ABLATION_KINDS)}), got {kind!r}"
            )
        xs, miou = stored_curve(s, "x")
        label = f"{results.label(s.run_id)} / {s.study} / {s.method} / {s.subset}"
        by_kind.setdefault(kind, []).append(Series(label, xs, miou))
        rows.append(Row(f"{kind}: {label}", (Cell(s.value, s.ci_low, s.ci_high, s.n),)))
    order = sorted(by_kind, key=lambda k: (ABLATION_KINDS.index(k) if k in ABLATION_KINDS else len(ABLATION_KINDS), k))
    figures = tuple(
        Figure(f"ablation-{kind}", f"ablation over {kind}", "line", tuple(by_kind[kind]), kind, "mIoU")
        for kind in order
    )
    table = Table(
        "ablation",
        "Stored value of each ablation score (the curves are in the figures)",
        "curve",
        (Column("value"),),
        tuple(rows),
    )
    return Section(key, title, intro, tables=(table,), figures=figures)
