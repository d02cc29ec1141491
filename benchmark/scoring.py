"""Scoring what needs no humans, right after generation: the split's scorer reads the run.

A split's spec names its scorer (``scorer:`` in ``splits/data/splits.yaml``, by default its
study's in ``studies.yaml``); scorers are registered lazily in ``benchmark.scorers.SCORERS``.
Each returns ``ScoreRecord``s (also stored) and notes for the summary. ``pipe`` is a zero-argument
function that returns the run's pipeline (loading it only if a scorer asks). Studies that need
human judgements (segmentation on COCO images, Likert ratings, object presence) are scored once
annotations are pulled in (``bench annotate pull``) by the same functions.
"""

from __future__ import annotations

from benchmark.results import ScoreRecord
from benchmark.scorers import SCORERS


def score_run(store, workspace, run, pipe=None, config=None) -> tuple[list[ScoreRecord], list[str]]:
    from benchmark.splits import spec

    split = spec(run.split)
    if split.scorer is None:
        return [], [f"split {run.split!r} has no automatic scorer: scores come after annotation"]
    scorer = SCORERS.get(split.scorer)
    return scorer(store, workspace, run, pipe=pipe, config=config)
