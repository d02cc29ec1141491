"""One builder per study section: stored scores in, a ``Section`` of tables and figures out.

Column groups are runs (``<split> / <model>``), plus the method where a section's rows are not
methods and several methods were scored, so several runs or models sit side by side.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from benchmark.report.document import Cell, Column, Figure, Row, Section, Table
from benchmark.report.labels import method_name
from benchmark.report.plots import bar_series, named
from benchmark.report.stored import StoredResults
from benchmark.report.tables import direction_of, distinct, pivot, subset_order
from benchmark.results import ABSENT_SUBSET, PRESENT_SUBSET
from db import Score

TABLE1_METRICS = ("mIoU80", "mIoU-all")
RATING_METRICS = ("MOS", "share-fair-or-better")
SYNTAX_METRICS = ("mIoU", "mIoD", "mIoH", "mIoD-mIoH")
COHYPONYM_METRICS = ("generation-accuracy", "mIoU", "fisher-p")
ADJECTIVE_METRICS = ("colour-spill", "attribute-spill")
_BUCKET = re.compile(r"^(<=|>=|<|>)?\s*\d+(\.\d+)?(\s*-\s*\d+(\.\d+)?)?$")  # "<=0.4", "0.4-0.6"


def _empty(key: str, title: str, intro: str, what: str) -> Section:
    return Section(key, title, intro, empty_note=f"No {what} stored for the selected runs.")


def _group(results: StoredResults, scores: Sequence[Score]) -> Callable[[Score], str]:
    """Run label, plus the method when the scores hold more than one method."""
    many = len(distinct(s.method for s in scores)) > 1
    return lambda s: results.label(s.run_id) + (f" / {s.method}" if many else "")


def _legend(results: StoredResults, scores: Sequence[Score]) -> Callable[[Score], tuple[str, ...]]:
    """A figure series' label parts: the run and, where several were scored, the method as read."""
    many = len(distinct(s.method for s in scores)) > 1
    # "model" scores are the generator's own (accuracy): no attribution method to name
    return lambda s: (results.label(s.run_id), method_name(s.method) if many and s.method != "model" else "")


def _bars(key: str, title: str, lines, xlabel: str, ylabel: str) -> Figure:
    name, series = named(title, lines)
    return Figure(key, name, "bar", series, xlabel, ylabel)


def _in_order(names: Sequence[str]) -> Callable[[str], int]:
    return lambda name: names.index(name) if name in names else len(names)


def segmentation(results: StoredResults) -> Section:
    key, title = "segmentation", "Noun segmentation (paper table 1)"
    intro = (
        "mIoU of binarised maps against hand-drawn noun masks on generated images; mIoU80 keeps nouns "
        "naming one of COCO's 80 classes, mIoU-all keeps every noun (paper 3.1)."
    )
    scores = results.for_section(key)
    if not scores:
        return _empty(key, title, intro, "mIoU80 / mIoU-all scores")
    table = _miou_table("table-1", "Table 1: methods x splits, mIoU80 and mIoU-all with 95% intervals", scores, results)
    return Section(key, title, intro, tables=(table,))


def _miou_table(table_id: str, caption: str, scores, results: StoredResults):
    """Methods x runs, mIoU80 and mIoU-all (per subset where not "all"), in table 1's order."""
    metric_rank = _in_order(TABLE1_METRICS)
    return pivot(
        table_id,
        caption,
        "method",
        scores,
        row_of=lambda s: s.method,
        column_of=lambda s: Column(
            s.metric if s.subset == "all" else f"{s.metric} ({s.subset})", results.label(s.run_id)
        ),
        higher_is_better=direction_of(scores),
        order=lambda s: (results.run_order(s.run_id), subset_order(s.subset), metric_rank(s.metric)),
    )


