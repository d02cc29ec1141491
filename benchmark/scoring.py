"""Scoring what needs no humans, right after generation; one scorer per study.

Scorers are registered lazily by study name. Each returns score dicts (also stored with
``store.upsert_score``) and notes for the summary. ``pipe`` is a zero-argument function that
returns the run's pipeline (loading it only if a scorer asks). Studies that need human judgements
(segmentation on COCO images, Likert ratings, object presence) are scored once annotations
are pulled in (``bench annotate pull``) by the same functions.
"""
from __future__ import annotations

from core.registry import Registry
from benchmark.scorers import SCORERS

STUDY_SCORERS = Registry("study scorer")
STUDY_SCORERS.register("shapes", "benchmark.toy.scoring:score_shapes")
for _study, _target in SCORERS.items():
    STUDY_SCORERS.register(_study, _target)


def score_run(store, workspace, run, pipe=None, config=None) -> tuple[list[dict], list[str]]:
    from benchmark.splits import split_info

    study = split_info(run.split).study
    if study not in STUDY_SCORERS:
        return [], [f"study {study!r} has no automatic scorer yet: scores come after annotation"]
    scorer = STUDY_SCORERS.get(study)
    return scorer(store, workspace, run, pipe=pipe, config=config)
