"""Real-image splits end to end: `bench run --split coco-real` on the shipped toy model, with a
COCO-format dataset made from toy-world renders (exact masks), scored and reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import db
from benchmark.cli import main
from benchmark.toy.shipped import shipped_model
from tests.real_fixtures import (
    IMAGENET_FIXTURE_NAMES,
    coco_expected,
    imagenet_seg_expected,
    voc_expected,
    write_coco_fixture,
    write_imagenet_seg_fixture,
    write_voc_fixture,
)

pytestmark = pytest.mark.skipif(shipped_model() is None, reason="the toy model is not shipped")

# captions put before the fixture's own (smaller annotation ids come first): image 139's first
# names no category ("wall"), image 250's names a cat it does not show
EXTRA_CAPTIONS = {139: "A plain grey wall.", 250: "A dog and a cat."}


def _coco(root: Path) -> tuple[Path, Path, Path]:
    """tests/real_fixtures' COCO 2017 files (64 px, non-square; polygons and crowd RLE), with
    ``EXTRA_CAPTIONS`` first."""
    images, instances, captions = write_coco_fixture(root)
    data = json.loads(captions.read_text())
    data["annotations"] = [
        {"image_id": image_id, "id": k + 1, "caption": text}
        for k, (image_id, text) in enumerate(EXTRA_CAPTIONS.items())
    ] + data["annotations"]
    captions.write_text(json.dumps(data))
    return images, instances, captions


@pytest.fixture
def coco(tmp_path):
    return _coco(tmp_path / "coco")


def _args(coco, ws, *extra):
    images, inst, caps = coco
    return [
        "run",
        "--split",
        "coco-real",
        "--model",
        "toy",
        "--steps",
        "5",
        "--coco-images",
        str(images),
        "--coco-instances",
        str(inst),
        "--coco-captions",
        str(caps),
        "--workspace",
        str(ws),
        "--threads",
        "1",
        "--json",
        *extra,
    ]


def test_read_coco_takes_names_masks_and_captions_from_the_files(coco):
    from benchmark.splits.datasets.coco import read_coco

    samples = read_coco(*coco)
    expected = coco_expected(4)
    assert [s.key for s in samples] == [str(e.image_id) for e in expected]
    for sample, e in zip(samples, expected):
        masks, ignore = sample.truth()
        assert ignore is None
        union: dict[str, np.ndarray] = {}
        for o in e.objects:  # a class's truth: the union of its instances, crowd RLE included
            union[o.name] = union.get(o.name, np.zeros_like(o.mask)) | o.mask
        assert sample.classes == tuple(union) and set(masks) == set(union)
        for name, mask in union.items():
            assert masks[name].dtype == bool and np.array_equal(masks[name], mask)
        assert sample.image().shape == e.image.shape
        assert sample.captions[-len(e.captions) :] == e.captions
    assert samples[0].captions[0] == EXTRA_CAPTIONS[139]


def test_coco_real_runs_end_to_end_scores_and_resumes(tmp_path, coco, capsys):
    ws = tmp_path / "ws"
    methods = ("--methods", "whole-image", "daam-vocabulary")  # a post-hoc and a generation-time method
    assert main(_args(coco, ws, *methods)) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["prompts"], out["done"], out["failed"]) == (4, 4, 0)
    with db.connect(None, workspace=ws) as store:
        run = store.get_run(out["run"])
        assert run.settings["strength"] == 0.6
        gens = store.generations(run.id)
        prompts = {g.id: store.get_prompt(g.prompt_id) for g in gens}
        texts = {p.provenance["sample"]: p.text for p in prompts.values()}
        # image 139's first caption names no category ("wall"), nor its second: spaCy tags "teddy bear"
        # there as a proper noun (words are common nouns, as in COCO-Gen); its third is the prompt
        assert texts["139"] == "A teddy bear in front of a plain grey wall" and texts["250"] == EXTRA_CAPTIONS[250]
        by_sample = {p.provenance["sample"]: p for p in prompts.values()}
        assert by_sample["139"].words == ("teddy", "bear", "front", "wall")
        assert by_sample["139"].provenance["categories"] == {"bear": "teddy bear"}  # its head word
        assert by_sample["139"].provenance["coco_classes"] == {"bear": "teddy bear"}
        rater = store.get_rater("dataset")
        assert rater.kind == "dataset"
        truth = store.masks(run_id=run.id, source="dataset")
        assert truth and all(m.rater_id == rater.id for m in truth)
        assert [m.word for m in truth if not db.decode_mask(m).any()] == ["cat"]  # 250's cat: absent
        for g in gens:
            # 80x64 and 64x96 images at the toy's 32 px: the longer side 32, the aspect kept
            assert (ws / g.image_path).is_file() and max(g.height, g.width) == 32 and g.height != g.width
            assert {r.method for r in store.word_maps(g.id)} == {"daam", "whole-image", "daam-vocabulary"}
            vocab = {r.path for r in store.word_maps(g.id, method="daam-vocabulary")}
            assert vocab == {f"maps/{run.name}/{g.id}.daam-vocabulary.safetensors"}
            assert (ws / "baselines" / "daam-vocabulary" / f"{g.id}.npz").is_file()  # run_baseline read it
            assert all(m.height == g.height for m in store.masks(g.id, source="dataset"))
        scores = {(s.method, s.metric): s for s in store.scores(run_id=run.id)}
    # 139 bear; 176 horse, dog; 213 cat; 250 dog (its cat absent): 5 pairs, all COCO classes
    for method in ("daam@0.4", "whole-image", "daam-vocabulary"):
        for metric in ("mIoU-all", "mIoU80"):
            s = scores[(method, metric)]
            assert s.n == 5 and 0 <= s.ci_low <= s.value <= s.ci_high <= 1, (method, metric)
    assert scores[("daam@0.4", "mIoU-all")].details["truth"] == "dataset"
    assert ("daam@0.3", "mIoU-all") in scores and ("daam", "mIoU-sweep") in scores
    notes = " ".join(out["notes"])
    assert "1 words name a class absent" in notes and "5 words name no class of the dataset" in notes  # photo...
    # the report shows the methods side by side, with intervals and n
    report = ws / "report" / out["run"]
    md = (report / "report.md").read_text()
    assert "Real images: methods side by side" in md and "daam-vocabulary" in md and "(n=5)" in md
    assert "Real images" in (report / "report.html").read_text()
    assert main(["report", "--workspace", str(ws)]) == 0  # its default --out: <workspace>/report
    assert "| daam@0.4 |" in (ws / "report" / "report.md").read_text()
    capsys.readouterr()
    # the same command again: nothing to generate, no model loaded
    assert main(_args(coco, ws, *methods)) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["generated_now"] == 0 and again["done"] == 4


def test_captions_per_image_and_limit(tmp_path, coco):
    from benchmark.splits import SplitOptions, build_split

    images, inst, caps = coco
    options = dict(coco_images=images, coco_instances=inst, coco_captions=caps)
    items = build_split("coco-real", SplitOptions(**options, captions_per_image=2))
    # up to two captions naming a category per image; only the third of 139's names one
    assert [i.key for i in items[:3]] == ["coco-real-139-2", "coco-real-176-0", "coco-real-176-1"]
    assert len(items) == 7
    assert [i.key for i in build_split("coco-real", SplitOptions(**options, limit=2))] == [
        "coco-real-139-2",
        "coco-real-176-0",
    ]


@pytest.mark.parametrize("missing", ["--coco-images", "--coco-instances", "--coco-captions"])
def test_missing_dataset_options_are_named(tmp_path, coco, capsys, missing):
    args = _args(coco, tmp_path / "ws")
    i = args.index(missing)
    del args[i : i + 2]
    assert main(args) == 2
    assert missing in capsys.readouterr().err


def test_bad_files_are_named(tmp_path, coco, capsys):
    images, inst, caps = coco
    bad = tmp_path / "broken.json"
    bad.write_text("{ not json")
    args = _args((images, bad, caps), tmp_path / "ws")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "not a JSON file" in err
    # an instances file given as captions: named, and what it lacks said
    assert main(_args((images, inst, inst), tmp_path / "ws")) == 2
    err = capsys.readouterr().err
    assert str(inst) in err and "caption" in err
    # an image the instances file lists is missing: that item fails, naming the file
    (images / "000000000176.jpg").unlink()
    assert main(_args((images, inst, caps), tmp_path / "ws2", "--no-report")) == 1
    assert "000000000176.jpg" in json.loads(capsys.readouterr().out)["failures"][0]["error"]


def test_voc_real_leaves_void_pixels_out(tmp_path, capsys):
    root = write_voc_fixture(tmp_path / "voc")
    ws = tmp_path / "ws"
    args = ["run", "--split", "voc-real", "--model", "toy", "--steps", "3", "--voc-root", str(root)]
    assert main([*args, "--workspace", str(ws), "--methods", "whole-image", "--no-report", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = voc_expected(4)
    assert out["done"] == len(expected)
    whole_ious = []
    with db.connect(None, workspace=ws) as store:
        run = store.get_run(out["run"])
        for g in store.generations(run.id):
            prompt = store.get_prompt(g.prompt_id)
            e = next(e for e in expected if e.name == prompt.provenance["sample"])
            # "potted plant" is mapped through its head word, the one DAAM word of the phrase
            assert set(prompt.provenance["categories"].values()) == set(e.masks)
            assert "plant" in prompt.words or "potted plant" not in e.masks
            masks = {m.word: db.decode_mask(m) for m in store.masks(g.id, source="dataset")}
            void = masks.pop("<void>")
            assert void.any() and void.shape == (g.height, g.width)
            whole_ious += [(t & ~void).sum() / (~void).sum() for t in masks.values() if t.any()]
        scores = {(s.method, s.metric): s for s in store.scores(run_id=run.id)}
    # the whole image's IoU with a class is the class's share of the pixels that are not void
    whole = scores[("whole-image", "mIoU-all")]
    assert whole.n == len(whole_ious) and whole.value == pytest.approx(np.mean(whole_ious))
    assert ("daam@0.4", "mIoU80") in scores  # VOC's classes are COCO's (aeroplane, potted plant...)


def test_imagenet_seg_end_to_end(tmp_path, capsys):
    mat = write_imagenet_seg_fixture(tmp_path / "gtsegs_ijcv.mat")
    names = tmp_path / "names.json"
    names.write_text(json.dumps(IMAGENET_FIXTURE_NAMES))
    ws = tmp_path / "ws"
    args = ["run", "--split", "imagenet-seg", "--model", "toy", "--steps", "3", "--imagenet-seg", str(mat)]
    assert main([*args, "--imagenet-names", str(names), "--workspace", str(ws), "--no-report", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["done"] == len(imagenet_seg_expected(4))
    with db.connect(None, workspace=ws) as store:
        run = store.get_run(out["run"])
        words = sorted(store.get_prompt(g.prompt_id).text for g in store.generations(run.id))
        assert all(w.startswith("a ") for w in words)
        scores = {(s.method, s.metric): s for s in store.scores(run_id=run.id)}
    assert scores[("daam@0.4", "mIoU-all")].n == 4


def test_missing_dataset_reader_is_a_clear_error(tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "benchmark.splits.datasets.imagenet_seg", None)  # a broken install
    mat = tmp_path / "gtsegs_ijcv.mat"
    mat.write_bytes(b"")
    assert main(["run", "--split", "imagenet-seg", "--model", "toy", "--imagenet-seg", str(mat)]) == 2
    assert "benchmark.splits.datasets.imagenet_seg" in capsys.readouterr().err


def test_images_fit_the_model_size_with_their_aspect_ratio():
    from benchmark.splits.real import fit_size, sample_truth

    assert fit_size(480, 640, 512, 8) == (384, 512)  # COCO's usual 640x480 at SD 2's 512
    assert fit_size(427, 640, 512, 8) == (344, 512)  # each side a multiple of the factor
    assert fit_size(640, 100, 32, 8) == (32, 8)  # never below one factor
    from benchmark.splits.datasets import Sample

    circle = np.zeros((64, 48), bool)
    circle[16:48, 8:40] = True
    ring = np.zeros((64, 48), bool)
    ring[14:16, 8:40] = True
    sample = Sample("s", lambda: None, ("circle",), lambda: ({"circle": circle}, ring))
    provenance = {"categories": {"circle": "circle", "star": "star"}}
    masks, ignore = sample_truth(sample, provenance, ["circle", "star", "picture"], (32, 24))
    assert set(masks) == {"circle", "star"}  # "picture" names no category: no truth
    assert masks["circle"].shape == ignore.shape == (32, 24) and masks["circle"].sum() == 16 * 16
    assert not masks["star"].any()  # named but absent: an empty mask


def test_unknown_methods_fail_before_anything_runs(tmp_path, coco, capsys):
    assert main(_args(coco, tmp_path / "ws", "--methods", "whole-imag")) == 2
    assert "did you mean 'whole-image'" in capsys.readouterr().err
    assert not (tmp_path / "ws" / "images").exists()


def test_strength_is_checked_and_only_for_real_images(tmp_path, coco, capsys):
    assert main(_args(coco, tmp_path / "ws", "--strength", "1.5")) == 2
    assert "--strength must be a number in (0, 1]" in capsys.readouterr().err
    assert main(["run", "--split", "shapes", "--strength", "0.5", "--workspace", str(tmp_path / "ws")]) == 2
    assert "--strength is for real-image splits" in capsys.readouterr().err


def test_categories_come_from_the_instances_file(coco):
    """A COCO-format dataset of other categories: names from its file, plurals through lemmas,
    mIoU80 only for the words whose category is one of COCO's 80."""
    from benchmark.splits import SplitOptions, build_split

    images, inst, caps = coco
    data = json.loads(inst.read_text())
    for c in data["categories"]:
        c["name"] = "robot" if c["name"] == "dog" else c["name"]
    inst.write_text(json.dumps(data))
    data = json.loads(caps.read_text())
    for a in data["annotations"]:
        a["caption"] = a["caption"].replace("a dog", "two robots")
    caps.write_text(json.dumps(data))
    items = build_split("coco-real", SplitOptions(coco_images=images, coco_instances=inst, coco_captions=caps))
    item = next(i for i in items if i.provenance["sample"] == "176")
    assert item.text == "A photo of a horse and two robots."
    assert item.provenance["categories"] == {"horse": "horse", "robots": "robot"}
    assert item.provenance["coco_classes"] == {"horse": "horse"}


