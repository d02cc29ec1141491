"""An annotation and its masks are stored together or not at all."""

from __future__ import annotations

import numpy as np
import pytest

import db


def _generation(store):
    model = store.get_or_create_model("m", "r", "diffusion", {})
    (prompt,) = store.add_prompts("s", "1", [db.PromptSpec(key="k", text="a dog", words=("dog",))])
    run = store.create_run("run", "s", model.id, {})
    return store.record_generation(run.id, prompt.id, 0, image_path="x.png", height=4, width=4, status="done")


def test_masks_and_annotation_in_one_transaction(tmp_path):
    store = db.connect(None, workspace=tmp_path)
    try:
        g = _generation(store)
        rater = store.get_or_create_rater("r1", "human")
        ok = {"dog": np.ones((4, 4), bool)}
        store.add_annotation_with_masks("segmentation", "t1", rater, {"a": 1}, ok, generation_id=g.id)
        assert len(store.masks(g.id)) == 1 and len(store.annotations("segmentation")) == 1
        # a bad mask (wrong shape) fails the whole write: no stray mask, no annotation
        bad = {"dog": np.ones((4, 4), bool), "cat": np.ones((3, 3), bool)}
        with pytest.raises(db.StoreError):
            store.add_annotation_with_masks("segmentation", "t2", rater, {"a": 2}, bad, generation_id=g.id)
        assert len(store.masks(g.id)) == 1 and len(store.annotations("segmentation")) == 1
        # re-adding a stored annotation adds no mask versions
        store.add_annotation_with_masks("segmentation", "t1", rater, {"a": 1}, ok, generation_id=g.id)
        assert len(store.masks(g.id)) == 1
    finally:
        store.close()
