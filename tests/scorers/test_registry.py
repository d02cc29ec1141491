"""Every split's spec names a registered scorer with the scorer signature (studies.yaml's defaults)."""

from __future__ import annotations

import inspect

from benchmark.scorers import SCORERS
from benchmark.splits import list_splits
from benchmark.splits.catalogue import catalogue, studies


def test_every_split_study_has_a_lazily_registered_scorer():
    used = {info.study for info in list_splits()}
    assert used <= set(studies())
    assert {s.scorer for s in studies().values() if s.scorer} == set(SCORERS)
    for name, spec in catalogue().items():
        assert spec.scorer in SCORERS, name
        params = list(inspect.signature(SCORERS.get(spec.scorer)).parameters)
        assert params == ["store", "workspace", "run", "pipe", "config"], name
