from core.coco import COCO80, is_coco_class, normalise_label


def test_eighty_distinct_classes():
    assert len(COCO80) == len(set(COCO80)) == 80


def test_membership_with_plurals_and_spacing():
    assert is_coco_class("dog") and is_coco_class("Dogs") and is_coco_class("buses")
    assert is_coco_class("Hot  Dog") and is_coco_class("cell phones")
    assert not is_coco_class("spaceship") and not is_coco_class("shed")
    assert not is_coco_class("knives")  # irregular plural: callers pass lemmas
    assert normalise_label("  Teddy   Bear ") == "teddy bear"


def test_one_list_of_coco_names_across_packages():
    from baselines import mask2former
    from benchmark.metrics import COCO80 as METRICS_COCO80
    from benchmark.splits.coco_classes import coco_class_names
    from core import coco

    COCO_CLASSES = coco.COCO80
    assert COCO_CLASSES is COCO80 and METRICS_COCO80 is COCO80
    assert tuple(coco_class_names()) == COCO80
    assert mask2former.coco_class is coco.coco_class  # the supervised baseline reads the same table


def test_one_synonym_table_and_player_is_no_person():
    from core.coco import ALIASES, SYNONYMS, coco_class

    assert set(ALIASES) <= set(COCO80)
    assert all(coco_class(alias) == name for name, aliases in ALIASES.items() for alias in aliases)
    assert "player" not in SYNONYMS and coco_class("player") is None and coco_class("players") is None
    assert coco_class("men") == "person" and coco_class("ski") == "skis"
