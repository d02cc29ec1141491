"""Every study a split declares has a scorer (the toy "shapes" study keeps its own)."""
from __future__ import annotations

import inspect

from core.registry import Registry
from benchmark.scorers import SCORERS
from benchmark.splits import list_splits


def test_every_paper_study_has_a_lazily_registrable_scorer():
    studies = {info.study for info in list_splits()} - {"shapes"}
    assert studies == set(SCORERS)
    registry = Registry("study scorer")
    for study, target in SCORERS.items():
        registry.register(study, target)
        params = list(inspect.signature(registry.get(study)).parameters)
        assert params == ["store", "workspace", "run", "pipe", "config"], study
