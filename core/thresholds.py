"""The thresholds tau that binarise a soft word map (``soft >= tau``): one home for every study.

The paper reports DAAM at tau 0.3, 0.4 and 0.5 (section 3.1, table 1) and finds 0.4 best; every
study that needs one binary map per word uses that best tau. Soft baselines (CLIPSeg, trivial
maps) are thresholded at 0.5, where a 0/1 map is anywhere. The sweep grid draws the tau curve.
"""

from __future__ import annotations

PAPER_TAUS: tuple[float, ...] = (0.3, 0.4, 0.5)
BEST_TAU = 0.4
BASELINE_TAU = 0.5
SWEEP_TAUS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(21))  # 0.00, 0.05, ..., 1.00

__all__ = ["BASELINE_TAU", "BEST_TAU", "PAPER_TAUS", "SWEEP_TAUS"]
