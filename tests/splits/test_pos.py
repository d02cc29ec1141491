from collections import Counter

import pytest

from benchmark.splits.pos import NotEnoughWordsError

SIZE = 2  # words per tag; the synthetic captions have at least two of each common tag


@pytest.fixture(scope="module")
def items(build):
    return build("pos", size=SIZE)


def test_fourteen_commonest_tags_with_n_words_each(items, nlp, coco_captions):
    from benchmark.splits.coco import load_captions, sample_captions
    from benchmark.splits.seeds import rng

    main = [i for i in items if not i.provenance["attention_check"]]
    per_tag = Counter(i.provenance["pos"] for i in main)
    assert len(per_tag) == 14 and set(per_tag.values()) == {SIZE}
    # the captions parsed: one per image, all of them here (fewer than one parse chunk)
    parsed = sample_captions(load_captions(coco_captions), None, rng(0, "pos-sample"), "pos")
    counts = Counter(t.pos_ for c in parsed for t in nlp(c.text))
    ranked = sorted(counts, key=lambda tag: (-counts[tag], tag))
    assert set(per_tag) == set(ranked[:14])
    assert all(ranked.index(i.provenance["pos"]) + 1 == i.provenance["tag_rank"] for i in main)


def test_each_item_is_one_word_in_its_caption_with_that_tag(items, nlp):
    from daam.words import split_words

    for item in items:
        if item.provenance["attention_check"]:
            continue
        (word,) = item.words
        index = item.provenance["word_index"]
        assert item.text == item.provenance["caption"]
        assert split_words(item.text)[index][0] == word
        token = nlp(item.text)[item.provenance["token_index"]]
        assert token.text == word and token.pos_ == item.provenance["pos"]


def test_seeds_vary_per_item_and_pairs_are_unique(items):
    assert len({i.seed for i in items}) == len(items)
    pairs = [(i.provenance["caption_id"], i.provenance["word_index"], i.text) for i in items]
    assert len(set(pairs)) == len(pairs)


def test_attention_checks_target_punctuation(items):
    from daam.words import split_words

    checks = [i for i in items if i.provenance["attention_check"]]
    main = len(items) - len(checks)
    assert len(checks) == round(0.05 * main) >= 1
    for check in checks:
        (mark,) = check.words
        assert not mark.isalnum() and mark in check.text
        assert split_words(check.text)[check.provenance["word_index"]][0] == mark
        assert check.key.startswith("pos-check-")
    assert all(i.provenance["attention_check"] is False for i in items if i not in checks)


def test_attention_checks_scale_with_size(build):
    checks = [i for i in build("pos", size=1) if i.provenance["attention_check"]]
    assert len(checks) == round(0.05 * 14)


def test_determinism(items, build):
    assert build("pos", size=SIZE, seed=0, limit=len(items)) == items
    other = build("pos", size=SIZE, seed=5)
    assert [i.key for i in other] != [i.key for i in items]


def test_too_few_words_names_the_size(build):
    with pytest.raises(NotEnoughWordsError, match="pass --size"):
        build("pos", size=50)
