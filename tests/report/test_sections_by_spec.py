"""Each score's report section comes from its metric's declaration, whatever the build order."""

from __future__ import annotations

from types import SimpleNamespace

from benchmark.metrics.catalog import CATALOG
from benchmark.report.stored import StoredResults
from benchmark.report.tables import direction_of


def _score(i, study, metric):
    return SimpleNamespace(id=i, run_id=1, study=study, metric=metric, method="m", subset="all", value=0.5)


def test_sections_follow_metric_specs_and_unknown_metrics_stay_visible():
    scores = [
        _score(1, "segmentation", "mIoU-all"),
        _score(2, "shapes", "generation-accuracy"),
        _score(3, "cohyponym", "generation-accuracy"),
        _score(4, "shapes", "mIoU-sweep"),
        _score(5, "rating", "krippendorff-alpha"),
        _score(6, "shapes", "made-up"),
    ]
    results = StoredResults([], scores)
    assert [s.id for s in results.for_section("segmentation")] == [1]
    assert [s.id for s in results.for_section("generation-accuracy")] == [2]
    assert [s.id for s in results.for_section("cohyponym")] == [3]
    assert [s.id for s in results.for_section("tau-sweep")] == [4]
    # asking twice or in another order gives the same answer (nothing is "taken")
    assert [s.id for s in results.for_section("segmentation")] == [1]
    shown = ["segmentation", "generation-accuracy", "cohyponym", "tau-sweep"]
    assert [s.id for s in results.outside(shown)] == [5, 6]


def test_every_metric_declares_direction_and_aggregation():
    for m in CATALOG:
        assert m.aggregation and m.higher_is_better in (True, False, None)
        assert m.direction in ("higher is better", "lower is better", "no better direction")
    assert direction_of([_score(1, "segmentation", "mIoU-all"), _score(2, "segmentation", "mIoU80")]) is True
    assert direction_of([_score(1, "syntax", "mIoD")]) is None