def test_a_missing_images_folder_is_named(tmp_path, coco, capsys):
    _, inst, caps = coco
    assert main(_args((tmp_path / "nowhere", inst, caps), tmp_path / "ws")) == 2
    err = capsys.readouterr().err
    assert "--coco-images" in err and str(tmp_path / "nowhere") in err


def test_coco_real_on_a_dit_puts_concept_attention_beside_daam(tmp_path, coco, dit_paths, capsys):
    """On a joint-attention DiT (tiny FLUX.1) the leaderboard of a real-image split holds DAAM at the
    paper's taus, DAAM + vocabulary, ConceptAttention in both spaces and a trivial reference, each
    with interval and n, from one run."""
    ws = tmp_path / "ws"
    methods = ["conceptattention", "conceptattention-cross", "daam-vocabulary", "whole-image"]
    args = _args(coco, ws, "--methods", *methods, "--height", "64", "--width", "64", "--steps", "4")
    args[args.index("toy")] = str(dit_paths["flux"])
    assert main(args) == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    assert (out["done"], out["failed"]) == (4, 0)
    with db.connect(None, workspace=ws) as store:
        run = store.get_run(out["run"])
        for g in store.generations(run.id):
            assert {r.method for r in store.word_maps(g.id)} == {"daam", *methods}
        scores = {(s.method, s.metric): s for s in store.scores(run_id=run.id)}
    for method in ("daam@0.3", "daam@0.4", "daam@0.5", *methods):
        s = scores[(method, "mIoU-all")]
        assert s.n == 5 and 0 <= s.ci_low <= s.value <= s.ci_high <= 1, method
    md = (ws / "report" / out["run"] / "report.md").read_text()
    assert all(m in md for m in methods)


