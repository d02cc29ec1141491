"""Every paper split through `bench run` on a tiny real pipeline, from a synthetic captions file."""

import pytest

import daam
import db
from benchmark.runner import RunConfig, run
from tests.splits.conftest import write_coco


@pytest.fixture(scope="module")
def captions(tmp_path_factory):
    path = tmp_path_factory.mktemp("coco") / "captions.json"
    write_coco(path)
    return path


@pytest.mark.parametrize(
    "split, size",
    [("coco-gen", 6), ("unreal-gen", 6), ("pos", 2), ("syntax", 20), ("cohyponym", 4), ("adjective", None)],
)
def test_split_end_to_end(split, size, tmp_path, captions, sd_path, sd_pipe):
    config = RunConfig(
        split=split,
        model=str(sd_path),
        coco_captions=captions,
        size=size,
        limit=3,
        steps=2,
        height=64,
        width=64,
        batch_size=3,
        workspace=tmp_path,
        progress=False,
    )
    summary = run(config, pipe=sd_pipe)
    assert summary.done == summary.generations == 3 and summary.failed == 0
    store = db.connect(None, workspace=tmp_path)
    gens = store.generations(store.get_run(summary.run).id)
    mapped = 0
    for g in gens:
        prompt = store.get_prompt(g.prompt_id)
        rows = store.word_maps(g.id)
        assert {r.word for r in rows} <= set(prompt.words)
        for r in rows:
            m = daam.load(tmp_path / r.path).word_map(r.word, r.occurrence)
            assert m.soft.shape == (64, 64)
            mapped += 1
    assert mapped > 0
    store.close()


def test_adjective_variants_share_the_seed_layout(tmp_path, sd_path, sd_pipe):
    import numpy as np
    import torch
    from PIL import Image

    config = RunConfig(
        split="adjective",
        model=str(sd_path),
        limit=3,
        steps=2,
        height=64,
        width=64,
        batch_size=3,
        workspace=tmp_path,
        progress=False,
        score=False,
    )
    summary = run(config, pipe=sd_pipe)
    store = db.connect(None, workspace=tmp_path)
    gens = sorted(store.generations(store.get_run(summary.run).id), key=lambda g: g.id)
    prompts = [store.get_prompt(g.prompt_id) for g in gens]
    assert len({g.seed for g in gens}) == 1  # one group, one noise
    seed_text = prompts[0].provenance["seed_prompt"]
    assert prompts[0].text == seed_text
    images = [np.asarray(Image.open(tmp_path / g.image_path)) for g in gens]
    plain = [
        np.asarray(
            sd_pipe(
                p.text,
                num_inference_steps=2,
                height=64,
                width=64,
                generator=torch.Generator().manual_seed(gens[0].seed),
            ).images[0]
        )
        for p in prompts
    ]
    assert np.array_equal(images[0], plain[0])  # the seed prompt itself is generated untouched
    assert not np.array_equal(images[1], plain[1])  # variants are generated with the seed's attention
    seed_maps = daam.load(tmp_path / store.word_maps(gens[0].id)[0].path)
    variant_maps = daam.load(tmp_path / store.word_maps(gens[1].id)[0].path)
    assert variant_maps.prompt == prompts[1].text
    for res in seed_maps.sums:
        assert torch.equal(seed_maps.sums[res], variant_maps.sums[res])
    store.close()
