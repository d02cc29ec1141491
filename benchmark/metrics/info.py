"""What every metric declares about itself: how it aggregates and which direction is better."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class MetricInfo:
    """A metric's declaration, registered in ``core.registry.METRICS`` under ``name``.

    ``aggregation`` says in words how per-observation values become one number (e.g. "median
    over raters, then mean over items"); ``higher_is_better`` is None for diagnostics with no
    preferred direction (e.g. dominance, attribute spill). ``function`` is the
    ``"module:attr"`` of the pure function that computes it.
    """

    name: str
    description: str
    aggregation: str
    higher_is_better: bool | None
    function: str
    paper: str  # where the paper defines or reports it, e.g. "3.1, table 1"
    value_range: tuple[float, float] | None = (0.0, 1.0)
    # the report section that shows a score of this metric, by the score's study ("*": any study);
    # a study with no entry: the report's "other scores" table
    sections: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), compare=False)

    def section_for(self, study: str) -> str | None:
        return self.sections.get(study, self.sections.get("*"))

    @property
    def direction(self) -> str:
        return {True: "higher is better", False: "lower is better", None: "no better direction"}[self.higher_is_better]

    def __post_init__(self) -> None:
        object.__setattr__(self, "sections", MappingProxyType(dict(self.sections)))
        if not self.name or not self.aggregation:
            raise ValueError("a metric needs a name and a stated aggregation")
        if ":" not in self.function:
            raise ValueError(f"function of metric {self.name!r} must be 'module:attr', got {self.function!r}")

    def resolve(self):
        """Import and return the pure function behind this metric."""
        import importlib

        module, _, attr = self.function.partition(":")
        return getattr(importlib.import_module(module), attr)
