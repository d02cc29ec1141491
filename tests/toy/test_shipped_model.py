"""The toy model that ships in the repository: size, loading, determinism, traceability."""

import numpy as np
import torch

import daam
from benchmark.toy.model import load_pipeline
from benchmark.toy.shipped import WEIGHTS_DIR, shipped_model


def test_shipped_weights_are_small_safetensors():
    assert shipped_model() == WEIGHTS_DIR
    files = [p for p in WEIGHTS_DIR.rglob("*") if p.is_file()]
    weights = [p for p in files if p.suffix == ".safetensors"]
    assert len(weights) == 3 and not [p for p in files if p.suffix in {".bin", ".pt", ".pkl", ".ckpt"}]
    assert sum(p.stat().st_size for p in weights) <= 25 * 2**20


def test_shipped_model_generates_deterministically_and_traces():
    pipe = load_pipeline(WEIGHTS_DIR)
    kw = dict(num_inference_steps=5, guidance_scale=4.0, height=32, width=32, output_type="np")
    a = pipe("a red circle and a blue square", generator=torch.Generator().manual_seed(3), **kw).images
    with daam.trace(pipe) as tc:
        b = pipe("a red circle and a blue square", generator=torch.Generator().manual_seed(3), **kw).images
    assert np.array_equal(a, b)
    r = tc.results()[0]
    assert set(r.sums) == {(16, 16), (8, 8)}
    assert r.word_map("square").soft.shape == (32, 32)


def test_checkpoint_eval_scores_what_the_annotator_finds():
    from benchmark.splits import build_split
    from benchmark.splits.base import SplitOptions
    from benchmark.toy.annotate import annotate
    from benchmark.toy.evaluate import accuracy_by_subset
    from benchmark.toy.splits import scene_from_provenance

    pipe = load_pipeline(WEIGHTS_DIR)
    items = build_split("shapes", SplitOptions(size=6))
    accuracy, miou = accuracy_by_subset(pipe, items, 5.0, 20, batch_size=4, progress=False)
    present, correct = 0, 0
    for it in items:  # the same images untraced, one by one: tracing and batching change nothing
        image = pipe(
            it.text,
            num_inference_steps=20,
            guidance_scale=5.0,
            output_type="np",
            generator=torch.Generator().manual_seed(int(it.seed)),
        ).images[0]
        found = annotate((image * 255).round().astype(np.uint8), scene_from_provenance(it.provenance).words())
        present += sum(o.present for o in found.objects)
        correct += found.all_present
    assert accuracy["all"]["n"] == 6 and accuracy["all"]["value"] == correct / 6
    assert miou.get("shape", {}).get("n", 0) == miou.get("colour", {}).get("n", 0) == present