def real_image(results: StoredResults) -> Section:
    key, title = "real-image", "Real images: methods side by side"
    intro = (
        "mIoU of binarised maps on a dataset's own photographs (coco-real, voc-real, imagenet-seg) against "
        "its truth masks, void pixels left out; each method's maps of the same images, DAAM's through "
        "img2img (noised and denoised). mIoU80 keeps words naming one of COCO's 80 classes, mIoU-all every "
        "word with truth."
    )
    scores = results.for_section(key)
    if not scores:
        return _empty(key, title, intro, "real-image mIoU scores")
    table = _miou_table(
        "real-image", "Real images: methods x splits, mIoU80 and mIoU-all with 95% intervals and n", scores, results
    )
    return Section(key, title, intro, tables=(table,))


def shapes(results: StoredResults) -> Section:
    key, title = "shapes", "Toy world leaderboard"
    intro = (
        "mIoU of word maps against the toy renderer's exact masks, per subset of words (shape, colour, "
        "held-out pairs, object counts; render/... are real renders attributed through img2img); open-vocabulary "
        "maps on real renders, of words left out of the caption and of words in it, in their own table."
    )
    scores = results.for_section(key)
    if not scores:
        return _empty(key, title, intro, "toy-world mIoU scores")
    is_vocabulary = lambda s: s.subset.startswith((ABSENT_SUBSET, PRESENT_SUBSET))  # noqa: E731
    vocabulary = [s for s in scores if is_vocabulary(s)]
    leaderboard = [s for s in scores if not is_vocabulary(s)]

    def by_subset(table_key: str, table_title: str, chosen: Sequence[Score], note: str = "") -> Table:
        return pivot(
            table_key,
            table_title,
            "method",
            chosen,
            row_of=lambda s: s.method,
            column_of=lambda s: Column(s.subset, results.label(s.run_id)),
            higher_is_better=direction_of(chosen),
            order=lambda s: (results.run_order(s.run_id), subset_order(s.subset)),
            note=note,
        )

    tables = [by_subset("toy-leaderboard", "Toy world: methods x subsets, mIoU with 95% intervals", leaderboard)]
    if vocabulary:
        tables.append(
            by_subset(
                "toy-open-vocabulary",
                "Open vocabulary on real renders: mIoU with 95% intervals",
                vocabulary,
                note=(
                    "vocab-render: open-vocabulary (OVAM) maps of a shape or colour word, from the word's own text "
                    f"encoding. {ABSENT_SUBSET}...: the render's caption leaves that object out, so the word is not in "
                    f"the prompt; {PRESENT_SUBSET}...: the full caption, with daam-render the prompt's own map of the "
                    "same word. Same objects and renders in both; whole image and centre disc are the floor."
                ),
            )
        )
    return Section(key, title, intro, tables=tuple(tables))


def generation_accuracy(results: StoredResults) -> Section:
    key, title = "generation-accuracy", "Generation accuracy"
    intro = "Share of images showing every requested object (the cohyponym study's accuracy is in its own section)."
    scores = results.for_section(key)
    if not scores:
        return _empty(key, title, intro, "generation-accuracy scores")
    order = lambda s: (results.run_order(s.run_id), s.study, s.method, subset_order(s.subset))  # noqa: E731
    series_of = lambda s: (  # noqa: E731
        results.label(s.run_id),
        f"{s.study} study",
        "" if s.method == "model" else method_name(s.method),
    )
    table = pivot(
        "generation-accuracy",
        "Generation accuracy per subset, with 95% intervals",
        "subset",
        scores,
        row_of=lambda s: s.subset,
        column_of=lambda s: Column(
            s.study if s.method == "model" else f"{s.study} / {s.method}", results.label(s.run_id)
        ),
        higher_is_better=None,
        order=order,
    )
    figure = _bars(
        "generation-accuracy",
        "Generation accuracy",
        bar_series(scores, lambda s: s.subset, series_of, order),
        "subset",
        "accuracy (share of images)",
    )
    return Section(key, title, intro, tables=(table,), figures=(figure,))


