"""The real-image dataset readers on tiny datasets written in the published formats
(tests/real_fixtures.py): classes, exact masks, ignore masks, image sizes and clear errors."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
from PIL import Image

from benchmark.splits.datasets import DatasetError
from benchmark.splits.datasets.imagenet_seg import (
    BACKGROUND_CONCEPTS,
    imagenet_seg_prompt,
    read_imagenet_seg,
)
from benchmark.splits.datasets.voc import PROMPT_WORDS, VOC_CLASSES, read_voc, voc_prompt
from core.extras import missing_extra_message
from tests.real_fixtures import (
    COCO_CATEGORIES,
    IMAGENET_FIXTURE_NAMES,
    coco_expected,
    contour_polygons,
    imagenet_seg_expected,
    uncompressed_rle,
    voc_expected,
    write_coco_fixture,
    write_imagenet_seg_fixture,
    write_voc_fixture,
)

# ---------------------------------------------------------------------------- PASCAL VOC 2012


@pytest.fixture(scope="module")
def voc_root(tmp_path_factory):
    return write_voc_fixture(tmp_path_factory.mktemp("voc"), n=4)


def test_voc_reads_classes_masks_ignore_and_images(voc_root):
    samples = read_voc(voc_root)
    expected = voc_expected(4)
    assert [s.key for s in samples] == [e.name for e in expected]
    assert {len(s.classes) for s in samples} >= {1, 2}
    for s, e in zip(samples, expected):
        assert s.classes == tuple(e.masks)  # present classes, in the devkit's index order
        masks, ignore = s.truth()
        assert set(masks) == set(e.masks)
        for word, m in masks.items():
            assert m.dtype == bool and np.array_equal(m, e.masks[word])
        assert ignore is not None and ignore.any() and np.array_equal(ignore, e.ignore)
        assert not any((m & ignore).any() for m in masks.values())
        img = s.image()
        assert img.dtype == np.uint8 and img.shape == e.image.shape and img.shape[0] != img.shape[1]
        assert np.abs(img.astype(int) - e.image).mean() < 4  # a JPEG of the same pixels
        assert s.details["class_indices"] == [VOC_CLASSES.index(c.replace(" ", "")) + 1 for c in s.classes]


def test_voc_accepts_each_level_of_the_devkit_folder(voc_root):
    keys = [s.key for s in read_voc(voc_root)]
    assert [s.key for s in read_voc(voc_root / "VOCdevkit")] == keys
    assert [s.key for s in read_voc(voc_root / "VOCdevkit" / "VOC2012", image_set="trainval")] == keys


def test_voc_wrong_root_and_image_set_say_what_was_expected(voc_root, tmp_path):
    with pytest.raises(DatasetError, match="expected the folder holding VOCdevkit"):
        read_voc(tmp_path)
    with pytest.raises(DatasetError, match="not a folder"):
        read_voc(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match=r"no image set 'train'.*trainval, val"):
        read_voc(voc_root, image_set="train")


def test_voc_missing_image_and_colour_png_are_errors(tmp_path):
    root = write_voc_fixture(tmp_path / "a", n=2)
    voc = root / "VOCdevkit" / "VOC2012"
    (voc / "JPEGImages" / "2012_000001.jpg").unlink()
    with pytest.raises(DatasetError, match=r"2012_000001.*JPEGImages/2012_000001.jpg is missing"):
        read_voc(root)
    root = write_voc_fixture(tmp_path / "b", n=2)
    png = root / "VOCdevkit" / "VOC2012" / "SegmentationClass" / "2012_000000.png"
    Image.open(png).convert("RGB").save(png)
    with pytest.raises(DatasetError, match="converted to colours"):
        read_voc(root)


def test_voc_mask_of_another_size_than_its_image_is_an_error(tmp_path):
    root = write_voc_fixture(tmp_path, n=1)
    png = root / "VOCdevkit" / "VOC2012" / "SegmentationClass" / "2012_000000.png"
    im = Image.open(png)
    im.crop((0, 0, im.width - 2, im.height)).save(png)
    (sample,) = read_voc(root)
    with pytest.raises(DatasetError, match="but its image"):
        sample.truth()


def test_voc_prompt_articles_and_lists():
    assert voc_prompt(("dog",)) == ("a photograph of a dog", ("dog",))
    assert voc_prompt(["dog", "cat"]) == ("a photograph of a dog and a cat", ("dog", "cat"))
    assert voc_prompt(("aeroplane", "potted plant", "tv monitor"))[0] == (
        "a photograph of an aeroplane, a potted plant and a tv monitor"
    )
    assert sorted(PROMPT_WORDS) == sorted(VOC_CLASSES) and len(set(PROMPT_WORDS.values())) == 20
    for bad in ((), ("diningtable",), ("dog", "dog")):
        with pytest.raises(ValueError):
            voc_prompt(bad)


# ---------------------------------------------------------------------------- ImageNet-Segmentation


@pytest.fixture(scope="module")
def mat_path(tmp_path_factory):
    return write_imagenet_seg_fixture(tmp_path_factory.mktemp("imagenet") / "gtsegs_ijcv.mat", n=4)


def test_imagenet_seg_reads_the_matlab_file(mat_path):
    assert mat_path.read_bytes()[:10] == b"MATLAB 7.3"
    samples = read_imagenet_seg(mat_path, IMAGENET_FIXTURE_NAMES)
    expected = imagenet_seg_expected(4)
    assert [s.key for s in samples] == ["0", "1", "2", "3"]
    for s, e in zip(samples, expected):
        word = IMAGENET_FIXTURE_NAMES[e.wnid]
        assert s.classes == (word,)
        assert s.details == {"index": int(s.key), "id": e.id, "wnid": e.wnid, "lemma": None}
        img = s.image()
        assert img.dtype == np.uint8 and img.shape[0] != img.shape[1]
        assert np.array_equal(img, e.image)  # stored [3, W, H], read back H x W x 3
        masks, ignore = s.truth()
        assert ignore is None and list(masks) == [word]
        assert masks[word].dtype == bool and np.array_equal(masks[word], e.mask)
        assert imagenet_seg_prompt(s) == (f"a {word}", (word,))
    assert "background" in BACKGROUND_CONCEPTS


def _fake_wordnet(monkeypatch, lemmas=None, error=None):
    """NLTK's WordNet replaced: ``lemmas`` maps synset offsets to first lemmas, or every lookup
    raises ``error`` (as NLTK does when the corpus was never downloaded)."""

    class Synset:
        def __init__(self, name):
            self._name = name

        def lemmas(self):
            return [types.SimpleNamespace(name=lambda: self._name)]

    def synset_from_pos_and_offset(pos, offset):
        if error is not None:
            raise error
        assert pos == "n"
        return Synset(lemmas[offset])

    corpus = types.ModuleType("nltk.corpus")
    corpus.wordnet = types.SimpleNamespace(synset_from_pos_and_offset=synset_from_pos_and_offset)
    nltk = types.ModuleType("nltk")
    nltk.corpus = corpus
    monkeypatch.setitem(sys.modules, "nltk", nltk)
    monkeypatch.setitem(sys.modules, "nltk.corpus", corpus)


def test_imagenet_seg_names_through_wordnet_and_conceptattention_table(mat_path, tmp_path, monkeypatch):
    lemmas = {2121808: "domestic_cat", 2084071: "dog", 2691156: "airplane", 3001627: "chair"}
    _fake_wordnet(monkeypatch, lemmas)
    samples = read_imagenet_seg(mat_path)  # no table: the lemma itself
    assert [s.classes[0] for s in samples] == ["domestic cat", "dog", "domestic cat", "airplane"]
    assert samples[0].details["lemma"] == "domestic cat"
    table = tmp_path / "imagenet_class_map.json"  # ConceptAttention's format: lemma -> simple word
    table.write_text(json.dumps({"categories": {"domestic cat": "cat", "airplane": "plane"}}))
    samples = read_imagenet_seg(mat_path, table)
    assert [s.classes[0] for s in samples] == ["cat", "dog", "cat", "plane"]
    assert imagenet_seg_prompt(samples[3]) == ("a plane", ("plane",))


def test_imagenet_seg_without_wordnet_or_names_says_how_to_name_classes(mat_path, monkeypatch):
    _fake_wordnet(monkeypatch, error=LookupError("Resource wordnet not found."))
    with pytest.raises(DatasetError, match=r"nltk.downloader wordnet.*names mapping"):
        read_imagenet_seg(mat_path)
    assert len(read_imagenet_seg(mat_path, IMAGENET_FIXTURE_NAMES)) == 4  # a table needs no WordNet


def test_imagenet_seg_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_imagenet_seg(tmp_path / "gtsegs_ijcv.mat", IMAGENET_FIXTURE_NAMES)
    not_hdf5 = tmp_path / "v5.mat"
    not_hdf5.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    with pytest.raises(DatasetError, match="not an HDF5"):
        read_imagenet_seg(not_hdf5, IMAGENET_FIXTURE_NAMES)
    no_gt = write_imagenet_seg_fixture(tmp_path / "no_gt.mat", n=2, fields=("img", "id"))
    with pytest.raises(DatasetError, match=r"/value lacks /value/gt \(it has: id, img\)"):
        read_imagenet_seg(no_gt, IMAGENET_FIXTURE_NAMES)
    import h5py

    other = tmp_path / "other.mat"
    with h5py.File(other, "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(DatasetError, match=r"no struct 'value' \(it has: data\)"):
        read_imagenet_seg(other, IMAGENET_FIXTURE_NAMES)


def test_imagenet_seg_id_that_is_not_a_synset_is_an_error(tmp_path):
    import h5py

    path = write_imagenet_seg_fixture(tmp_path / "g.mat", n=2)
    with h5py.File(path, "r+") as f:
        ds = f[f["value"]["id"][1, 0]]
        ds[0, 0] = ord("x")
    with pytest.raises(DatasetError, match=r"image 1's id 'x\d+_\d+' does not start with a WordNet synset id"):
        read_imagenet_seg(path, IMAGENET_FIXTURE_NAMES)


def test_missing_h5py_names_the_real_extra():
    assert missing_extra_message(ModuleNotFoundError("No module named 'h5py'", name="h5py")) == (
        "h5py is not installed: pip install 'daam-bench[real]'"
    )


# ---------------------------------------------------------------------------- COCO 2017 (the fixture)


def test_coco_fixture_round_trips_through_pycocotools(tmp_path):
    from pycocotools.coco import COCO

    images_dir, instances_json, captions_json = write_coco_fixture(tmp_path, n=4)
    assert (images_dir.name, instances_json.name, captions_json.name) == (
        "val2017",
        "instances_val2017.json",
        "captions_val2017.json",
    )
    coco = COCO(str(instances_json))
    assert {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())} == {
        c["id"]: c["name"] for c in COCO_CATEGORIES
    }
    expected = coco_expected(4)
    crowd = 0
    for e in expected:
        info = coco.loadImgs(e.image_id)[0]
        assert (info["height"], info["width"]) == e.image.shape[:2] and info["height"] != info["width"]
        with Image.open(images_dir / info["file_name"]) as im:
            assert im.size == (info["width"], info["height"])
        anns = coco.loadAnns(coco.getAnnIds(imgIds=e.image_id, iscrowd=None))
        assert len(anns) == len(e.objects)
        for a, o in zip(anns, e.objects):
            assert a["category_id"] == o.category_id and a["iscrowd"] == o.iscrowd
            assert isinstance(a["segmentation"], dict if o.iscrowd else list)
            assert np.array_equal(coco.annToMask(a).astype(bool), o.mask)  # polygons exact, too
            assert a["area"] == o.mask.sum()
            crowd += o.iscrowd
    assert 0 < crowd < sum(len(e.objects) for e in expected)
    captions = json.loads(captions_json.read_text())
    assert set(captions) == {"info", "licenses", "images", "annotations"}
    by_image = {}
    for a in captions["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a["caption"])
    assert by_image == {e.image_id: list(e.captions) for e in expected}


def test_rle_and_polygon_encoders_against_pycocotools():
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(0)
    for first in (False, True):
        m = rng.random((7, 5)) < 0.4
        m[0, 0] = first
        rle = mask_utils.frPyObjects(uncompressed_rle(m), 7, 5)
        assert np.array_equal(mask_utils.decode(rle).astype(bool), m)
    ring = np.zeros((12, 9), bool)
    ring[2:9, 2:7] = True
    polys = contour_polygons(ring)
    assert len(polys) == 1 and len(polys[0]) >= 6
    assert np.array_equal(mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polys, 12, 9))).astype(bool), ring)
