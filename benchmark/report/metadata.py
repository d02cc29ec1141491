"""The run metadata table (what produced the numbers) and the table of scores no section shows."""

from __future__ import annotations

import json
from collections.abc import Sequence

from benchmark.report.document import Cell, Column, Row, Section, Table
from benchmark.report.stored import StoredResults
from benchmark.report.tables import pivot, subset_order

RUN_FIELDS = (
    "column label",
    "split",
    "model",
    "model revision",
    "model kind",
    "status",
    "code version",
    "created",
    "settings",
)


def runs(results: StoredResults) -> Section:
    rows = []
    for v in results.views:
        r, m = v.run, v.model
        values = (
            v.label,
            r.split,
            m.name,
            m.revision,
            m.kind,
            r.status,
            r.code_version or "unknown",
            r.created_at.isoformat(timespec="seconds"),
            json.dumps(r.settings, sort_keys=True),
        )
        rows.append(Row(r.name, tuple(Cell(text=str(x)) for x in values)))
    table = Table(
        "runs", "Runs: model, settings and code version", "run", tuple(Column(f) for f in RUN_FIELDS), tuple(rows)
    )
    return Section("runs", "Runs", "Every number below comes from the stored scores of these runs.", tables=(table,))


def other_scores(results: StoredResults, sections: Sequence[str]) -> Section:
    """Scores of studies or metrics no section of ``sections`` shows, listed so that none is dropped."""
    key, title = "other", "Other stored scores"
    scores = results.outside(sections)
    if not scores:
        return Section(key, title, empty_note="Every stored score of the selected runs is shown above.")
    table = pivot(
        "other-scores",
        "Scores without a section of their own",
        "study / method / metric / subset",
        scores,
        row_of=lambda s: f"{s.study} / {s.method} / {s.metric} / {s.subset}",
        column_of=lambda s: Column("value", results.label(s.run_id)),
        higher_is_better=None,
        order=lambda s: (s.study, s.metric, s.method, subset_order(s.subset), results.run_order(s.run_id)),
    )
    return Section(key, title, "Scores of metrics this report has no layout for, as stored.", tables=(table,))
