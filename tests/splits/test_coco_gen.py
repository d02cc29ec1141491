import json
from collections import Counter

import pytest

from benchmark.splits import SplitOptions, build_split
from benchmark.splits.coco import CocoCaptionsError
from tests.splits.conftest import CAPTIONS, IMAGES, write_coco

N_IMAGES = len(set(IMAGES))


def test_captions_are_sampled_one_per_image(build):
    items = build("coco-gen", size=N_IMAGES)
    assert len(items) == N_IMAGES
    assert len({i.provenance["image_id"] for i in items}) == N_IMAGES
    assert all(i.text in CAPTIONS for i in items)
    assert all(i.key == f"coco-{i.provenance['caption_id']}" for i in items)


def test_determinism_by_seed(build, coco_captions):
    a = build("coco-gen", size=10, seed=3)
    assert build_split("coco-gen", SplitOptions(coco_captions=coco_captions, size=10, seed=3)) == a
    assert [i.key for i in build("coco-gen", size=10, seed=4)] != [i.key for i in a]


def test_words_are_the_nouns_as_written(build, nlp):
    for item in build("coco-gen", size=N_IMAGES):
        nouns = [t.text for t in nlp(item.text) if t.pos_ == "NOUN"]
        assert [w.lower() for w in item.words] == list(dict.fromkeys(n.lower() for n in nouns))
        assert list(item.words) == item.provenance["nouns"]


def test_coco_classes_by_lemma_and_multi_word_heads(build):
    items = {i.text: i for i in build("coco-gen", size=N_IMAGES)}
    if "A hot dog and a cell phone on a wooden table." in items:
        classes = items["A hot dog and a cell phone on a wooden table."].provenance["coco_classes"]
        assert classes == {"dog": "hot dog", "phone": "cell phone", "table": "dining table"}
    if "Two zebras grazing in a field of grass." in items:
        assert items["Two zebras grazing in a field of grass."].provenance["coco_classes"] == {"zebras": "zebra"}
    if "A person holding a tennis racket on a court" in items:
        assert items["A person holding a tennis racket on a court"].provenance["coco_classes"] == {
            "person": "person",
            "racket": "tennis racket",
        }


def test_class_rule_on_chosen_captions(tmp_path, nlp):
    captions = [
        "A hot dog and a cell phone on a wooden table.",
        "Two zebras grazing in a field of grass.",
        "A person holding a tennis racket on a court",
        "Three men eating pizza next to a dog",
    ]
    path = write_coco(tmp_path / "c.json", captions, [1, 2, 3, 4])
    items = {
        i.text: i.provenance["coco_classes"] for i in build_split("coco-gen", SplitOptions(coco_captions=path, size=4))
    }
    assert items[captions[0]] == {"dog": "hot dog", "phone": "cell phone", "table": "dining table"}  # "cell" no class
    assert items[captions[1]] == {"zebras": "zebra"}  # lemma; "field", "grass" are no classes
    assert items[captions[2]] == {"person": "person", "racket": "tennis racket"}
    assert items[captions[3]] == {"men": "person", "pizza": "pizza", "dog": "dog"}  # alias by lemma


def test_limit_previews_the_full_split(build):
    full = build("coco-gen", size=20)
    assert build("coco-gen", size=20, limit=5) == full[:5]


def test_too_few_images_names_the_size(build):
    with pytest.raises(CocoCaptionsError, match=f"only {N_IMAGES} images; pass --size {N_IMAGES}"):
        build("coco-gen")  # default 500


def test_not_a_captions_file(tmp_path):
    instances = tmp_path / "instances.json"
    instances.write_text(
        json.dumps({"images": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1, "bbox": [0, 0, 1, 1]}]})
    )
    with pytest.raises(CocoCaptionsError, match="lacks 'caption'.*captions_val2014.json"):
        build_split("coco-gen", SplitOptions(coco_captions=instances, size=1))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises((CocoCaptionsError, ValueError)):
        build_split("coco-gen", SplitOptions(coco_captions=broken, size=1))


def test_unreal_gen_keeps_the_noun_multiset(build):
    coco = build("coco-gen", size=N_IMAGES)
    unreal = build("unreal-gen", size=N_IMAGES)
    assert [u.provenance["source_caption"] for u in unreal] == [c.text for c in coco]  # same captions
    before = Counter(s["original"].lower() for u in unreal for s in u.provenance["swaps"])
    after = Counter(s["new"].lower() for u in unreal for s in u.provenance["swaps"])
    assert before == after and sum(before.values()) > 50
    assert sum(u.text != u.provenance["source_caption"] for u in unreal) > N_IMAGES // 2  # nouns did move


def test_unreal_gen_prompts_carry_their_swaps(build):
    for u in build("unreal-gen", size=N_IMAGES):
        prompt_words = u.text.lower().replace(",", " ").replace(".", " ").split()
        for swap in u.provenance["swaps"]:
            assert swap["new"].lower() in prompt_words
            assert swap["new"] in u.words or swap["new"].lower() in (w.lower() for w in u.words)
        assert set(w.lower() for w in u.words) == set(n.lower() for n in u.provenance["nouns"])
        assert u.key == f"unreal-{u.provenance['caption_id']}"
        assert u.text[0].isupper() == u.provenance["source_caption"][0].isupper()


def test_unreal_gen_determinism(build):
    a = build("unreal-gen", size=N_IMAGES, seed=1)
    b = build("unreal-gen", size=N_IMAGES, seed=2)
    assert [i.text for i in a] != [i.text for i in b]
    assert build("unreal-gen", size=N_IMAGES, seed=1, limit=3) == a[:3]
