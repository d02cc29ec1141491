import pytest

from benchmark.metrics.attribution import (
    IMAGE_TOO_POOR,
    TOO_ABSTRACT,
    LikertRating,
    attention_failures,
    item_scores,
    mos_by_tag,
)


def R(item, rater, tag, score=None, flag=None):
    return LikertRating(item, rater, tag, score, flag)


RATINGS = [
    # NOUN item 1: 4, 5, 3 -> median 4; ratings >= fair: 3 of 3
    R(1, "a", "NOUN", 4),
    R(1, "b", "NOUN", 5),
    R(1, "c", "NOUN", 3),
    # NOUN item 2: 2, 4, (excluded rater x: 1) -> median of (2, 4) = 3; >= fair: 1 of 2
    R(2, "a", "NOUN", 2),
    R(2, "b", "NOUN", 4),
    R(2, "x", "NOUN", 1),
    # ADV item 3: 3, 3, image too poor -> median 3 (the flag carries no score); >= fair: 2 of 2
    R(3, "a", "ADV", 3),
    R(3, "b", "ADV", 3),
    R(3, "c", "ADV", flag=IMAGE_TOO_POOR),
    # DET item 4: one rater says too abstract -> the item is dropped
    R(4, "a", "DET", 4),
    R(4, "b", "DET", flag=TOO_ABSTRACT),
    R(4, "c", "DET", 5),
    # ADV item 5: the only too-abstract vote comes from the excluded rater -> kept; 1, 2 -> 1.5
    R(5, "a", "ADV", 1),
    R(5, "b", "ADV", 2),
    R(5, "x", "ADV", flag=TOO_ABSTRACT),
]


def test_item_medians_after_exclusions():
    items, dropped = item_scores(RATINGS, excluded_raters={"x"})
    medians = {i.item: i.median for i in items}
    assert medians == {1: 4.0, 2: 3.0, 3: 3.0, 5: 1.5}
    assert dropped == {"DET": 1}
    by_item = {i.item: (i.n_ratings, i.n_fair_or_better) for i in items}
    assert by_item == {1: (3, 3), 2: (2, 1), 3: (2, 2), 5: (2, 0)}


def test_mos_and_share_per_tag():
    result = mos_by_tag(RATINGS, excluded_raters={"x"}, n_resamples=200)
    assert result["NOUN"].mos.value == pytest.approx((4 + 3) / 2) and result["NOUN"].mos.n == 2
    assert result["NOUN"].share_fair_or_better.value == pytest.approx(4 / 5)
    assert result["ADV"].mos.value == pytest.approx((3 + 1.5) / 2)
    assert result["ADV"].share_fair_or_better.value == pytest.approx(2 / 4)
    assert result["DET"].mos.n == 0 and result["DET"].n_items_dropped == 1
    assert result["all"].mos.value == pytest.approx((4 + 3 + 3 + 1.5) / 4)
    assert result["all"].share_fair_or_better.value == pytest.approx(6 / 9)
    assert result["all"].mos.ci_low <= result["all"].mos.value <= result["all"].mos.ci_high


def test_without_exclusions_the_raters_flag_drops_the_item():
    items, dropped = item_scores(RATINGS)
    assert 5 not in {i.item for i in items} and dropped == {"DET": 1, "ADV": 1}
    assert {i.item: i.median for i in items}[2] == 2.0  # median of 2, 4, 1


def test_dropping_poor_images_too():
    items, dropped = item_scores(RATINGS, excluded_raters={"x"}, drop_flags=(TOO_ABSTRACT, IMAGE_TOO_POOR))
    assert 3 not in {i.item for i in items} and dropped["ADV"] == 1


def test_attention_failures():
    ratings = [R("period", "a", "PUNCT", flag=TOO_ABSTRACT), R("period", "b", "PUNCT", 4), R(1, "c", "NOUN", 4)]
    assert attention_failures(ratings, {"period"}) == {"b"}


def test_invalid_ratings():
    with pytest.raises(ValueError, match="1-5"):
        R(1, "a", "NOUN", 6)
    with pytest.raises(ValueError, match="exactly one"):
        R(1, "a", "NOUN", 3, TOO_ABSTRACT)
    with pytest.raises(ValueError, match="flag"):
        R(1, "a", "NOUN", flag="boring")
    with pytest.raises(ValueError, match="same rater"):
        item_scores([R(1, "a", "NOUN", 3), R(1, "a", "NOUN", 4)])
    with pytest.raises(ValueError, match="several tags"):
        item_scores([R(1, "a", "NOUN", 3), R(1, "b", "VERB", 4)])
    with pytest.raises(ValueError, match="unknown flags"):
        item_scores([], drop_flags=("boring",))
