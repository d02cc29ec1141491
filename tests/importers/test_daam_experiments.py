import hashlib

import numpy as np
import pytest

import db
from baselines import load_output
from benchmark.importers.daam_experiments import (
    INCOMPLETE,
    RELEASE_RATER,
    RELEASE_VERSION,
    ReleaseImportError,
    import_experiments,
)
from tests.importers.release import PRED_101, TRUTH_101, TRUTH_202, image, save_mask, write_release


@pytest.fixture
def release(tmp_path):
    marker = tmp_path / "unpickled"
    root = write_release(tmp_path / "release", marker)
    store = db.connect(tmp_path / "ws" / "bench.sqlite")
    yield store, tmp_path / "ws", root, marker
    store.close()


def _masks(store, generation_id):
    rater = store.get_rater(RELEASE_RATER)
    return {m.word: m for m in store.masks(generation_id, source="human", rater_id=rater.id)}


def _generations(store, run):
    prompts = {p.id: p for p in store.prompts("coco-gen", RELEASE_VERSION)}
    return {prompts[g.prompt_id].key: g for g in store.generations(run.id)}


def test_import_stores_prompts_images_masks_and_maps(release):
    store, ws, root, marker = release
    summary = import_experiments(store, ws, root, progress=False)

    assert (summary.run, summary.folders, summary.imported, summary.unchanged) == ("coco-gen-daam-release", 3, 2, 0)
    assert (summary.masks_added, summary.maps_added, summary.without_truth) == (3, 2, 0)
    assert summary.ignored == {"heat-map figure": 2, "pickle": 1, "subtype image": 1}
    assert not marker.exists(), "generation.pt was unpickled"

    prompts = {p.key: p for p in store.prompts("coco-gen", RELEASE_VERSION)}
    assert set(prompts) == {"101", "batch-2/202"}
    assert (prompts["101"].text, prompts["101"].words) == ("A dog chasing a cat", ("dog", "cat"))
    assert (prompts["batch-2/202"].text, prompts["batch-2/202"].words) == ("a red car parked", ("car",))

    run = store.get_run("coco-gen-daam-release")
    assert run.split == "coco-gen"
    assert store.get_model(run.model_id).name == "stabilityai/stable-diffusion-2-base"
    generations = _generations(store, run)
    for key, seed in (("101", 42), ("batch-2/202", None)):
        g = generations[key]
        released = (root / key / "output.png").read_bytes()
        assert (g.status, g.error, g.seed, g.height, g.width, g.image_index) == ("done", None, seed, 32, 48, 0)
        assert g.image_path == f"images/coco-gen-daam-release/{key}.png"
        assert (ws / g.image_path).read_bytes() == released
        assert g.image_sha256 == hashlib.sha256(released).hexdigest()

    for key, truth in (("101", TRUTH_101), ("batch-2/202", TRUTH_202)):
        masks = _masks(store, generations[key].id)
        assert set(masks) == set(truth)
        for word, mask in masks.items():
            assert (mask.version, mask.method, mask.occurrence) == (1, None, 0)
            np.testing.assert_array_equal(db.decode_mask(mask), truth[word])

    rows = store.word_maps(generations["101"].id, method="daam-release")
    assert sorted(r.word for r in rows) == ["cat", "dog"]
    assert {r.path for r in rows} == {f"baselines/daam-release/{generations['101'].id}.npz"}
    stored = load_output(ws / rows[0].path)
    assert (stored.method, stored.size) == ("daam-release", (32, 48))
    for word, mask in PRED_101.items():
        np.testing.assert_array_equal(stored.maps[word], mask.astype(np.float32))
    assert store.word_maps(generations["batch-2/202"].id) == []


def test_broken_folder_is_reported_and_writes_nothing(release):
    store, ws, root, _ = release
    summary = import_experiments(store, ws, root, progress=False)

    assert [p.folder for p in summary.problems] == ["303"]
    assert "bird.gt.png: mask is 24x16, the image output.png is 48x32" in summary.problems[0].reason
    assert "303" not in {p.key for p in store.prompts("coco-gen", RELEASE_VERSION)}
    assert not (ws / "images" / "coco-gen-daam-release" / "303.png").exists()
    assert store.get_run("coco-gen-daam-release").status == "created"  # not every folder made it


def test_importing_twice_stores_nothing_twice(release):
    store, ws, root, _ = release
    import_experiments(store, ws, root, progress=False)
    run = store.get_run("coco-gen-daam-release")
    before = (
        store.prompts("coco-gen", RELEASE_VERSION),
        store.generations(run.id),
        store.masks(run_id=run.id),
        store.word_maps(run_id=run.id),
    )

    again = import_experiments(store, ws, root, progress=False)

    assert (again.imported, again.unchanged, again.masks_added, again.maps_added) == (0, 2, 0, 0)
    after = (
        store.prompts("coco-gen", RELEASE_VERSION),
        store.generations(run.id),
        store.masks(run_id=run.id),
        store.word_maps(run_id=run.id),
    )
    assert after == before
    assert len(store.raters()) == 1 and len(store.models()) == 1 and len(store.runs()) == 1


