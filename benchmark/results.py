"""Typed scores: what scorers write, and what the summary, the model card and the report read.

A ``ScoreRecord`` is one number of a run with its interval, its n and the metric it measures.
Scorers return them (and store them with ``store.upsert_scores``); everything downstream reads
them, never string-keyed dicts. ``record.metric_spec`` is the metric's declaration (direction,
aggregation, report section) from ``benchmark.metrics.catalog``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import db
    from benchmark.metrics.info import MetricInfo


@dataclass(frozen=True)
class ScoreRecord:
    study: str
    method: str  # the attribution method (with its options), e.g. "daam@0.4", "clipseg", "model"
    metric: str  # a name registered in core.registry.METRICS
    subset: str  # "all", a class, a tag, "render/shape", ...
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def metric_spec(self) -> MetricInfo:
        import benchmark.metrics.catalog  # noqa: F401  (registers the metrics)
        from core.registry import METRICS

        return METRICS.get(self.metric)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.method, self.metric, self.subset

    @property
    def headline(self) -> bool:
        """Shown in the terminal summary: top-level subsets, and the real renders' top level."""
        return "/" not in self.subset or (self.subset.count("/") == 1 and self.subset.startswith("render/"))

    def has_interval(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None

    def to_spec(self, run_id: int) -> db.ScoreSpec:
        from db import ScoreSpec

        def finite(x):
            return None if x is None or not math.isfinite(x) else float(x)

        return ScoreSpec(run_id, self.study, self.method, self.metric, self.subset, float(self.value),
                         finite(self.ci_low), finite(self.ci_high), self.n, dict(self.details))

    @classmethod
    def from_row(cls, row: db.Score) -> ScoreRecord:
        return cls(row.study, row.method, row.metric, row.subset, row.value, row.ci_low, row.ci_high, row.n,
                   dict(row.details or {}))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def store_scores(store: db.Store, run_id: int, records: list[ScoreRecord]) -> list[ScoreRecord]:
    """Write records (all or nothing) and return them."""
    if records:
        store.upsert_scores([r.to_spec(run_id) for r in records])
    return records


def by_key(records: list[ScoreRecord]) -> dict[tuple[str, str, str], ScoreRecord]:
    """(method, metric, subset) -> record; the last one wins."""
    return {r.key: r for r in records}
