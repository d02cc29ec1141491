import math

import numpy as np
import pytest

from benchmark.metrics.syntax import (
    ALL_ARCS,
    UNRELATED,
    Arc,
    OverlapAccumulator,
    ParsedMaps,
    arc_pairs,
    relation_overlap,
    syntax_table,
    unrelated_pairs,
)


def _rect(rows, cols, shape=(4, 4)):
    m = np.zeros(shape, bool)
    m[rows[0] : rows[1], cols[0] : cols[1]] = True
    return m


def test_hand_worked_miod_mioh():
    # Pair 1: dependent 4 px inside an 8 px head: IoU .5, IoD 1, IoH .5.
    # Pair 2: dependent 8 px, head 4 px inside it: IoU .5, IoD .5, IoH 1.
    # Pair 3: dependent 4 px, head 4 px sharing 2: IoU 2/6, IoD .5, IoH .5.
    # Pair 4: empty dependent: IoU 0, IoD undefined, IoH 0 (delta undefined).
    small, tall = _rect((0, 2), (0, 2)), _rect((0, 4), (0, 2))
    shifted = _rect((1, 3), (0, 2))
    empty = np.zeros((4, 4), bool)
    row = relation_overlap([(small, tall), (tall, small), (small, shifted), (empty, small)], "amod", n_resamples=100)
    assert row.n_pairs == 4
    assert row.miou.value == pytest.approx((0.5 + 0.5 + 1 / 3 + 0) / 4) and row.miou.n == 4
    assert row.miod.value == pytest.approx((1 + 0.5 + 0.5) / 3) and row.miod.n == 3
    assert row.mioh.value == pytest.approx((0.5 + 1 + 0.5 + 0) / 4) and row.mioh.n == 4
    assert row.delta.value == pytest.approx((0.5 - 0.5 + 0) / 3) and row.delta.n == 3


def test_head_dominance_gives_positive_delta():
    small, tall = _rect((0, 2), (0, 2)), _rect((0, 4), (0, 2))
    row = relation_overlap([(small, tall)] * 3, "nsubj", n_resamples=100)
    assert row.delta.value == pytest.approx(0.5)  # mIoD > mIoH: the head contains the dependent


def test_unrelated_pairs_skip_arcs_in_both_directions():
    arcs = [Arc(0, 1, "det"), Arc(2, 1, "amod"), Arc(1, 1, "ROOT")]
    pairs = unrelated_pairs(4, arcs, np.random.default_rng(0))
    assert {frozenset(p) for p in pairs} == {frozenset((0, 2)), frozenset((0, 3)), frozenset((2, 3)), frozenset((1, 3))}
    assert len(pairs) == 4
    again = unrelated_pairs(4, arcs, np.random.default_rng(0))
    assert pairs == again  # seeded orientation
    sampled = unrelated_pairs(4, arcs, np.random.default_rng(1), limit=2)
    assert len(sampled) == 2 and {frozenset(p) for p in sampled} <= {frozenset(p) for p in pairs}


def test_unrelated_pairs_randomise_orientation():
    pairs = unrelated_pairs(40, [], np.random.default_rng(2))
    forward = sum(a < b for a, b in pairs)
    assert 0.4 < forward / len(pairs) < 0.6


def _prompt():
    # "a red car": a(0) -det-> car(2), red(1) -amod-> car(2), car is the root.
    masks = [_rect((0, 4), (0, 4)), _rect((0, 2), (0, 2)), _rect((0, 4), (0, 2))]
    return ParsedMaps(masks, [Arc(0, 2, "det"), Arc(1, 2, "amod"), Arc(2, -1, "ROOT")])


def test_arc_pairs_skip_root_and_unmapped_words():
    prompt = _prompt()
    assert [r for r, _, _ in arc_pairs(prompt)] == ["det", "amod"]
    partial = ParsedMaps({1: prompt.masks[1], 2: prompt.masks[2]}, prompt.arcs)
    assert [r for r, _, _ in arc_pairs(partial)] == ["amod"]
    assert partial.indices == [1, 2]


def test_syntax_table_rows_and_baselines():
    prompt = _prompt()
    table = syntax_table([prompt, prompt], relations=["amod", "nsubj"], n_resamples=100, rng=0)
    assert list(table) == [UNRELATED, ALL_ARCS, "amod", "nsubj"]
    amod = relation_overlap([(prompt.masks[1], prompt.masks[2])] * 2, "amod", n_resamples=100, rng=0)
    assert table["amod"] == amod
    assert table["nsubj"].n_pairs == 0 and math.isnan(table["nsubj"].miou.value)
    assert table[ALL_ARCS].n_pairs == 4  # det and amod of both prompts, whatever the filter
    # The only unrelated pair per prompt is (a, red); its IoU does not depend on orientation.
    assert table[UNRELATED].n_pairs == 2
    assert table[UNRELATED].miou.value == pytest.approx(4 / 16)


def test_accumulator_matches_pure_function():
    prompt = _prompt()
    acc = OverlapAccumulator(n_resamples=100)
    for relation, dep, head in arc_pairs(prompt):
        acc.update(relation, dep, head)
    rows = acc.compute()
    assert rows["amod"] == relation_overlap([(prompt.masks[1], prompt.masks[2])], "amod", n_resamples=100)
    assert set(rows) == {"amod", "det"}
    acc.reset()
    assert acc.compute() == {}
    with pytest.raises(ValueError, match="shape"):
        acc.update("det", np.zeros((2, 2), bool), np.zeros((3, 3), bool))
