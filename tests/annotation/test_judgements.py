"""The paper's rules and the agreement measures as pure functions, without a server."""

from __future__ import annotations

import numpy as np
import pytest

from annotation.agreement import alpha_agreement, mask_iou, pairwise_iou
from annotation.interface import ONTOLOGY, ONTOLOGY_NOUNS, label_config
from annotation.judgements import item_score, passes_attention_check, presence_label
from annotation.studies import presence_choices


def r(rating=None, flag=None):
    return {"rating": rating, "flag": flag}


def test_item_score_is_the_median_of_three():
    assert item_score([r(4), r(2), r(5)]).score == 4.0
    assert item_score([r(1), r(1), r(5)]).score == 1.0
    assert item_score([r(4), r(2), r(5)]).n_ratings == 3


def test_image_too_poor_carries_no_rating():
    outcome = item_score([r(5), r(flag="image_too_poor"), r(4)])
    assert outcome.score == 4.5 and outcome.n_ratings == 2
    assert item_score([r(flag="image_too_poor")] * 3).dropped == "every rater called the image too poor"


def test_one_too_abstract_drops_the_item():
    outcome = item_score([r(5), r(5), r(flag="word_too_abstract")])
    assert outcome.score is None and "too abstract" in outcome.dropped


def test_attention_check_passes_only_on_the_two_cannot_rate_options():
    assert passes_attention_check(r(flag="word_too_abstract"))
    assert passes_attention_check(r(flag="image_too_poor"))
    assert not passes_attention_check(r(3))


def test_presence_label_is_the_two_most_picked_nouns():
    assert presence_label([["dog", "cat"], ["cat"], ["cat", "horse"]]) == ("cat", "dog")


def test_presence_ties_go_to_the_earlier_submission():
    assert presence_label([["horse"], ["cat"], ["dog"]]) == ("horse", "cat")
    assert presence_label([["dog"], ["cat"], ["horse"]]) == ("dog", "cat")
    # within one submission, the rater's own order decides
    assert presence_label([["zebra", "giraffe"], ["giraffe", "zebra"]]) == ("zebra", "giraffe")
    # a noun picked twice by one rater counts once
    assert presence_label([["bus", "bus"], ["car"], ["car"]]) == ("car", "bus")


def test_mask_iou_and_pairs():
    a = np.zeros((4, 4), bool)
    a[:2] = True
    b = np.zeros((4, 4), bool)
    b[1:3] = True
    assert mask_iou(a, b) == pytest.approx(4 / 12)
    empty = np.zeros((4, 4), bool)
    assert mask_iou(empty, empty) is None
    assert pairwise_iou([a, b, a]) == pytest.approx([4 / 12, 1.0, 4 / 12])
    assert pairwise_iou([empty, empty, a]) == [0.0, 0.0]


def test_alpha_matches_a_hand_computed_value_and_reports_what_it_cannot_compute():
    # nominal, two raters, four units: agree, agree, disagree, agree (values 0/1).
    matrix = np.array([[1, 0, 1, 0], [1, 0, 0, 0]], dtype=float)
    # pairable values: 1,1 | 0,0 | 1,0 | 0,0 -> n=8, n1=3, n0=5; Do = 2/8; De = 2*3*5/(8*7)
    expected = 1 - (2 / 8) / (2 * 3 * 5 / (8 * 7))
    assert alpha_agreement(matrix, "nominal").value == pytest.approx(expected)
    lonely = np.array([[1, np.nan], [np.nan, 2]])
    assert alpha_agreement(lonely, "ordinal").value is None
    same = np.array([[3, 3], [3, 3]], dtype=float)
    result = alpha_agreement(same, "ordinal")
    assert result.value is None and result.n_units == 2


def test_ontology_is_appendix_c_and_presence_choices_add_missing_prompt_nouns():
    assert len(ONTOLOGY) == 15 and len(ONTOLOGY_NOUNS) == len(set(ONTOLOGY_NOUNS)) == 42
    assert ONTOLOGY["wild animal"] == ("bear", "elephant", "giraffe", "zebra")
    choices = presence_choices([("cat", "dog"), ("cat", "tiger")])
    assert choices[:42] == ONTOLOGY_NOUNS and choices[42:] == ("tiger",)


def test_label_configs_name_the_controls_ingest_expects():
    seg = label_config("segmentation")
    assert '<BrushLabels name="brush" toName="image" value="$nouns"/>' in seg
    assert '<PolygonLabels name="polygon" toName="image" value="$nouns"/>' in seg
    rating = label_config("rating")
    for option in ("bad", "poor", "fair", "good", "excellent", "image too poor", "word too abstract"):
        assert f'<Choice value="{option}"/>' in rating
    presence = label_config("presence", ["hot dog", "a<b"])
    assert '<Choice value="hot dog"/>' in presence and '<Choice value="a&lt;b"/>' in presence
