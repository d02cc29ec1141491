import math
from math import comb

import numpy as np
import pytest

from benchmark.metrics.cohyponyms import (
    accuracy_by_overlap,
    consensus_objects,
    contingency_table,
    generation_accuracy,
    generation_correct,
    miou_by_group,
    overlap_bucket,
)


def _fisher_two_sided(table) -> float:
    """Hypergeometric two-sided p-value summed by hand (independent of scipy)."""
    (a, b), (c, d) = table
    row1, col1, n = a + b, a + c, a + b + c + d

    def p(x):
        return comb(col1, x) * comb(n - col1, row1 - x) / comb(n, row1)

    observed = p(a)
    support = range(max(0, row1 + col1 - n), min(row1, col1) + 1)
    return sum(p(x) for x in support if p(x) <= observed * (1 + 1e-7))


def test_accuracy_and_exact_test_on_paper_like_counts():
    # 52% correct among 200 cohyponym prompts, 61% among 200 non-cohyponym prompts.
    cohyponym = np.array([True] * 200 + [False] * 200)
    correct = np.array([True] * 104 + [False] * 96 + [True] * 122 + [False] * 78)
    table = contingency_table(cohyponym, correct)
    assert table.tolist() == [[104, 96], [122, 78]]
    result = generation_accuracy(cohyponym, correct)
    assert result.cohyponym.value == 0.52 and result.cohyponym.n == 200
    assert result.non_cohyponym.value == 0.61 and result.non_cohyponym.n == 200
    assert result.fisher.p_value == pytest.approx(_fisher_two_sided(table.tolist()), rel=1e-9)
    assert result.fisher.odds_ratio == pytest.approx((104 * 78) / (96 * 122))


def test_contingency_needs_booleans_of_equal_length():
    with pytest.raises(TypeError, match="booleans"):
        contingency_table([1, 0], [True, False])
    with pytest.raises(ValueError, match="flags"):
        contingency_table([True], [True, False])


def test_miou_by_group_by_hand():
    ious = [0.1, 0.3, 0.8, 0.6, math.nan, 0.2]
    cohyponym = [False, False, True, True, True, False]
    correct = [True, False, False, True, False, True]
    groups = miou_by_group(ious, cohyponym, correct, n_resamples=100)
    assert groups["non-cohyponym"].value == pytest.approx(0.2) and groups["non-cohyponym"].n == 3
    assert groups["cohyponym"].value == pytest.approx(0.7) and groups["cohyponym"].n == 2
    assert groups["non-cohyponym/correct"].value == pytest.approx(0.15)
    assert groups["non-cohyponym/incorrect"].value == pytest.approx(0.3)
    assert groups["cohyponym/incorrect"].value == pytest.approx(0.8) and groups["cohyponym/incorrect"].n == 1
    assert groups["cohyponym/correct"].value == pytest.approx(0.6)


def test_overlap_bucket_edges():
    assert overlap_bucket(0.0) == overlap_bucket(0.4) == "<=0.4"
    assert overlap_bucket(np.nextafter(0.4, 1)) == overlap_bucket(0.59) == "0.4-0.6"
    assert overlap_bucket(0.6) == overlap_bucket(1.0) == ">=0.6"
    with pytest.raises(ValueError, match="IoU"):
        overlap_bucket(math.nan)


def test_accuracy_by_overlap_by_hand():
    ious = [0.1, 0.2, 0.5, 0.7, 0.9, math.nan]
    correct = [True, True, False, True, False, True]
    cohyponym = [True, False, True, True, False, False]
    out = accuracy_by_overlap(ious, correct, cohyponym)
    assert (out["<=0.4"].value, out["<=0.4"].n) == (1.0, 2)
    assert (out["0.4-0.6"].value, out["0.4-0.6"].n) == (0.0, 1)
    assert (out[">=0.6"].value, out[">=0.6"].n) == (0.5, 2)
    assert (out["cohyponym/>=0.6"].value, out["cohyponym/>=0.6"].n) == (1.0, 1)
    assert out["non-cohyponym/0.4-0.6"].n == 0 and math.isnan(out["non-cohyponym/0.4-0.6"].value)
    assert set(accuracy_by_overlap(ious, correct)) == {"<=0.4", "0.4-0.6", ">=0.6"}


def test_consensus_objects_ties_by_submission_order():
    selections = [["zebra", "giraffe"], ["giraffe", "horse"], ["horse", "zebra", "zebra"]]
    # zebra 2, giraffe 2, horse 2: all tied, so the order of first submission decides.
    assert consensus_objects(selections) == ("zebra", "giraffe")
    assert consensus_objects([["cake"], ["bus", "cake"], ["bus"], ["bus"]]) == ("bus", "cake")
    assert generation_correct(("giraffe", "zebra"), ("zebra", "giraffe"))
    assert not generation_correct(("giraffe", "zebra"), ("zebra", "horse"))
