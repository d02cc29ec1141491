"""Cohyponym scorer: overlap of the two nouns' maps, and with presence judgements accuracy and tests."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from scipy.stats import fisher_exact

from benchmark.scorers.cohyponym import head_words, score_cohyponym
from tests.scorers.conftest import block

TOP, BOTTOM, TOP2 = block(rows=slice(0, 4)), block(rows=slice(4, 8)), block(rows=slice(0, 2))
LEFT = block(cols=slice(0, 4))
ITEMS = [  # text, nouns, cohyponym, patterns, IoU of the two maps
    ("a dog and a cat", ["dog", "cat"], True, {("dog", 0): TOP, ("cat", 0): TOP}, 1.0),
    ("a hot dog and a dog", ["hot dog", "dog"], False, {("dog", 0): TOP, ("dog", 1): BOTTOM}, 0.0),
    ("a bus and a car", ["bus", "car"], True, {("bus", 0): LEFT, ("car", 0): TOP}, 1 / 3),
    ("a cake and a bus", ["cake", "bus"], False, {("cake", 0): TOP, ("bus", 0): TOP2}, 0.5),
]
PICKS = [  # per image, each rater's picks in submission order
    [["dog"], ["dog", "cat"], ["cat", "dog"]],  # label dog, cat: correct
    [["hot dog"], ["hot dog"]],  # dog missing: incorrect
    [["bus", "car"], ["car"]],  # correct
    [["cake"], ["cake", "bus"], ["bus", "cake"]],  # correct
]


@pytest.fixture
def cohyponym_run(bench):
    run = bench.run("cohyponym")
    generations = []
    for i, (text, nouns, coh, patterns, _) in enumerate(ITEMS):
        words = [n.split()[-1] for n in nouns]
        prompt = bench.prompt(
            "cohyponym",
            f"cohyponym-{i:04d}",
            text,
            words,
            {"nouns": nouns, "cohyponym": coh, "words_for": dict(zip(nouns, words))},
        )
        generations.append((bench.generation(run, prompt, patterns=patterns), prompt))
    return run, generations


def _judge(bench, generations, picks, rater_prefix="r"):
    for (g, prompt), by_rater in zip(generations, picks):
        for r, nouns in enumerate(by_rater):
            rater = bench.store.get_or_create_rater(f"{rater_prefix}{r}")
            bench.store.add_annotation(
                "presence",
                f"presence/{g.id}/{rater.name}",
                rater,
                {},
                parsed={"prompt_nouns": prompt.provenance["nouns"], "nouns": nouns},
                generation_id=g.id,
                prompt_id=prompt.id,
            )


def test_head_words_count_occurrences():
    words_for = {"hot dog": "dog", "dog": "dog"}
    assert head_words("a hot dog and a dog", ["hot dog", "dog"], words_for) == [("dog", 0), ("dog", 1)]
    assert head_words("a dog and a hot dog", ["dog", "hot dog"], {}) == [("dog", 0), ("dog", 1)]
    assert head_words("an apple and a cell phone", ["apple", "cell phone"], {}) == [("apple", 0), ("phone", 0)]


def test_overlap_by_cohyponymy_needs_no_humans(bench, cohyponym_run):
    run, _ = cohyponym_run
    _, notes = score_cohyponym(bench.store, bench.workspace, run)
    s = bench.scores(run)
    assert set(s) == {("daam@0.4", "mIoU", "cohyponym"), ("daam@0.4", "mIoU", "non-cohyponym")}
    assert s[("daam@0.4", "mIoU", "cohyponym")].value == pytest.approx((1 + 1 / 3) / 2)
    assert s[("daam@0.4", "mIoU", "non-cohyponym")].value == pytest.approx(0.25)
    assert any("no presence judgements" in n for n in notes)


def test_presence_judgements_give_accuracy_fisher_and_buckets(bench, cohyponym_run):
    run, generations = cohyponym_run
    _judge(bench, generations, PICKS)
    # an excluded rater who would make image 2 correct does not count
    _judge(bench, generations[1:2], [[["hot dog", "dog"]] * 1], rater_prefix="cheat")
    bench.store.set_rater_excluded("cheat0", True, "consistently poor")
    _, notes = score_cohyponym(bench.store, bench.workspace, run)
    s = bench.scores(run)
    assert s[("model", "generation-accuracy", "cohyponym")].value == 1.0
    assert s[("model", "generation-accuracy", "non-cohyponym")].value == 0.5
    fisher = s[("model", "fisher-p", "all")]
    expected = fisher_exact([[2, 0], [1, 1]])
    assert fisher.value == pytest.approx(expected.pvalue) and fisher.n == 4
    assert fisher.details["table"] == [[2, 0], [1, 1]]
    assert fisher.details["odds_ratio"] is None  # infinite: stored as missing
    assert s[("daam@0.4", "mIoU", "cohyponym/correct")].value == pytest.approx((1 + 1 / 3) / 2)
    assert s[("daam@0.4", "mIoU", "non-cohyponym/incorrect")].value == 0.0
    assert ("daam@0.4", "mIoU", "cohyponym/incorrect") not in s  # no such image: nothing stored
    # IoUs 1 (correct), 0 (incorrect), 1/3 (correct), 0.5 (correct)
    assert s[("model", "generation-accuracy", "<=0.4")].value == 0.5
    assert s[("model", "generation-accuracy", "0.4-0.6")].value == 1.0
    assert s[("model", "generation-accuracy", ">=0.6")].value == 1.0
    assert s[("model", "generation-accuracy", "non-cohyponym/<=0.4")].value == 0.0
    assert any("4 images have presence judgements (3 correct)" in n for n in notes)


def test_presence_agreement_is_nominal_alpha_over_image_noun_units(bench, cohyponym_run):
    from benchmark.splits.ontology import ontology

    run, generations = cohyponym_run
    _judge(bench, generations, PICKS)
    score_cohyponym(bench.store, bench.workspace, run)
    alpha = bench.scores(run)[("human", "krippendorff-alpha", "presence")]
    choices = list(ontology().nouns)
    matrix = np.full((3, len(PICKS) * len(choices)), np.nan)
    for image, by_rater in enumerate(PICKS):
        for rater, nouns in enumerate(by_rater):
            matrix[rater, image * len(choices) : (image + 1) * len(choices)] = [c in nouns for c in choices]
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert math.isclose(alpha.value, expected) and alpha.details["n_raters"] == 3
