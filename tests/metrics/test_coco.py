from benchmark.metrics.coco import COCO80, is_coco_class, normalise_label


def test_eighty_distinct_classes():
    assert len(COCO80) == len(set(COCO80)) == 80


def test_membership_with_plurals_and_spacing():
    assert is_coco_class("dog") and is_coco_class("Dogs") and is_coco_class("buses")
    assert is_coco_class("Hot  Dog") and is_coco_class("cell phones")
    assert not is_coco_class("spaceship") and not is_coco_class("shed")
    assert not is_coco_class("knives")  # irregular plural: callers pass lemmas
    assert normalise_label("  Teddy   Bear ") == "teddy bear"


def test_one_list_of_coco_names_across_packages():
    from baselines.coco import COCO_CLASSES
    from benchmark.metrics.coco import COCO80
    from benchmark.splits.coco_classes import coco_class_names

    assert COCO_CLASSES is COCO80
    assert tuple(coco_class_names()) == COCO80
