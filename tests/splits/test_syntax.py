from collections import Counter, defaultdict

import pytest

from tests.splits.conftest import IMAGES

N = len(set(IMAGES))


@pytest.fixture(scope="module")
def items(build):
    return build("syntax", size=N)


def test_pairs_are_real_arcs(items, nlp):
    from daam.words import split_words

    for item in items:
        doc = nlp(item.text)
        words = split_words(item.text)
        head, dep = item.provenance["head"], item.provenance["dependent"]
        assert item.words == (head["text"], dep["text"])
        assert words[head["index"]][0] == head["text"] and words[dep["index"]][0] == dep["text"]
        dep_token = next(t for t in doc if t.idx == words[dep["index"]][1])
        assert dep_token.dep_ == item.provenance["relation"]
        assert dep_token.head.idx == words[head["index"]][1]
        assert [head["index"], dep["index"], item.provenance["relation"]] in item.provenance["arcs"]


def test_ten_commonest_relations(items, nlp):
    relations = Counter(i.provenance["relation"] for i in items)
    assert len(relations) == 10
    assert "ROOT" not in relations and {"det", "prep", "pobj", "nsubj"} <= set(relations)


def test_arcs_support_the_baselines(items):
    by_caption = defaultdict(list)
    for item in items:
        by_caption[item.provenance["caption_id"]].append(item)
    for group in by_caption.values():
        arcs = group[0].provenance["arcs"]
        assert all(i.provenance["arcs"] == arcs for i in group)
        n_words = len(group[0].provenance["words"])
        related = {frozenset(a[:2]) for a in arcs}
        unrelated = [(a, b) for a in range(n_words) for b in range(a + 1, n_words) if frozenset((a, b)) not in related]
        assert len(related) == len(arcs) and unrelated  # both baselines have pairs to draw from
        assert len({i.seed for i in group}) == 1  # one image per caption


def test_occurrences_disambiguate_repeated_words(items):
    repeated = [i for i in items if i.provenance["dependent"]["occurrence"] > 0]
    assert repeated  # e.g. the second "a" of a caption
    for item in repeated:
        dep = item.provenance["dependent"]
        earlier = [w for w in item.provenance["words"][: dep["index"]] if w.lower() == dep["text"].lower()]
        assert len(earlier) == dep["occurrence"]


def test_determinism(items, build):
    assert build("syntax", size=N, seed=0, limit=10) == items[:10]
    assert [i.key for i in build("syntax", size=10, seed=1)] != [i.key for i in build("syntax", size=10, seed=2)]
