"""Syntax scorer: head-dependent overlap per relation and the two baselines, by hand."""

from __future__ import annotations

import pytest

from benchmark.scorers.syntax import score_syntax
from tests.scorers.conftest import block

TEXT = "a big dog runs"  # words: a(0) big(1) dog(2) runs(3)
ARCS = [[2, 0, "det"], [2, 1, "amod"], [3, 2, "nsubj"]]
PATTERNS = {
    ("a", 0): block(rows=slice(6, 8)),
    ("big", 0): block(rows=slice(0, 2)),
    ("dog", 0): block(rows=slice(0, 4)),
    ("runs", 0): block(rows=slice(0, 6)),
}


def _item(bench, run, head: tuple[str, int], dep: tuple[str, int], relation: str, rank: int):
    words = TEXT.split()
    provenance = {
        "relation": relation,
        "relation_rank": rank,
        "head": {"text": words[head[1]], "index": head[1], "occurrence": head[0]},
        "dependent": {"text": words[dep[1]], "index": dep[1], "occurrence": dep[0]},
        "arcs": ARCS,
        "words": words,
    }
    prompt = bench.prompt("syntax", f"syntax-1-w{dep[1]}", TEXT, (words[head[1]], words[dep[1]]), provenance)
    return bench.generation(run, prompt, patterns=PATTERNS, seed=7)  # one caption, one seed: one image


def test_relations_and_baselines(bench):
    run = bench.run("syntax")
    _item(bench, run, (0, 2), (0, 1), "amod", 2)  # big in dog: IoU 1/2, IoD 1, IoH 1/2
    _item(bench, run, (0, 3), (0, 2), "nsubj", 1)  # dog in runs: IoU 2/3, IoD 1, IoH 2/3
    _item(bench, run, (0, 2), (0, 0), "det", 3)  # a and dog apart: all 0
    returned, notes = score_syntax(bench.store, bench.workspace, run)
    s = bench.scores(run)
    assert len(returned) == len(s) == 5 * 4
    for relation, overlap in (("amod", 0.5), ("nsubj", 2 / 3)):
        assert s[("daam@0.4", "mIoU", relation)].value == pytest.approx(overlap)
        assert s[("daam@0.4", "mIoD", relation)].value == pytest.approx(1.0)
        assert s[("daam@0.4", "mIoH", relation)].value == pytest.approx(overlap)
        assert s[("daam@0.4", "mIoD-mIoH", relation)].value == pytest.approx(1 - overlap)
    assert s[("daam@0.4", "mIoU", "det")].value == 0.0
    assert s[("daam@0.4", "mIoU", "amod")].details == {"tau": 0.4, "n_pairs": 1, "relation_rank": 2}
    # the three items share one image: its arcs count once
    arcs = s[("daam@0.4", "mIoU", "baseline:all-arcs")]
    assert arcs.value == pytest.approx((0.5 + 2 / 3 + 0.0) / 3) and arcs.details["n_pairs"] == 3
    # unrelated: (a, big) and (a, runs) are apart, (big, runs) overlap 16 / 48, whatever the orientation
    unrelated = s[("daam@0.4", "mIoU", "baseline:unrelated")]
    assert unrelated.value == pytest.approx(1 / 9) and unrelated.details["n_pairs"] == 3
    iod, ioh = s[("daam@0.4", "mIoD", "baseline:unrelated")], s[("daam@0.4", "mIoH", "baseline:unrelated")]
    # (big, runs): 1 over big's map and 1/3 over runs', in one orientation or the other
    assert iod.value + ioh.value == pytest.approx((1 + 1 / 3) / 3)
    assert "3 head-dependent pairs over 3 relations" in notes[0]


def test_toy_relation_prompts_use_occurrences_and_skip_baselines(bench):
    run = bench.run("shapes-relation")
    text = "a red circle above a blue circle"
    provenance = {"head": "circle", "dependent": "circle", "relation": "above", "dependency": "nmod:above"}
    prompt = bench.prompt("shapes-relation", "relation-0000", text, ("circle", "above", "circle"), provenance)
    bench.generation(
        run, prompt, patterns={("circle", 0): block(rows=slice(0, 4)), ("circle", 1): block(rows=slice(2, 6))}
    )
    _, notes = score_syntax(bench.store, bench.workspace, run)
    s = bench.scores(run)
    assert s[("daam@0.4", "mIoU", "nmod:above")].value == pytest.approx(16 / 48)
    assert not any(subset.startswith("baseline") for _, _, subset in s)
    assert any("carry no dependency arcs" in n for n in notes)


def test_generations_without_maps_are_noted(bench):
    run = bench.run("syntax")
    words = TEXT.split()
    provenance = {
        "relation": "amod",
        "head": {"text": "dog", "index": 2, "occurrence": 0},
        "dependent": {"text": "big", "index": 1, "occurrence": 0},
        "arcs": ARCS,
        "words": words,
    }
    bench.generation(run, bench.prompt("syntax", "k", TEXT, ("dog", "big"), provenance))
    scores, notes = score_syntax(bench.store, bench.workspace, run)
    assert scores == [] and any("1 generations have no DAAM maps" in n for n in notes)
