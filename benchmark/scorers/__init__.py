"""Study scorers: stored generations, word maps, masks and annotations in, stored scores out.

One module per study of the paper. Each scorer has the signature
``score_xxx(store, workspace, run, pipe=None, config=None) -> (scores, notes)``: it upserts its
score rows and returns them as ``benchmark.results.ScoreRecord``s, with notes for the run
summary. Scorers are registered here by name (lazily, as ``"module:function"``); a split's spec
names the one that reads its runs.
"""

from core.registry import Registry

SCORERS = Registry("scorer")
for _name, _target in {
    "segmentation": "benchmark.scorers.segmentation:score_segmentation",
    "rating": "benchmark.scorers.rating:score_rating",
    "syntax": "benchmark.scorers.syntax:score_syntax",
    "cohyponym": "benchmark.scorers.cohyponym:score_cohyponym",
    "adjective": "benchmark.scorers.adjective:score_adjective",
    "shapes": "benchmark.scorers.shapes:score_shapes",
    "real-image": "benchmark.scorers.real_image:score_real_image",
}.items():
    SCORERS.register(_name, _target)

__all__ = ["SCORERS"]
