import warnings

import pytest

from daam.words import WordNotFoundError, align


def test_start_and_end_tokens_are_not_words(clip_tokenizer):
    t = align(clip_tokenizer, "a giraffe and a zebra, ice-cream")
    assert t.token_ids[0] == 49406 and t.token_ids[-1] == 49407
    assert t.token_ids[1:-1] == (320, 22826, 537, 320, 22548, 267, 733, 268, 3867)  # clip-vit-large-patch14 ids
    assert all(0 not in w.tokens and len(t.token_ids) - 1 not in w.tokens for w in t.words)


def test_multi_token_words_and_punctuation(clip_tokenizer):
    t = align(clip_tokenizer, "a giraffe and a zebra, ice-cream 1girl!")
    assert t.word_texts == ["a", "giraffe", "and", "a", "zebra", ",", "ice-cream", "1girl", "!"]
    assert t.find("ice-cream").tokens == (7, 8, 9)  # ice, -, cream
    assert len(t.find("1girl").tokens) == 2  # 1, girl
    assert t.find(",").tokens == (6,)
    assert t.find("ZEBRA").tokens == (5,)  # case-insensitive, as CLIP lower-cases


def test_repeated_words_have_occurrences(clip_tokenizer):
    t = align(clip_tokenizer, "a dog chases a dog")
    assert t.find("dog", 0).tokens == (2,)
    assert t.find("dog", 1).tokens == (5,)
    assert t.find("a", 1).tokens == (4,)
    with pytest.raises(WordNotFoundError, match="occurs 2 time"):
        t.find("dog", 2)


def test_unknown_word_lists_the_prompt_words(clip_tokenizer):
    t = align(clip_tokenizer, "a red car")
    with pytest.raises(WordNotFoundError) as e:
        t.find("dog")
    assert "'a', 'red', 'car'" in str(e.value)


def test_long_prompt_warns_and_names_the_cut(clip_tokenizer):
    prompt = " ".join(["cat"] * 80) + " zebra"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = align(clip_tokenizer, prompt)
    messages = [str(w.message) for w in caught if "limit" in str(w.message)]
    assert messages and "zebra" in messages[0] and "77" in messages[0]
    assert len(t.token_ids) == 77 and t.token_ids[-1] == 49407
    assert len(t.words) == 75
    with pytest.raises(WordNotFoundError, match="cut off"):
        t.find("zebra")


def test_extra_whitespace_keeps_offsets(clip_tokenizer):
    t = align(clip_tokenizer, "  a   dog ")
    w = t.find("dog")
    assert t.prompt[w.start : w.end] == "dog" and w.tokens == (2,)
