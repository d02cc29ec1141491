"""bench import-daam reads nothing outside the imported folder and writes nothing outside the workspace."""

import os

import pytest

import db
from benchmark.importers.daam_experiments import (
    RELEASE_VERSION,
    ReleaseImportError,
    import_experiments,
)
from tests.importers.release import (
    TRUTH_101,
    image,
    save_mask,
    write_experiment,
    write_release,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")


@pytest.fixture
def release(tmp_path):
    root = write_release(tmp_path / "release", tmp_path / "unpickled")
    store = db.connect(tmp_path / "ws" / "bench.sqlite")
    yield store, tmp_path / "ws", root, tmp_path
    store.close()


def _reasons(summary):
    return {p.folder: p.reason for p in summary.problems}


def _keys(store):
    return {p.key for p in store.prompts("coco-gen", RELEASE_VERSION)}


@pytest.mark.parametrize("name", ["prompt.txt", "seed.txt", "output.png", "dog.gt.png", "dog.daam.pred.png"])
def test_a_file_linked_out_of_the_folder_refuses_its_folder(release, name):
    store, ws, root, tmp_path = release
    outside = tmp_path / "secret"
    outside.mkdir()
    target = outside / name
    (root / "101" / name).rename(target)  # the real file now lives outside the release
    (root / "101" / name).symlink_to(target)
    summary = import_experiments(store, ws, root, progress=False)
    reason = _reasons(summary)["101"]
    assert f"{name} is a symbolic link to {target}, outside the imported folder" in reason
    assert "101" not in _keys(store) and summary.imported == 1  # 202 imported; 101 wrote nothing
    assert not (ws / "images" / "coco-gen-daam-release" / "101.png").exists()


def test_a_link_inside_the_folder_is_followed(release):
    store, ws, root, _ = release
    shared = root / "shared-masks"
    shared.mkdir()
    save_mask(shared / "dog.png", TRUTH_101["dog"])
    (root / "101" / "dog.gt.png").unlink()
    (root / "101" / "dog.gt.png").symlink_to(shared / "dog.png")
    summary = import_experiments(store, ws, root, progress=False)
    assert "101" not in _reasons(summary) and "101" in _keys(store)


def test_a_folder_linked_from_outside_is_not_walked(release):
    store, ws, root, tmp_path = release
    write_experiment(tmp_path / "elsewhere" / "909", "a fish", pixels=image(9))
    (root / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    summary = import_experiments(store, ws, root, progress=False)
    assert not any(k.startswith("linked") for k in _keys(store)) and summary.folders == 3


@pytest.mark.parametrize("folder", ["back\\..\\..\\slash", "drive:x", "tab\there"])
def test_folder_names_that_cannot_be_file_names_are_refused(release, folder):
    store, ws, root, _ = release
    write_experiment(root / folder, "a fish", pixels=image(9))
    summary = import_experiments(store, ws, root, progress=False)
    assert "cannot become a file name inside the workspace" in _reasons(summary)[folder]
    assert folder not in _keys(store)


def test_a_root_given_as_dot_dot_is_keyed_by_its_real_name(release, monkeypatch):
    store, ws, root, _ = release
    monkeypatch.chdir(root / "101" / "..")
    (root / "101" / "sub").mkdir()
    monkeypatch.chdir(root / "101" / "sub")
    summary = import_experiments(store, ws, "..", progress=False)
    assert summary.imported == 1 and _keys(store) == {"101"}


def test_prediction_names_that_cannot_be_folders_are_ignored(release):
    store, ws, root, _ = release
    save_mask(root / "101" / "dog.my method.pred.png", TRUTH_101["dog"])
    summary = import_experiments(store, ws, root, progress=False)
    assert summary.ignored.get("unsafe name") == 1 and "101" in _keys(store)
    assert {m.method for m in store.word_maps(run_id=store.get_run("coco-gen-daam-release").id)} == {"daam-release"}


@pytest.mark.parametrize("name", ["../../x", "/tmp/abs", ".hidden", "a..b"])
def test_unsafe_run_names_are_refused_before_writing(release, name):
    store, ws, root, _ = release
    with pytest.raises(ReleaseImportError, match="plain name"):
        import_experiments(store, ws, root, run_name=name, progress=False)
    assert store.runs() == []


def test_an_images_folder_linked_out_of_the_workspace_is_refused(release):
    store, ws, root, tmp_path = release
    (tmp_path / "elsewhere").mkdir()
    ws.mkdir(exist_ok=True)
    (ws / "images").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    summary = import_experiments(store, ws, root, progress=False)
    assert "outside the workspace" in _reasons(summary)["101"]
    assert list((tmp_path / "elsewhere").iterdir()) == []
    run = store.get_run("coco-gen-daam-release")
    assert store.generations(run.id) == [] and _keys(store) == set()  # refused before the first row