def test_an_edited_mask_becomes_a_new_version(release):
    store, ws, root, _ = release
    import_experiments(store, ws, root, progress=False)
    edited = TRUTH_101["dog"].copy()
    edited[0, 0] = True
    save_mask(root / "101" / "dog.gt.png", edited)

    again = import_experiments(store, ws, root, progress=False)

    assert (again.imported, again.unchanged, again.masks_added) == (1, 1, 1)
    generation = _generations(store, store.get_run("coco-gen-daam-release"))["101"]
    dog = [m for m in store.masks(generation.id, word="dog", latest_only=True)]
    assert [m.version for m in dog] == [2]
    np.testing.assert_array_equal(db.decode_mask(dog[0]), edited)


def test_an_interrupted_folder_stays_failed_until_imported_again(release, monkeypatch):
    store, ws, root, _ = release
    real_add_mask = store.add_mask
    calls = []

    def failing_add_mask(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:  # the second mask of folder 101
            raise db.StoreError("disk full")
        return real_add_mask(*args, **kwargs)

    monkeypatch.setattr(store, "add_mask", failing_add_mask)
    first = import_experiments(store, ws, root, progress=False)
    run = store.get_run("coco-gen-daam-release")
    generation = _generations(store, run)["101"]
    assert "disk full" in {p.folder: p.reason for p in first.problems}["101"]
    assert (generation.status, generation.error) == ("failed", INCOMPLETE.format(key="101"))

    monkeypatch.setattr(store, "add_mask", real_add_mask)
    second = import_experiments(store, ws, root, progress=False)

    generation = _generations(store, run)["101"]
    assert (generation.status, generation.error, second.imported, second.masks_added) == ("done", None, 1, 1)
    masks = _masks(store, generation.id)
    assert sorted(masks) == ["cat", "dog"] and {m.version for m in masks.values()} == {1}


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda f: (f / "output.png").unlink(), "no output.png"),
        (lambda f: (f / "output.png").write_bytes((f / "output.png").read_bytes()[:60]), "output.png: unreadable PNG"),
        (lambda f: (f / "dog.gt.png").write_bytes(b"not a png"), "dog.gt.png: unreadable PNG"),
        (lambda f: (f / "seed.txt").write_text("forty-two"), "seed.txt: holds 'forty-two', not an integer"),
        (lambda f: (f / "prompt.txt").unlink(), "no prompt.txt"),
    ],
)
def test_bad_folders_name_their_problem(release, damage, reason):
    store, ws, root, _ = release
    damage(root / "101")
    summary = import_experiments(store, ws, root, progress=False)
    problems = {p.folder: p.reason for p in summary.problems}
    assert reason in problems["101"]
    assert summary.imported == 1 and "101" not in {p.key for p in store.prompts("coco-gen", RELEASE_VERSION)}


def test_a_mask_without_alpha_is_refused(release):
    from PIL import Image

    store, ws, root, _ = release
    Image.fromarray(TRUTH_101["dog"].astype(np.uint8) * 255).save(root / "101" / "dog.gt.png")  # mode L
    summary = import_experiments(store, ws, root, progress=False)
    assert "dog.gt.png: mask has no alpha channel" in {p.folder: p.reason for p in summary.problems}["101"]


def test_split_and_run_name_are_taken_from_the_caller(release):
    store, ws, root, _ = release
    summary = import_experiments(store, ws, root / "batch-2", split="unreal-gen", run_name="unreal", progress=False)
    assert (summary.run, summary.imported, summary.problems) == ("unreal", 1, ())
    assert [p.key for p in store.prompts("unreal-gen", RELEASE_VERSION)] == ["202"]
    assert store.get_run("unreal").split == "unreal-gen"


def test_a_root_that_is_one_experiment_is_keyed_by_its_name(release):
    store, ws, root, _ = release
    summary = import_experiments(store, ws, root / "101", progress=False)
    assert (summary.folders, summary.imported) == (1, 1)
    assert store.get_run("coco-gen-daam-release").status == "done"  # every folder made it
    assert [p.key for p in store.prompts("coco-gen", RELEASE_VERSION)] == ["101"]


def test_no_experiment_folders_is_an_error(release, tmp_path):
    store, ws, _, _ = release
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(ReleaseImportError, match="no experiment folders"):
        import_experiments(store, ws, tmp_path / "empty", progress=False)
    with pytest.raises(ReleaseImportError, match="plain name"):
        import_experiments(store, ws, tmp_path / "empty", run_name="a/b", progress=False)
    with pytest.raises(FileNotFoundError):
        import_experiments(store, ws, tmp_path / "missing", progress=False)


def test_an_unannotated_folder_is_imported_at_its_own_size(release):
    from PIL import Image

    store, ws, root, _ = release
    Image.fromarray(image(9, 64, 40)).save(root / "303" / "output.png")
    (root / "303" / "bird.gt.png").unlink()
    summary = import_experiments(store, ws, root, progress=False)
    generation = _generations(store, store.get_run("coco-gen-daam-release"))["303"]
    assert summary.problems == () and (generation.height, generation.width) == (64, 40)
    assert summary.without_truth == 1


def test_words_follow_the_prompt_order(tmp_path):
    from benchmark.importers.daam_folders import read_experiment
    from tests.importers.release import box, write_experiment

    folder = write_experiment(
        tmp_path / "9",
        "a concatenated cat near a table and a dog",
        pixels=image(0),
        truth={"dog": box(0, 0, 4, 4), "cat": box(0, 0, 4, 4), "zebra": box(0, 0, 4, 4)},
        predictions={"Table": box(0, 0, 4, 4)},
    )
    assert read_experiment(folder, tmp_path).words == ("cat", "table", "dog", "zebra")  # absent words last
