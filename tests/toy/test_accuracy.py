"""The one generation-accuracy rule, against a count by hand; scoring and eval both use it."""

from __future__ import annotations

import pytest

from benchmark.toy.accuracy import Outcome, accuracy_by_subset, word_kind


def test_accuracy_by_subset_counts_each_image_in_its_four_subsets():
    outcomes = [
        Outcome(True, 1, False),
        Outcome(False, 1, True),
        Outcome(True, 2, True),
        Outcome(True, 2, True),
        Outcome(False, 2, False),
    ]
    acc = accuracy_by_subset(outcomes)
    expected = {
        "all": (3, 5),
        "1-object": (1, 2),
        "2-object": (2, 3),
        "seen": (1, 2),
        "held-out": (2, 3),
        "1-object/seen": (1, 1),
        "1-object/held-out": (0, 1),
        "2-object/held-out": (2, 2),
        "2-object/seen": (0, 1),
    }
    assert list(acc) == sorted(expected)
    for subset, (k, n) in expected.items():
        assert (acc[subset].value, acc[subset].n) == (pytest.approx(k / n), n)
        assert acc[subset].ci_low <= acc[subset].value <= acc[subset].ci_high


def test_scoring_reports_the_same_rule():
    from benchmark.scorers.shapes import _accuracy

    outcomes = [Outcome(True, 1, False), Outcome(False, 3, True)]
    rows = _accuracy(outcomes)
    assert [(r["subset"], r["value"], r["n"]) for r in rows] == [
        (s, e.value, e.n) for s, e in accuracy_by_subset(outcomes).items()
    ]
    assert {r["metric"] for r in rows} == {"generation-accuracy"}


def test_word_kind():
    assert (word_kind("red"), word_kind("circle")) == ("colour", "shape")
