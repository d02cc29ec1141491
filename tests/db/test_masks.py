"""Masks round-trip pixel-exactly through COCO RLE and get versioned."""

from __future__ import annotations

import json

import numpy as np
import pytest

import db

SHAPES = [(1, 1), (1, 17), (23, 1), (2, 3), (37, 53), (64, 64), (97, 131), (512, 512)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("density", [0.0, 0.03, 0.5, 1.0])
def test_rle_roundtrip_random(shape: tuple[int, int], density: float) -> None:
    rng = np.random.default_rng(hash((shape, density)) % 2**32)
    mask = rng.random(shape) < density
    rle = db.encode_mask(mask)
    assert isinstance(rle["counts"], str) and rle["size"] == list(shape)
    json.dumps(rle)
    record = db.Mask(0, 0, "w", 0, "human", None, None, rle, shape[0], shape[1], 1, None)  # type: ignore[arg-type]
    out = db.decode_mask(record)
    assert out.dtype == np.bool_ and out.shape == shape and np.array_equal(out, mask)


def test_roundtrip_through_store_and_non_contiguous(store: db.Store, seeded) -> None:
    rng = np.random.default_rng(0)
    gen = store.record_generation(seeded.run.id, seeded.prompts[0].id, 0, image_path="a.png", height=41, width=29)
    big = rng.random((82, 58)) < 0.4
    mask = big[::2, ::2]  # strided view, not C-contiguous
    rec = store.add_mask(gen.id, "dog", 0, mask, "automatic", method="clipseg")
    (stored,) = store.masks(gen.id, source="automatic")
    assert stored == rec and np.array_equal(db.decode_mask(stored), mask)
    transposed = (rng.random((29, 41)) < 0.5).T  # Fortran-ordered input
    rec2 = store.add_mask(gen.id, "couch", 0, transposed, "daam", method="daam@0.4")
    assert np.array_equal(db.decode_mask(rec2), transposed)


def test_versions_increment_per_identity(store: db.Store, seeded) -> None:
    gen = store.record_generation(seeded.run.id, seeded.prompts[0].id, 0, image_path="a.png", height=4, width=4)
    alice = store.get_or_create_rater("alice")
    bob = store.get_or_create_rater("bob")
    ones, zeros = np.ones((4, 4), bool), np.zeros((4, 4), bool)
    v1 = store.add_mask(gen.id, "dog", 0, ones, "human", rater=alice)
    v2 = store.add_mask(gen.id, "dog", 0, zeros, "human", rater=alice)
    b1 = store.add_mask(gen.id, "dog", 0, ones, "human", rater=bob.id)
    n1 = store.add_mask(gen.id, "dog", 0, ones, "baseline")
    n2 = store.add_mask(gen.id, "dog", 0, ones, "baseline")
    m1 = store.add_mask(gen.id, "dog", 0, ones, "baseline", method="full")
    assert [v1.version, v2.version, b1.version, n1.version, n2.version, m1.version] == [1, 2, 1, 1, 2, 1]
    latest = store.masks(gen.id, latest_only=True)
    assert {m.id for m in latest} == {v2.id, b1.id, n2.id, m1.id}
    assert len(store.masks(gen.id)) == 6
    assert store.masks(run_id=seeded.run.id, rater_id=alice.id, latest_only=True) == [v2]
