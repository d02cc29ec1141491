import numpy as np
import pytest
import torch
from PIL import Image

import daam
import db
from baselines import BaselineError, load_baseline, load_output
from baselines.runner import output_path, run_baseline
from db import PromptSpec, WordMapSpec
from tests.baselines.models import K, official_stego_state, save_like_lightning

PROMPTS = {"a": ("a dog and a cat", ("dog", "cat")), "b": ("a red car", ("car",))}


@pytest.fixture
def workspace(tmp_path):
    """A real SQLite store with one run: two done generations with images on disk, one pending."""
    store = db.connect(tmp_path / "bench.sqlite")
    model = store.get_or_create_model("tiny-sd", "0", "diffusion")
    run = store.create_run("r1", "toy", model.id, {"steps": 2})
    prompts = store.add_prompts("toy", "1", [PromptSpec(k, text, words=words) for k, (text, words) in PROMPTS.items()])
    rng = np.random.default_rng(0)
    for i, prompt in enumerate(prompts):
        rel = f"images/r1/{i}.png"
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (24 + 8 * i, 32, 3), dtype=np.uint8)).save(tmp_path / rel)
        store.record_generation(run.id, prompt.id, 0, image_path=rel, height=24 + 8 * i, width=32, status="done")
    store.record_generation(run.id, prompts[0].id, 1, status="pending")
    yield store, tmp_path, run
    store.close()


def test_soft_maps_are_stored_and_registered(workspace):
    store, root, run = workspace
    summary = run_baseline(store, root, "r1", "random", progress=False, seed=3)
    assert (summary.computed, summary.skipped, summary.total, summary.method) == (2, 0, 2, "random")
    reference = load_baseline("random", seed=3)
    for generation in store.generations(run.id, status="done"):
        prompt = store.get_prompt(generation.prompt_id)
        rows = store.word_maps(generation.id, method="random")
        assert sorted(r.word for r in rows) == sorted(prompt.words)
        assert {r.path for r in rows} == {output_path("random", generation.id)}
        assert all(r.occurrence == 0 and r.token_indices == () for r in rows)
        stored = load_output(root / rows[0].path)
        pixels = np.asarray(Image.open(root / generation.image_path).convert("RGB"))
        expected = reference.predict(pixels, prompt.text, prompt.words)
        assert stored.size == (generation.height, generation.width)
        for word in prompt.words:
            np.testing.assert_allclose(stored.maps[word], expected.maps[word], atol=5e-4)  # float16 on disk
    assert store.word_maps(run_id=run.id, method="daam") == []


def test_rerunning_resumes(workspace):
    store, root, run = workspace
    run_baseline(store, root, "r1", "whole-image", progress=False)
    again = run_baseline(store, root, "r1", "whole-image", progress=False)
    assert (again.computed, again.skipped) == (0, 2)
    first = store.generations(run.id, status="done")[0]
    (root / output_path("whole-image", first.id)).unlink()  # e.g. a crash before the file was complete
    assert run_baseline(store, root, "r1", "whole-image", progress=False).computed == 1


def test_variants_are_stored_under_their_label(workspace):
    store, root, run = workspace
    run_baseline(store, root, "r1", "centre-disc", progress=False)
    run_baseline(store, root, "r1", "centre-disc", label="centre-disc-0.1", progress=False, radius=0.1)
    gid = store.generations(run.id, status="done")[0].id
    wide = load_output(root / output_path("centre-disc", gid)).maps["dog"]
    narrow = load_output(root / output_path("centre-disc-0.1", gid)).maps["dog"]
    assert narrow.sum() < wide.sum()
    assert len(store.word_maps(run_id=run.id, method="centre-disc-0.1")) == 3
    with pytest.raises(BaselineError, match="plain name"):
        run_baseline(store, root, "r1", "centre-disc", label="../x", progress=False)
    with pytest.raises(BaselineError, match="DAAM's own"):
        run_baseline(store, root, "r1", "centre-disc", label="daam", progress=False)


def test_clusters_are_written_not_registered(workspace, dino_path):
    store, root, run = workspace
    ckpt = save_like_lightning(root / "stego.ckpt", official_stego_state(dino_path))
    summary = run_baseline(
        store, root, "r1", "stego", progress=False, checkpoint=ckpt, model=str(dino_path), resolution=16
    )
    assert summary.computed == 2 and store.word_maps(run_id=run.id, method="stego") == []
    for generation in store.generations(run.id, status="done"):
        out = load_output(root / output_path("stego", generation.id))
        assert out.clusters.shape == (generation.height, generation.width) and out.n_clusters == K
    # a complete run is not redone, and no model is loaded for it (this checkpoint does not exist)
    resumed = run_baseline(store, root, "r1", "stego", progress=False, checkpoint=root / "gone.ckpt")
    assert (resumed.computed, resumed.skipped) == (0, 2)


def test_daam_maps_are_exported_in_the_same_format(workspace, sd_pipe):
    store, root, run = workspace
    for generation in store.generations(run.id, status="done"):
        prompt = store.get_prompt(generation.prompt_id)
        with daam.trace(sd_pipe) as tc:
            out = sd_pipe(
                prompt.text,
                num_inference_steps=2,
                height=generation.height,
                width=generation.width,
                output_type="pil",
                generator=torch.Generator().manual_seed(generation.id),
            )
        out.images[0].save(root / generation.image_path)
        rel = f"maps/r1/{generation.id}.safetensors"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        tc.results()[0].save(root / rel)
        store.add_word_maps(generation.id, [WordMapSpec(w, 0, (), rel, "daam") for w in prompt.words])
    rows_before = store.word_maps(run_id=run.id)
    assert run_baseline(store, root, "r1", "daam", progress=False).computed == 2
    assert store.word_maps(run_id=run.id) == rows_before  # DAAM's own rows are left as they are
    generation = store.generations(run.id, status="done")[0]
    exported = load_output(root / output_path("daam", generation.id))
    traced = daam.load(root / f"maps/r1/{generation.id}.safetensors")
    np.testing.assert_allclose(exported.maps["dog"], traced.word_map("dog").soft.numpy(), atol=5e-4)


def test_missing_inputs_are_clear_errors(workspace):
    store, root, run = workspace
    with pytest.raises(db.NotFoundError, match="unknown run name 'r2'"):
        run_baseline(store, root, "r2", "random", progress=False)
    with pytest.raises(BaselineError, match="0 DAAM maps files"):
        run_baseline(store, root, "r1", "daam", progress=False)
    generation = store.generations(run.id, status="done")[1]
    (root / generation.image_path).unlink()
    with pytest.raises(FileNotFoundError, match=f"image of generation {generation.id} is missing"):
        run_baseline(store, root, "r1", "random", progress=False)
