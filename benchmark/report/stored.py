"""What the report reads: the chosen runs, their models and every score they stored.

Each score belongs to the report section its metric declares for its study
(``MetricInfo.sections`` in ``benchmark.metrics.catalog``); ``for_section`` reads that, so no
section's choice depends on which was built first, and scores of no known section end up in an
"other scores" table instead of vanishing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from db import Model, Run, Score, Store


class ReportError(ValueError):
    """Nothing to report, or a bad report request; the message says what is wrong."""


@dataclass(frozen=True)
class RunView:
    run: Run
    model: Model
    label: str  # short column header: "<split> / <model>" (plus the run name where ambiguous)


def _model_short(model: Model) -> str:
    return model.name.rstrip("/").rsplit("/", 1)[-1] or model.name


def _labels(runs: Sequence[Run], models: dict[int, Model]) -> list[str]:
    short = [f"{r.split} / {_model_short(models[r.model_id])}" for r in runs]
    return [s if short.count(s) == 1 else f"{s} / {r.name}" for s, r in zip(short, runs)]


class StoredResults:
    def __init__(self, views: Sequence[RunView], scores: Sequence[Score]) -> None:
        self.views = tuple(views)
        self.scores = tuple(scores)
        self._by_run = {v.run.id: v for v in self.views}

    @classmethod
    def load(cls, store: Store, runs: Sequence[str] | None = None) -> StoredResults:
        """The named runs (all runs when None) in the order given, with their scores."""
        if runs is None:
            chosen = store.runs()
            if not chosen:
                raise ReportError(f"the store {store.url} holds no runs: nothing to report")
        else:
            names = list(runs)
            if not names:
                raise ReportError("no run names given: pass at least one name, or none for all runs")
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ReportError(f"run name(s) given twice: {', '.join(duplicates)}")
            chosen = [store.get_run(name) for name in names]  # NotFoundError lists known runs
        models = {mid: store.get_model(mid) for mid in {r.model_id for r in chosen}}
        views = [RunView(r, models[r.model_id], label) for r, label in zip(chosen, _labels(chosen, models))]
        scores = [s for r in chosen for s in store.scores(run_id=r.id)]
        return cls(views, scores)

    def view(self, run_id: int) -> RunView:
        return self._by_run[run_id]

    def label(self, run_id: int) -> str:
        return self._by_run[run_id].label

    def run_order(self, run_id: int) -> int:
        return [v.run.id for v in self.views].index(run_id)

    def section_of(self, score: Score) -> str | None:
        """The section a score's metric declares for its study; None for metrics of no section."""
        import benchmark.metrics.catalog  # noqa: F401  (registers the metrics)
        from core.registry import METRICS

        if score.metric not in METRICS:
            return None
        return METRICS.get(score.metric).section_for(score.study)

    def for_section(self, section: str) -> list[Score]:
        """The scores whose metric places them in ``section``, in stored order."""
        return [s for s in self.scores if self.section_of(s) == section]

    def outside(self, sections: Sequence[str]) -> list[Score]:
        """The scores that no section of ``sections`` shows."""
        known = set(sections)
        return [s for s in self.scores if self.section_of(s) not in known]
