"""``build_report``: stored runs and scores in, a ``Report`` of plain tables and figures out.

This is the only step that reads the store; the renderers see the ``Report`` alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from benchmark.report import curves, metadata, sections
from benchmark.report.document import Report, Section
from benchmark.report.formatting import slug
from benchmark.report.gallery import galleries
from benchmark.report.stored import StoredResults
from db import Store

TITLE = "DAAM benchmark leaderboard"


def build_report(store: Store, workspace: str | Path, runs: Sequence[str] | None = None) -> Report:
    """The report of the named runs (every run when None), from what their scorers stored."""
    results = StoredResults.load(store, runs)
    built = {  # each score's section is its metric's (benchmark.metrics.catalog), whatever the order
        "runs": metadata.runs(results),
        "segmentation": sections.segmentation(results),
        "real-image": sections.real_image(results),
        "shapes": sections.shapes(results),
        "tau-sweep": curves.tau_sweep(results),
        "ablation": curves.ablation(results),
        "generation-accuracy": sections.generation_accuracy(results),
        "rating": sections.rating(results),
        "syntax": sections.syntax(results),
        "cohyponym": sections.cohyponym(results),
        "adjective": sections.adjective(results),
        "galleries": galleries(store, workspace, results),
    }
    built["other"] = metadata.other_scores(results, [s.key for s in built.values()])
    return Report(TITLE, store.url, tuple(v.run.name for v in results.views), _unique_keys(list(built.values())))


def _unique_keys(parts: list[Section]) -> tuple[Section, ...]:
    """File-name-safe keys, unique per kind (tables, figures, galleries), so no file overwrites another."""
    seen: dict[str, set[str]] = {"table": set(), "figure": set(), "gallery": set()}

    def fresh(kind: str, key: str) -> str:
        base = slug(key)
        name, i = base, 2
        while name in seen[kind]:
            name, i = f"{base}-{i}", i + 1
        seen[kind].add(name)
        return name

    return tuple(
        replace(
            s,
            tables=tuple(replace(t, key=fresh("table", t.key)) for t in s.tables),
            figures=tuple(replace(f, key=fresh("figure", f.key)) for f in s.figures),
            galleries=tuple(replace(g, key=fresh("gallery", g.key)) for g in s.galleries),
        )
        for s in parts
    )
