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
from benchmark.toy.world import Scene, SceneObject, compose_caption, render

pytestmark = pytest.mark.skipif(shipped_model() is None, reason="the toy model is not shipped")

# category ids out of order and not COCO's: names must come from the file
CATEGORIES = {7: "circle", 3: "square", 11: "triangle", 5: "star"}
SCENES = [  # (objects, captions): the first caption of image 1 names no category
    ([("red", "circle", 10, 11, 12), ("blue", "square", 22, 21, 11)], ["a picture of shapes"]),
    ([("green", "triangle", 16, 16, 16)], []),
    ([("yellow", "star", 12, 20, 14), ("purple", "circle", 23, 9, 10)], []),
    ([("orange", "square", 15, 15, 14)], ["an orange square and a red star"]),  # no star: absent
]


def write_coco_fixture(root: Path, n: int = 4) -> tuple[Path, Path, Path]:
    """A COCO-format dataset of ``n`` toy renders: images folder, instances and captions JSON."""
    from PIL import Image
    from pycocotools import mask as mask_utils

    images_dir = root / "images"
    images_dir.mkdir(parents=True)
    by_name = {v: k for k, v in CATEGORIES.items()}
    images, instances, captions = [], [], []
    for i, (objects, extra) in enumerate(SCENES[:n]):
        objs = tuple(SceneObject(c, s, float(x), float(y), float(size)) for c, s, x, y, size in objects)
        caption, spans = compose_caption(objs)
        pixels, masks = render(Scene(objs, caption, spans))
        image_id = 100 + i
        name = f"{image_id:012d}.png"
        Image.fromarray(pixels).save(images_dir / name)
        images.append({"id": image_id, "file_name": name, "height": 32, "width": 32})
        for j, (obj, mask) in enumerate(zip(objs, masks)):
            rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
            instances.append(
                {
                    "id": image_id * 10 + j,
                    "image_id": image_id,
                    "category_id": by_name[obj.shape],
                    "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")},
                    "area": float(mask.sum()),
                    "bbox": [0, 0, 32, 32],
                    "iscrowd": 0,
                }
            )
        texts = extra[:1] + [caption] + extra[1:] if i == 0 else [*extra, caption]
        for k, text in enumerate(texts):
            captions.append({"id": image_id * 10 + k, "image_id": image_id, "caption": text})
    categories = [{"id": k, "name": v, "supercategory": "shape"} for k, v in CATEGORIES.items()]
    inst = root / "instances.json"
    inst.write_text(json.dumps({"images": images, "annotations": instances, "categories": categories}))
    caps = root / "captions.json"
    caps.write_text(json.dumps({"images": images, "annotations": captions}))
    return images_dir, inst, caps


@pytest.fixture
def coco(tmp_path):
    return write_coco_fixture(tmp_path / "coco")


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
    assert [s.key for s in samples] == ["100", "101", "102", "103"]
    first = samples[0]
    assert first.classes == ("circle", "square") and first.captions[0] == "a picture of shapes"
    masks, ignore = first.truth()
    assert ignore is None and set(masks) == {"circle", "square"}
    assert masks["circle"].shape == (32, 32) and masks["circle"].dtype == bool
    pixels = first.image()
    # the circle's truth is exactly the red pixels of the render
    assert (pixels[masks["circle"]] == (220, 30, 30)).all() and masks["circle"].sum() > 20


@pytest.fixture
def daam_twin(monkeypatch):
    """A second generation-time method (DAAM under another name), as daam-vocabulary or
    ConceptAttention would be: it attributes through the same img2img call and reads its maps back."""
    import baselines  # noqa: F401  (registers the methods)
    from baselines.daam_method import DAAMBaseline
    from core.registry import BASELINES

    class DaamTwin(DAAMBaseline):
        name = "daam-twin"
        title = "DAAM twin"

    monkeypatch.setitem(BASELINES._entries, "daam-twin", DaamTwin)
    return "daam-twin"


