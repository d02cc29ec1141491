"""Bad input fails with a message naming the problem, and nothing partial is written."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import db
from db import convert


def test_unknown_names_and_ids(store: db.Store, seeded) -> None:
    with pytest.raises(db.NotFoundError, match="unknown run name 'nope'.*sd2-coco"):
        store.get_run("nope")
    with pytest.raises(db.NotFoundError, match="unknown run id 999"):
        store.generations(999)
    with pytest.raises(db.NotFoundError, match="unknown generation id 42"):
        store.add_mask(42, "dog", 0, np.zeros((2, 2), bool), "human")
    with pytest.raises(db.NotFoundError, match="unknown rater id 5"):
        gen = store.record_generation(seeded.run.id, seeded.prompts[0].id, 0, image_path="a.png")
        store.add_annotation("rating", "1", 5, {}, generation_id=gen.id)


def test_mask_validation(store: db.Store, seeded) -> None:
    gen = store.record_generation(seeded.run.id, seeded.prompts[0].id, 0, image_path="a.png", height=8, width=6)
    with pytest.raises(db.InvalidInputError, match=r"mask shape \(6, 8\) does not match .* \(8, 6\)"):
        store.add_mask(gen.id, "dog", 0, np.zeros((6, 8), bool), "human")
    with pytest.raises(db.InvalidInputError, match="dtype bool, got uint8"):
        store.add_mask(gen.id, "dog", 0, np.zeros((8, 6), np.uint8), "human")
    with pytest.raises(db.InvalidInputError, match="2-D"):
        store.add_mask(gen.id, "dog", 0, np.zeros((8, 6, 1), bool), "human")
    with pytest.raises(db.InvalidInputError, match="mask source"):
        store.add_mask(gen.id, "dog", 0, np.zeros((8, 6), bool), "people")
    with pytest.raises(db.InvalidInputError, match="empty"):
        db.encode_mask(np.zeros((0, 3), bool))
    assert store.masks() == []


def test_other_validation(store: db.Store, seeded) -> None:
    rid, pid = seeded.run.id, seeded.prompts[0].id
    with pytest.raises(db.InvalidInputError, match="relative to the workspace"):
        store.record_generation(rid, pid, 0, image_path="/abs/a.png")
    with pytest.raises(db.InvalidInputError, match="without an image_path"):
        store.record_generation(rid, pid, 0)
    with pytest.raises(db.InvalidInputError, match="generation status"):
        store.record_generation(rid, pid, 0, status="finished")
    with pytest.raises(db.InvalidInputError, match="finite"):
        store.upsert_score(rid, "rating", "daam", "mean", "all", float("nan"))
    with pytest.raises(db.InvalidInputError, match="not plain JSON"):
        store.get_or_create_model("m", "r", "diffusion", {"a": object()})
    other = store.add_prompts("other", "v1", [db.PromptSpec("o", "x")])
    with pytest.raises(db.InvalidInputError, match="split 'other'"):
        store.record_generation(rid, other[0].id, 0, image_path="a.png")
    with pytest.raises(db.ConflictError, match="already exists"):
        store.create_run("sd2-coco", "coco", seeded.model.id, {})
    with pytest.raises(db.ConflictError, match="settings"):
        store.get_or_create_run("sd2-coco", "coco", seeded.model.id, {"steps": 1})
    with pytest.raises(db.ConflictError, match="'c1'.*text"):
        store.add_prompts("coco", "v1", [db.PromptSpec("c1", "changed text")])
    assert store.get_run("sd2-coco") == seeded.run
    assert store.prompts("coco", "v1") == seeded.prompts
    assert store.generations(rid) == []


def test_failing_prompt_batch_leaves_no_rows(store: db.Store, seeded) -> None:
    batch = [db.PromptSpec("n1", "new one"), db.PromptSpec("n2", "new two"), db.PromptSpec("c3", "conflicting text")]
    with pytest.raises(db.ConflictError):
        store.add_prompts("coco", "v1", batch)
    assert store.prompts("coco", "v1") == seeded.prompts


def test_failing_generation_batch_leaves_no_rows(store: db.Store, seeded) -> None:
    specs = [db.GenerationSpec(seeded.prompts[0].id, 0), db.GenerationSpec(12345, 0)]
    with pytest.raises(db.NotFoundError, match="unknown prompt id 12345"):
        store.plan_generations(seeded.run.id, specs)
    assert store.generations(seeded.run.id) == []


def test_failing_score_batch_leaves_no_rows(store: db.Store, seeded) -> None:
    specs = [
        db.ScoreSpec(seeded.run.id, "rating", "daam", "mean", "all", 1.0),
        db.ScoreSpec(777, "rating", "daam", "mean", "all", 1.0),
    ]
    with pytest.raises(db.NotFoundError, match="unknown run id 777"):
        store.upsert_scores(specs)
    assert store.scores() == []


def test_failure_after_flush_rolls_back(store: db.Store, seeded, monkeypatch) -> None:
    """Rows already sent to the database in the failing transaction are rolled back."""

    def boom(row):
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(convert, "prompt", boom)
    with pytest.raises(RuntimeError):
        store.add_prompts("fresh", "v1", [db.PromptSpec(f"k{i}", "t") for i in range(10)])
    monkeypatch.undo()
    assert store.prompts("fresh", "v1") == []


def test_records_are_frozen_dataclasses(store: db.Store, seeded) -> None:
    gen = store.record_generation(seeded.run.id, seeded.prompts[0].id, 0, image_path="a.png", height=2, width=2)
    rater = store.get_or_create_rater("r")
    records = [
        seeded.model,
        seeded.run,
        *seeded.prompts,
        gen,
        rater,
        store.add_word_maps(gen.id, [db.WordMapSpec("dog", 0, (1,), "m.npz")])[0],
        store.add_mask(gen.id, "dog", 0, np.eye(2, dtype=bool), "human", rater=rater),
        store.add_annotation("presence", "9", rater, {"a": 1}, generation_id=gen.id),
        store.upsert_score(seeded.run.id, "presence", "daam", "acc", "all", 1.0),
        *store.claim_generations(seeded.run.id, "w", 1),
    ]
    for rec in records:
        assert dataclasses.is_dataclass(rec) and type(rec).__module__ == "db.records"
        assert not hasattr(rec, "_sa_instance_state")
        field = dataclasses.fields(rec)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(rec, field, 1)
