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


# The toy world's open-vocabulary subsets (benchmark.scorers.shapes): a word's vocabulary map on a real
# render whose caption leaves the word out / names it. The terminal shows their shape words.
ABSENT_SUBSET, PRESENT_SUBSET = "render-absent/", "render-present/"
HEADLINE_VOCABULARY_SUBSETS = frozenset({ABSENT_SUBSET + "shape", PRESENT_SUBSET + "shape"})


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
        """Shown in the terminal summary: top-level subsets, the real renders' top level, and the open
        vocabulary's shape words on real renders (absent from the prompt and present in it)."""
        return (
            "/" not in self.subset
            or (self.subset.count("/") == 1 and self.subset.startswith("render/"))
            or self.subset in HEADLINE_VOCABULARY_SUBSETS
        )

    def has_interval(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None

    def to_spec(self, run_id: int) -> db.ScoreSpec:
        from db import ScoreSpec

        def finite(x):
            return None if x is None or not math.isfinite(x) else float(x)

        return ScoreSpec(
            run_id,
            self.study,
            self.method,
            self.metric,
            self.subset,
            float(self.value),
            finite(self.ci_low),
            finite(self.ci_high),
            self.n,
            dict(self.details),
        )

    @classmethod
    def from_row(cls, row: db.Score) -> ScoreRecord:
        return cls(
            row.study,
            row.method,
            row.metric,
            row.subset,
            row.value,
            row.ci_low,
            row.ci_high,
            row.n,
            dict(row.details or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __getitem__(self, name: str) -> Any:
        """Read access by field name (``record["value"]``), for code written against score dicts."""
        if name not in self.__dataclass_fields__:
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name) if name in self.__dataclass_fields__ else default


def json_safe(value: Any) -> Any:
    """Details as plain JSON: tuples become lists, non-finite floats None (the store rejects NaN)."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _finite_or_none(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def store_scores(store: db.Store, run_id: int, records: list[ScoreRecord]) -> list[ScoreRecord]:
    """Keep the records with a defined value (NaN means "nothing to score"), clean their intervals
    and details, write them (all or nothing) and return what was written."""
    from dataclasses import replace

    kept = [
        replace(
            r,
            value=float(r.value),
            ci_low=_finite_or_none(r.ci_low),
            ci_high=_finite_or_none(r.ci_high),
            details=json_safe(r.details),
        )
        for r in records
        if math.isfinite(r.value)
    ]
    if kept:
        store.upsert_scores([r.to_spec(run_id) for r in kept])
    return kept


def by_key(records: list[ScoreRecord]) -> dict[tuple[str, str, str], ScoreRecord]:
    """(method, metric, subset) -> record; the last one wins."""
    return {r.key: r for r in records}
