"""Rating scorer: MOS per POS tag after the paper's exclusions, and Krippendorff's alpha."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest

from benchmark.scorers.common import ScoringError
from benchmark.scorers.rating import score_rating

SCALE = ("bad", "poor", "fair", "good", "excellent")
ITEMS = {  # key: (text, word, pos, attention check, {rater: rating 1-5 or flag})
    "n1": ("a dog runs", "dog", "NOUN", False, {"r1": 5, "r2": 4, "r3": 3, "gone": 1}),
    "n2": ("a red cup", "cup", "NOUN", False, {"r1": 2, "r2": 2, "r3": "word_too_abstract"}),
    "v1": ("a dog runs", "runs", "VERB", False, {"r1": 3, "r2": 1, "r3": "image_too_poor"}),
    "c1": ("a dog runs.", ".", "PUNCT", True, {"r1": "word_too_abstract", "r2": "image_too_poor", "r3": 5}),
}


def _parsed(word: str, check: bool, answer) -> dict:
    if isinstance(answer, int):
        return {"target": word, "attention_check": check, "choice": SCALE[answer - 1], "rating": answer, "flag": None}
    return {
        "target": word,
        "attention_check": check,
        "choice": answer.replace("_", " "),
        "rating": None,
        "flag": answer,
    }


@pytest.fixture
def rating_run(bench):
    run = bench.run("pos")
    for key, (text, word, pos, check, answers) in ITEMS.items():
        prompt = bench.prompt("pos", key, text, (word,), {"pos": pos, "attention_check": check})
        g = bench.generation(run, prompt)
        for name, answer in answers.items():
            rater = bench.store.get_or_create_rater(name)
            bench.store.add_annotation(
                "rating",
                f"rating/{key}/{name}",
                rater,
                {},
                parsed=_parsed(word, check, answer),
                generation_id=g.id,
                prompt_id=prompt.id,
            )
    bench.store.set_rater_excluded("gone", True, "failed an attention check")
    return run


def test_mos_and_share_per_tag(bench, rating_run):
    _, notes = score_rating(bench.store, bench.workspace, rating_run)
    s = bench.scores(rating_run)
    # n1: median(5, 4, 3) = 4 (the excluded rater's 1 would make it 3.5); n2 dropped (too abstract);
    # v1: median(3, 1) = 2 (image too poor carries no rating)
    assert s[("daam", "MOS", "NOUN")].value == 4.0 and s[("daam", "MOS", "NOUN")].n == 1
    assert s[("daam", "MOS", "NOUN")].details["n_items_dropped"] == 1
    assert s[("daam", "MOS", "VERB")].value == 2.0
    assert s[("daam", "MOS", "all")].value == 3.0 and s[("daam", "MOS", "all")].n == 2
    assert s[("daam", "share-fair-or-better", "NOUN")].value == 1.0
    assert s[("daam", "share-fair-or-better", "VERB")].value == 0.5
    assert s[("daam", "share-fair-or-better", "all")].value == pytest.approx(4 / 5)
    assert ("daam", "MOS", "PUNCT") not in s  # attention checks only exclude raters
    assert any("1 ratings by excluded raters" in n for n in notes)


def test_agreement_is_ordinal_alpha_of_kept_raters(bench, rating_run):
    score_rating(bench.store, bench.workspace, rating_run)
    alpha = bench.scores(rating_run)[("human", "krippendorff-alpha", "all")]
    matrix = np.array([[5, 2, 3], [4, 2, 1], [3, np.nan, np.nan]], dtype=float)  # raters x items n1, n2, v1
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal")
    assert math.isclose(alpha.value, expected) and alpha.n == 3 and alpha.details["n_raters"] == 3


def test_no_ratings_and_bad_provenance(bench):
    run = bench.run("pos")
    assert score_rating(bench.store, bench.workspace, run)[0] == []
    prompt = bench.prompt("pos", "x", "a dog", ("dog",), {"attention_check": False})
    g = bench.generation(run, prompt)
    bench.store.add_annotation(
        "rating",
        "rating/x/r1",
        bench.store.get_or_create_rater("r1"),
        {},
        parsed=_parsed("dog", False, 4),
        generation_id=g.id,
        prompt_id=prompt.id,
    )
    with pytest.raises(ScoringError, match="no provenance 'pos' tag"):
        score_rating(bench.store, bench.workspace, run)
