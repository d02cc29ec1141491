from collections import defaultdict

import pytest


@pytest.fixture(scope="module")
def items(build):
    return build("adjective")


def test_papers_examples_are_included(items):
    texts = {i.text for i in items}
    for adj in ("rusty", "metallic", "wooden"):
        assert f"a {adj} shovel sitting in a clean shed" in texts
    for adj in ("bumpy", "smooth", "spiky"):
        assert f"a {adj} ball rolling down a hill" in texts
    for adj in ("blue", "green", "red"):
        assert f"a {adj} car driving down the streets" in texts


def test_groups_share_one_seed_and_seed_prompt(items):
    groups = defaultdict(list)
    for item in items:
        groups[item.provenance["group"]].append(item)
    assert len(groups) >= 6
    assert len({g[0].seed for g in groups.values()}) == len(groups)  # groups differ
    for group in groups.values():
        assert len({i.seed for i in group}) == 1
        seed_prompt = group[0].provenance["seed_prompt"]
        assert group[0].text == seed_prompt and group[0].provenance["variant"] == 0
        assert [i.provenance["variant"] for i in group] == list(range(len(group)))
        assert len({i.provenance["noun"] for i in group}) == 1


def test_words_template_and_colours(items):
    for item in items:
        adj, noun = item.provenance["adjective"], item.provenance["noun"]
        assert item.words == (adj, noun)
        art = "an" if adj[0] in "aeiou" else "a"
        assert item.text.startswith(f"{art} {adj} {noun} ")
    colour = {i.provenance["adjective"]: i.provenance["is_colour"] for i in items}
    assert colour["green"] and colour["blue"] and not colour["rusty"] and not colour["smooth"]


def test_size_matches_the_catalogue(items):
    from benchmark.splits import split_info

    assert len(items) == split_info("adjective").default_size