def rating(results: StoredResults) -> Section:
    key, title = "rating", "Generalised attribution: MOS by part of speech (paper 3.2)"
    intro = (
        "Mean opinion score (1 bad - 5 excellent) of DAAM maps per part-of-speech tag, and the share of "
        "ratings fair or better (paper figure 3)."
    )
    scores = results.for_section(key)
    if not scores:
        return _empty(key, title, intro, "rating (MOS) scores")
    group = _group(results, scores)
    metric_rank = _in_order(RATING_METRICS)
    table = pivot(
        "mos-by-pos",
        "MOS and share fair-or-better per POS tag, with 95% intervals",
        "POS tag",
        scores,
        row_of=lambda s: s.subset,
        column_of=lambda s: Column(s.metric, group(s)),
        higher_is_better=direction_of(scores),
        order=lambda s: (results.run_order(s.run_id), s.method, metric_rank(s.metric)),
    )
    figures = []
    legend = _legend(results, scores)
    for metric, label in (("MOS", "MOS (1-5)"), ("share-fair-or-better", "share of ratings >= fair")):
        mine = [s for s in scores if s.metric == metric]
        if mine:
            figures.append(
                _bars(
                    f"{metric.lower()}-by-pos",
                    f"{metric} by part of speech",
                    bar_series(
                        mine,
                        lambda s: s.subset,
                        legend,
                        lambda s: (results.run_order(s.run_id), s.method, subset_order(s.subset)),
                    ),
                    "POS tag",
                    label,
                )
            )
    return Section(key, title, intro, tables=(table,), figures=tuple(figures))


def syntax(results: StoredResults) -> Section:
    key, title = "syntax", "Visuosyntactic analysis (paper table 2)"
    intro = (
        "Overlap of head and dependent maps per dependency relation: mIoU, intersection over the dependent "
        "(mIoD) and over the head (mIoH); mIoD - mIoH > 0 means the head's map contains the dependent's. "
        "Rows are ordered by that difference."
    )
    scores = results.for_section(key)
    if not scores:
        return _empty(key, title, intro, "syntax scores")
    group = _group(results, scores)
    metric_rank = _in_order(SYNTAX_METRICS)
    table = pivot(
        "syntax",
        "Head-dependent overlap per relation, with 95% intervals",
        "relation",
        scores,
        row_of=lambda s: s.subset,
        column_of=lambda s: Column(s.metric, group(s)),
        higher_is_better=None,
        order=lambda s: (results.run_order(s.run_id), s.method, metric_rank(s.metric)),
    )
    return Section(key, title, intro, tables=(_by_column(table, "mIoD-mIoH"),))


def _by_column(table: Table, label: str) -> Table:
    """Rows ordered by the first column called ``label``, largest first, missing values last."""
    j = next((i for i, c in enumerate(table.columns) if c.label == label), None)
    if j is None:
        return table
    rows = sorted(table.rows, key=lambda r: (r.cells[j].value is None, -(r.cells[j].value or 0.0)))
    return Table(table.key, table.title, table.row_header, table.columns, tuple(rows), table.note)


def is_overlap_bucket(subset: str) -> bool:
    """Overlap-bucket subsets ("<=0.4", "0.4-0.6", ">=0.6", optionally after a "group/")."""
    return bool(_BUCKET.match(subset.rsplit("/", 1)[-1].strip()))


def _cohyponym_subset_order(subset: str) -> tuple:
    """Groups ("cohyponym", ...) first, then overlap buckets low to high ("<=0.4", "0.4-0.6", ">=0.6")."""
    if not is_overlap_bucket(subset):
        return (0, 0.0, 0, subset)
    last = subset.rsplit("/", 1)[-1].strip()
    low = float(re.findall(r"\d+(?:\.\d+)?", last)[0])
    return (1, low, 0 if last.startswith("<") else 2 if last.startswith(">") else 1, subset)


