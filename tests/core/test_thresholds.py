import math

from core.thresholds import BASELINE_TAU, BEST_TAU, PAPER_TAUS, SWEEP_TAUS


def test_the_papers_taus_and_the_sweep_grid():
    assert PAPER_TAUS == (0.3, 0.4, 0.5) and BEST_TAU == 0.4 and BEST_TAU in PAPER_TAUS
    assert BASELINE_TAU == 0.5
    assert SWEEP_TAUS[0] == 0.0 and SWEEP_TAUS[-1] == 1.0 and len(SWEEP_TAUS) == 21
    assert all(any(math.isclose(t, s) for s in SWEEP_TAUS) for t in PAPER_TAUS)


def test_every_user_reads_the_one_home():
    from benchmark import metrics
    from benchmark.metrics import ablation
    from benchmark.scorers import common, segmentation

    assert metrics.PAPER_TAUS is PAPER_TAUS and metrics.SWEEP_TAUS is SWEEP_TAUS
    assert common.TAU is BEST_TAU and ablation.ABLATION_TAU is BEST_TAU
    assert segmentation.BASELINE_TAU is BASELINE_TAU
