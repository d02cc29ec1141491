from collections import Counter

import pytest

from benchmark.splits.ontology import ontology


@pytest.fixture(scope="module")
def items(build):
    return build("cohyponym")


def test_ontology_is_the_papers_appendix_c():
    onto = ontology()
    assert len(onto.nouns) == 42
    assert len({onto.parent(n) for n in onto.nouns}) == 15
    assert onto.parents["giraffe"] == ("ROOT", "MAMMAL", "WILD ANIMAL")
    assert onto.parents["hot dog"] == ("ROOT", "FOOD", "DISH")
    assert onto.parents["spoon"] == ("ROOT", "KITCHENWARE", "CUTLERY")
    assert onto.are_cohyponyms("giraffe", "zebra") and not onto.are_cohyponyms("cake", "pizza")
    assert len(onto.cohyponym_pairs()) == 40


def test_exactly_half_are_cohyponyms(items, build):
    assert len(items) == 1000
    assert Counter(i.provenance["cohyponym"] for i in items) == {True: 500, False: 500}
    odd = build("cohyponym", size=7)
    assert Counter(i.provenance["cohyponym"] for i in odd) == {True: 3, False: 4}


def test_flags_and_parents_match_the_ontology(items):
    onto = ontology()
    for item in items:
        a, b = item.provenance["nouns"]
        assert a != b
        assert item.provenance["cohyponym"] == onto.are_cohyponyms(a, b)
        assert item.provenance["parents"] == [onto.parent(a), onto.parent(b)]
        assert item.words == (a.split()[-1], b.split()[-1])


def test_articles(items):
    texts = {i.text for i in items}
    for item in items:
        a, b = item.provenance["nouns"]
        first, second = item.text.split(" and ")
        for phrase, noun in ((first, a), (second, b)):
            art = phrase.split()[0]
            assert phrase == f"{art} {noun}"
            assert art == ("an" if noun[0] in "aeiou" else "a")
    assert any(t.startswith("an apple") or " an apple" in t or "an orange" in t for t in texts)


def test_every_pair_kind_is_drawn_and_seeds_differ(items):
    onto = ontology()
    drawn = {frozenset(i.provenance["nouns"]) for i in items if i.provenance["cohyponym"]}
    assert drawn == {frozenset(p) for p in onto.cohyponym_pairs()}  # 500 draws cover the 40 pairs
    assert len({i.seed for i in items}) == len(items)


def test_determinism(items, build):
    assert build("cohyponym", seed=0, limit=1000) == items
    assert [i.text for i in build("cohyponym", seed=1)] != [i.text for i in items]