def cohyponym(results: StoredResults) -> Section:
    key, title = "cohyponym", "Cohyponym entanglement (paper 5.1)"
    intro = (
        "Generation accuracy of two-noun prompts with and without cohyponyms, Fisher's exact test between "
        "the groups, overlap (mIoU) of the two nouns' maps, and accuracy per overlap bucket (figure 6)."
    )
    scores = results.for_section(key)
    if not scores:
        return _empty(key, title, intro, "cohyponym scores")
    group = _group(results, scores)
    metric_rank = _in_order(COHYPONYM_METRICS)
    order = lambda s: (  # noqa: E731
        metric_rank(s.metric),
        _cohyponym_subset_order(s.subset),
        results.run_order(s.run_id),
        s.method,
    )
    table = pivot(
        "cohyponym",
        "Cohyponym study scores, with 95% intervals",
        "score",
        scores,
        row_of=lambda s: f"{s.metric}: {s.subset}",
        column_of=lambda s: Column("value", group(s)),
        higher_is_better=None,
        order=order,
    )
    table = _with_odds_ratios(table, [s for s in scores if s.metric == "fisher-p"], group)
    by_x = lambda s: s.subset  # noqa: E731
    parts = (
        (
            "cohyponym-accuracy",
            "Generation accuracy by cohyponymy",
            "group",
            "accuracy",
            [s for s in scores if s.metric == "generation-accuracy" and not is_overlap_bucket(s.subset)],
        ),
        (
            "cohyponym-overlap-accuracy",
            "Generation accuracy by overlap (mIoU) bucket",
            "overlap bucket",
            "accuracy",
            [s for s in scores if s.metric == "generation-accuracy" and is_overlap_bucket(s.subset)],
        ),
        (
            "cohyponym-overlap",
            "Overlap (mIoU) of the two nouns' maps",
            "group",
            "mIoU",
            [s for s in scores if s.metric == "mIoU"],
        ),
    )
    legend = _legend(results, scores)
    figures = tuple(_bars(k, t, bar_series(mine, by_x, legend, order), x, y) for k, t, x, y, mine in parts if mine)
    return Section(key, title, intro, tables=(table,), figures=figures)


def _with_odds_ratios(table: Table, fisher: Sequence[Score], group: Callable[[Score], str]) -> Table:
    """One extra row per Fisher test holding the odds ratio the scorer stored in its details."""
    extra = []
    for label in distinct(f"odds ratio: {s.subset}" for s in fisher):
        cells = []
        for column in table.columns:
            match = [s for s in fisher if f"odds ratio: {s.subset}" == label and group(s) == column.group]
            ratio = match[0].details.get("odds_ratio") if match else None
            numeric = isinstance(ratio, (int, float)) and not isinstance(ratio, bool)
            cells.append(Cell(value=float(ratio)) if numeric else Cell())
        if any(not c.is_empty for c in cells):
            extra.append(Row(label, tuple(cells)))
    return Table(table.key, table.title, table.row_header, table.columns, table.rows + tuple(extra), table.note)


def adjective(results: StoredResults) -> Section:
    key, title = "adjective", "Adjectival entanglement (paper 5.2)"
    intro = (
        "How far a descriptive adjective reaches beyond its noun when only the adjective changes: colour "
        "spill into the background and the background's share of the pixel change."
    )
    scores = results.for_section(key)
    if not scores:
        return _empty(key, title, intro, "adjective scores")
    group = _group(results, scores)
    metric_rank = _in_order(ADJECTIVE_METRICS)
    table = pivot(
        "adjective",
        "Adjective spill per subset, with 95% intervals",
        "subset",
        scores,
        row_of=lambda s: s.subset,
        column_of=lambda s: Column(s.metric, group(s)),
        higher_is_better=None,
        order=lambda s: (results.run_order(s.run_id), s.method, metric_rank(s.metric), subset_order(s.subset)),
    )
    return Section(key, title, intro, tables=(table,))
