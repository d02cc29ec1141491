import pytest

import benchmark.metrics  # noqa: F401  (registers the metrics)
from benchmark.metrics.catalog import CATALOG
from benchmark.metrics.info import MetricInfo
from core.registry import METRICS, UnknownNameError


def test_every_metric_is_registered_and_resolves():
    assert set(METRICS.names()) >= {m.name for m in CATALOG}
    for info in CATALOG:
        assert METRICS.get(info.name) is info
        assert callable(info.resolve())
        assert info.aggregation and info.higher_is_better in (True, False, None)


def test_names_match_the_stored_score_names():
    from benchmark.metrics.segmentation import MIOU80, MIOU_ALL

    assert {MIOU80, MIOU_ALL, "MOS", "share-fair-or-better", "mIoD-mIoH", "fisher-p"} <= set(METRICS.names())


def test_unknown_metric_suggests_a_name():
    with pytest.raises(UnknownNameError, match="mIoU80"):
        METRICS.get("mIoU-80")


def test_metric_info_validates():
    with pytest.raises(ValueError, match="aggregation"):
        MetricInfo("x", "d", "", True, "m:f", "3.1")
    with pytest.raises(ValueError, match="module:attr"):
        MetricInfo("x", "d", "mean", True, "m.f", "3.1")