def test_coco_real_runs_end_to_end_scores_and_resumes(tmp_path, coco, capsys, daam_twin):
    ws = tmp_path / "ws"
    assert main(_args(coco, ws, "--methods", "whole-image", daam_twin)) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["prompts"], out["done"], out["failed"]) == (4, 4, 0)
    with db.connect(None, workspace=ws) as store:
        run = store.get_run(out["run"])
        assert run.settings["strength"] == 0.6
        prompts = {g.id: store.get_prompt(g.prompt_id) for g in store.generations(run.id)}
        # image 100's first caption names no category: its second, the scene's, is the prompt
        texts = {p.provenance["sample"]: p.text for p in prompts.values()}
        assert texts["100"] == "a red circle and a blue square"
        assert prompts[min(prompts)].provenance["categories"] == {"circle": "circle", "square": "square"}
        truth = store.masks(run_id=run.id, source="dataset")
        assert truth and all(m.rater_id == store.get_rater("dataset").id for m in truth)
        assert store.get_rater("dataset").kind == "dataset"
        absent = [m for m in truth if m.word == "star" and not db.decode_mask(m).any()]
        assert len(absent) == 1  # image 103's caption names a star it does not show
        for g in store.generations(run.id):
            assert (ws / g.image_path).is_file() and (g.height, g.width) == (32, 32)
            assert {r.method for r in store.word_maps(g.id)} == {"daam", "whole-image", "daam-twin"}
            twin = {r.path for r in store.word_maps(g.id, method="daam-twin")}
            assert twin == {f"maps/{run.name}/{g.id}.daam-twin.safetensors"}
            assert (ws / "baselines" / "daam-twin" / f"{g.id}.npz").is_file()  # run_baseline read it back
        scores = {(s.method, s.metric): s for s in store.scores(run_id=run.id)}
    daam_all = scores[("daam@0.4", "mIoU-all")]
    trivial = scores[("whole-image", "mIoU-all")]
    assert daam_all.n == trivial.n == 6  # 7 category words, the absent star left out
    assert 0 <= daam_all.ci_low <= daam_all.value <= daam_all.ci_high <= 1
    assert ("daam@0.3", "mIoU-all") in scores and ("daam", "mIoU-sweep") in scores
    assert ("daam@0.4", "mIoU80") not in scores  # toy shapes name none of COCO's 80 classes
    # the twin's maps are DAAM's (same image, seed and settings), scored at the baselines' tau 0.5
    assert scores[("daam-twin", "mIoU-all")].value == pytest.approx(scores[("daam@0.5", "mIoU-all")].value)
    assert any("name a class absent" in n for n in out["notes"])
    # the report shows the methods side by side, with intervals and n
    report = ws / "report" / out["run"]
    md = (report / "report.md").read_text()
    assert "Real images: methods side by side" in md and "whole-image" in md and "n=6" in md
    assert "Real images" in (report / "report.html").read_text()
    assert main(["report", "--workspace", str(ws)]) == 0  # its default --out: <workspace>/report
    assert "| daam@0.4 |" in (ws / "report" / "report.md").read_text()
    capsys.readouterr()
    # the same command again: nothing to generate, no model loaded
    assert main(_args(coco, ws, "--methods", "whole-image", daam_twin)) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["generated_now"] == 0 and again["done"] == 4


def test_captions_per_image_and_limit(tmp_path, coco):
    from benchmark.splits import SplitOptions, build_split

    images, inst, caps = coco
    options = dict(coco_images=images, coco_instances=inst, coco_captions=caps)
    items = build_split("coco-real", SplitOptions(**options, captions_per_image=2))
    # image 103 has two captions naming a category, the others one each
    assert [i.provenance["sample"] for i in items] == ["100", "101", "102", "103", "103"]
    assert build_split("coco-real", SplitOptions(**options, limit=2))[1].key == "coco-real-101-0"


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
    (images / "000000000101.png").unlink()
    assert main(_args((images, inst, caps), tmp_path / "ws2", "--no-report")) == 1
    assert "000000000101.png" in json.loads(capsys.readouterr().out)["failures"][0]["error"]


def _voc_stand_in(root: Path):
    """A stand-in for the VOC reader (benchmark.splits.datasets.voc): toy renders with a void ring
    around each object, as VOC marks object borders."""
    import types

    from scipy.ndimage import binary_dilation

    from benchmark.splits.datasets import Sample

    def sample(key, objects):
        objs = tuple(SceneObject(c, s, float(x), float(y), float(size)) for c, s, x, y, size in objects)
        caption, spans = compose_caption(objs)
        pixels, masks = render(Scene(objs, caption, spans))
        truth = {o.shape: m for o, m in zip(objs, masks)}
        ring = np.zeros((32, 32), bool)
        for m in masks:
            ring |= binary_dilation(m, iterations=2) & ~m
        return Sample(key, lambda: pixels, tuple(truth), lambda: (truth, ring))

    samples = [sample("2007_000001", SCENES[0][0]), sample("2007_000002", SCENES[2][0])]
    calls = []

    def read_voc(path, image_set):
        calls.append((Path(path), image_set))
        return samples

    module = types.ModuleType("benchmark.splits.datasets.voc")
    module.read_voc = read_voc
    module.voc_prompt = lambda classes: "a photo of " + " and ".join(f"a {c}" for c in classes)
    return module, samples, calls


def test_voc_real_leaves_void_pixels_out(tmp_path, monkeypatch, capsys):
    import sys

    module, samples, calls = _voc_stand_in(tmp_path)
    monkeypatch.setitem(sys.modules, "benchmark.splits.datasets.voc", module)
    root = tmp_path / "VOC2012"
    root.mkdir()
    ws = tmp_path / "ws"
    args = ["run", "--split", "voc-real", "--model", "toy", "--steps", "3", "--voc-root", str(root)]
    assert main([*args, "--workspace", str(ws), "--methods", "whole-image", "--no-report", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["done"] == 2 and calls[0] == (root, "val")
    with db.connect(None, workspace=ws) as store:
        run = store.get_run(out["run"])
        voids = store.masks(run_id=run.id, source="dataset", word="<void>")
        assert len(voids) == 2
        scores = {(s.method, s.metric): s for s in store.scores(run_id=run.id)}
    # the whole image's IoU with a class is the class's share of the pixels that are not void
    expected = []
    for s in samples:
        truth, ring = s.truth()
        expected += [m.sum() / (~ring).sum() for m in truth.values()]
    whole = scores[("whole-image", "mIoU-all")]
    assert whole.n == 4 and whole.value == pytest.approx(np.mean(expected))
    assert ("daam@0.4", "mIoU-all") in scores


def test_missing_dataset_reader_is_a_clear_error(tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "benchmark.splits.datasets.imagenet_seg", None)
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
