import numpy as np
import pytest

from baselines import BaselineError, load_baseline
from baselines.mask2former import label_name, labels_for_word, union_of_instances
from core.coco import COCO80 as COCO_CLASSES
from core.coco import coco_class


def test_eighty_coco_classes():
    assert len(COCO_CLASSES) == len(set(COCO_CLASSES)) == 80


@pytest.mark.parametrize(
    "word,cls",
    [
        ("dog", "dog"),
        ("Dogs", "dog"),
        ("horses", "horse"),
        ("buses", "bus"),
        ("benches", "bench"),
        ("knives", "knife"),
        ("men", "person"),
        ("woman", "person"),
        ("people", "person"),
        ("ties", "tie"),
        ("Hot  Dog", "hot dog"),
        ("sofa", "couch"),
        ("television", "tv"),
        ("ski", "skis"),
        ("skis", "skis"),
        ("glass", None),
        ("puppy", None),
        ("zebu", None),
        ("grass", None),
    ],
)
def test_words_match_coco_classes_by_lemma_and_synonym(word, cls):
    assert coco_class(word) == cls


def test_labels_of_other_label_sets():
    panoptic = {0: "person", 1: "tree-merged", 2: "wall-other-merged", 3: "dining table"}
    assert label_name("wall-other-merged") == "wall"
    assert labels_for_word("trees", panoptic) == {1} and labels_for_word("wall", panoptic) == {2}
    assert labels_for_word("table", panoptic) == {3} and labels_for_word("men", panoptic) == {0}
    assert labels_for_word("zebra", panoptic) == set()


def test_word_map_is_the_union_of_its_class_instances():
    masks = np.zeros((3, 4, 4), bool)
    masks[0, :2, :2] = masks[1, 2:, 2:] = masks[2, :, 1] = True
    out = union_of_instances(masks, [16, 16, 17], {16}, (4, 4))
    assert out.dtype == np.float32 and out.sum() == 8 and out[0, 0] == 1 and out[3, 3] == 1 and out[2, 1] == 0


@pytest.fixture(scope="module")
def m2f(mask2former_path):
    # score 0 keeps every query, so the random tiny model predicts instances to union
    return load_baseline("mask2former", model=str(mask2former_path), score_threshold=0.0)


def test_instance_maps_end_to_end(m2f, image):
    masks, labels, scores = m2f.instances(image)
    assert masks.shape == (8, 40, 56) and len(labels) == len(scores) == 8
    words = ["zebu"] + [m2f.id2label[i] for i in dict.fromkeys(labels)]
    out = m2f.predict(image, "p", words)
    assert out.unsupported == ("zebu",) and out.words == words and out.size == (40, 56)
    assert (out.maps["zebu"] == 0).all()
    for word in words[1:]:
        ids = labels_for_word(word, m2f.id2label)
        expected = np.any([m for m, label in zip(masks, labels, strict=True) if label in ids], axis=0)
        assert np.array_equal(out.maps[word], expected.astype(np.float32))
        assert set(np.unique(out.maps[word])) <= {0.0, 1.0}
    assert out.details["classes"][words[1]] == [words[1]]


def test_semantic_mode_partitions_the_image(mask2former_path, image):
    sem = load_baseline("mask2former", model=str(mask2former_path), mode="semantic")
    seg = sem.semantic(image)
    assert seg.shape == (40, 56)
    present = [sem.id2label[i] for i in np.unique(seg)]
    out = sem.predict(image, "p", present + ["zebu"])
    total = sum(out.maps[w] for w in present)
    assert np.array_equal(total, np.ones((40, 56), np.float32))  # each pixel has exactly one class
    assert out.unsupported == ("zebu",)


def test_bad_options(mask2former_path):
    with pytest.raises(BaselineError, match="mode"):
        load_baseline("mask2former", model=str(mask2former_path), mode="panoptic")
    with pytest.raises(BaselineError, match="score_threshold"):
        load_baseline("mask2former", model=str(mask2former_path), score_threshold=2)