def test_imagenet_seg_gives_concept_attention_its_background_concepts(tmp_path, dit_paths, capsys):
    """The split's method_options reach the method: ConceptAttention on imagenet-seg attends over the
    class word and the reference's background concepts (splits.yaml)."""
    import daam
    from benchmark.splits import spec
    from benchmark.splits.datasets.imagenet_seg import BACKGROUND_CONCEPTS

    mat = write_imagenet_seg_fixture(tmp_path / "gtsegs_ijcv.mat", n=2)
    names = tmp_path / "names.json"
    names.write_text(json.dumps(IMAGENET_FIXTURE_NAMES))
    ws = tmp_path / "ws"
    args = ["run", "--split", "imagenet-seg", "--model", str(dit_paths["flux"]), "--steps", "2"]
    args += ["--height", "64", "--width", "64", "--imagenet-seg", str(mat), "--imagenet-names", str(names)]
    args += ["--methods", "conceptattention", "--workspace", str(ws), "--no-report", "--json", "--threads", "1"]
    assert main(args) == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    assert out["done"] == 2 and out["failed"] == 0
    assert tuple(spec("imagenet-seg").method_options["conceptattention"]["background"]) == BACKGROUND_CONCEPTS
    with db.connect(None, workspace=ws) as store:
        for g in store.generations(store.get_run(out["run"]).id):
            (row,) = store.word_maps(g.id, method="conceptattention")
            maps = daam.load(ws / row.path)
            word = store.get_prompt(g.prompt_id).words[0]
            assert [c.lower() for c in maps.vocabulary] == [word, *BACKGROUND_CONCEPTS]


def test_a_method_option_the_method_does_not_take_is_named():
    import dataclasses
    from types import MappingProxyType

    from baselines.concept_attention import ConceptAttentionBaseline
    from benchmark.real_image import method_options
    from benchmark.splits import spec

    s = spec("imagenet-seg")
    assert method_options(s, "conceptattention", ConceptAttentionBaseline)["background"][0] == "background"
    bad = dataclasses.replace(s, method_options=MappingProxyType({"conceptattention": {"backgrund": ["sky"]}}))
    with pytest.raises(ValueError, match="backgrund"):
        method_options(bad, "conceptattention", ConceptAttentionBaseline)
