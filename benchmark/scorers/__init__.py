"""Study scorers: stored generations, word maps, masks and annotations in, stored scores out.

One module per study of the paper. Each scorer has the signature
``score_xxx(store, workspace, run, pipe=None, config=None) -> (scores, notes)``: it upserts its
score rows and also returns them as dicts (study, method, metric, subset, value, ci_low,
ci_high, n, details), with notes for the run summary. Entries are lazy ``"module:function"``
strings for ``benchmark.scoring.STUDY_SCORERS``, keyed by the study a split declares.
"""

SCORERS: dict[str, str] = {
    "segmentation": "benchmark.scorers.segmentation:score_segmentation",
    "rating": "benchmark.scorers.rating:score_rating",
    "syntax": "benchmark.scorers.syntax:score_syntax",
    "cohyponym": "benchmark.scorers.cohyponym:score_cohyponym",
    "adjective": "benchmark.scorers.adjective:score_adjective",
}

__all__ = ["SCORERS"]
