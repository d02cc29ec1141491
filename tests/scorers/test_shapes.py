"""The toy world's scorer: its per-path records, chosen subsets and trivial references."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from benchmark.report.sections import shapes as shapes_section
from benchmark.report.stored import RunView, StoredResults
from benchmark.results import ABSENT_SUBSET, PRESENT_SUBSET, ScoreRecord
from benchmark.scorers.shapes import VOCAB_METHOD, _score_pairs, left_out
from benchmark.toy.world import Scene, SceneObject, compose_caption, without_object
from tests.scorers.conftest import block


def _pairs(n: int = 4) -> list[dict]:
    """Shape-word pairs whose soft map is exactly the truth, so every tau scores IoU 1."""
    out = []
    for i in range(n):
        truth = block(slice(i, i + 3), slice(1, 4))
        out.append({"soft": truth.astype(np.float32), "truth": truth, "kind": "shape", "n": 2, "held_out": i % 2 == 1})
    return out


def test_score_pairs_without_groups_keeps_the_word_kinds_only():
    scores = _score_pairs(_pairs(), VOCAB_METHOD, ABSENT_SUBSET, groups=False)
    assert {s.subset for s in scores} == {"render-absent/shape"}
    by = {(s.method, s.metric): s for s in scores}
    for tau in (0.3, 0.4, 0.5):
        assert (
            by[(f"vocab-render@{tau}", "mIoU")].value == pytest.approx(1.0)
            and by[(f"vocab-render@{tau}", "mIoU")].n == 4
        )
    assert by[("whole-image", "mIoU")].value == pytest.approx(9 / 64)  # 3x3 objects in 8x8 images
    assert ("centre-disc", "mIoU") in by and ("vocab-render", "mIoU-sweep") in by
    grouped = {s.subset for s in _score_pairs(_pairs(), "daam-render", "render/")}
    assert grouped == {"render/shape", "render/shape/seen", "render/shape/held-out", "render/shape/2-object"}


def test_score_pairs_without_references_scores_the_method_alone():
    scores = _score_pairs(_pairs(), "daam-render", PRESENT_SUBSET, groups=False, references=False)
    assert {s.method for s in scores} == {"daam-render@0.3", "daam-render@0.4", "daam-render@0.5", "daam-render"}
    # beside the vocabulary maps' records of the same subset, no key is stored twice
    both = scores + _score_pairs(_pairs(), VOCAB_METHOD, PRESENT_SUBSET, groups=False)
    assert len({s.key for s in both}) == len(both)
    assert _score_pairs([], VOCAB_METHOD, ABSENT_SUBSET) == []


def _scene(*objects):
    objs = tuple(SceneObject(c, s, 5.0 + 9 * i, 8.0, 6.0) for i, (c, s) in enumerate(objects))
    caption, spans = compose_caption(objs)
    return Scene(objs, caption, spans)


def test_left_out_objects_take_turns_and_their_words_are_absent_from_the_caption():
    triple = _scene(("red", "circle"), ("blue", "square"), ("green", "star"))
    assert [left_out(triple, k)[0] for k in range(4)] == [0, 1, 2, 0]
    omit, rest, absent = left_out(triple, 4)
    assert (omit, rest.caption, absent) == (1, "a red circle and a green star", ["square", "blue"])
    pair = _scene(("red", "circle"), ("blue", "square"))
    assert [left_out(pair, k)[0] for k in range(3)] == [0, 1, 0]
    # a word another object shares is still in the caption: not absent, so not scored as absent
    shared = _scene(("red", "circle"), ("red", "square"), ("blue", "circle"))
    assert left_out(shared, 0)[1:] == (without_object(shared, 0), [])
    assert left_out(shared, 1)[2] == ["square"]
    with pytest.raises(ValueError, match="at least 2"):
        left_out(_scene(("red", "circle")), 0)


def test_terminal_headline_shows_the_vocabulary_shape_words_only():
    def record(subset):
        return ScoreRecord("shapes", "vocab-render@0.4", "mIoU", subset, 0.5)

    assert record("render-absent/shape").headline and record("render-present/shape").headline
    assert not record("render-absent/colour").headline and not record("render-present/shape/2-object").headline
    assert record("render/shape").headline and record("shape").headline


def test_report_puts_open_vocabulary_scores_in_their_own_table():
    view = RunView(SimpleNamespace(id=1), SimpleNamespace(name="toy"), "shapes / toy")
    rows = [
        ("daam-render@0.4", "render/shape", 0.58),
        ("whole-image", "render/shape", 0.07),
        ("vocab-render@0.4", "render-absent/shape", 0.41),
        ("whole-image", "render-absent/shape", 0.06),
        ("vocab-render@0.4", "render-present/shape", 0.45),
        ("daam-render@0.4", "render-present/shape", 0.6),
    ]
    scores = [
        SimpleNamespace(
            id=i, run_id=1, study="shapes", method=m, metric="mIoU", subset=s, value=v, ci_low=None, ci_high=None, n=9
        )
        for i, (m, s, v) in enumerate(rows)
    ]
    section = shapes_section(StoredResults([view], scores))
    board, vocab = section.tables
    assert (board.key, vocab.key) == ("toy-leaderboard", "toy-open-vocabulary")
    assert [c.label for c in board.columns] == ["render/shape"]
    assert [c.label for c in vocab.columns] == ["render-absent/shape", "render-present/shape"]
    cells = {r.label: [c.value for c in r.cells] for r in vocab.rows}
    assert cells["vocab-render@0.4"] == [0.41, 0.45] and cells["daam-render@0.4"] == [None, 0.6]
    assert "leaves that object out" in vocab.note
    # without vocabulary scores the section has its one table, as before
    assert len(shapes_section(StoredResults([view], scores[:2])).tables) == 1
