"""Repeated writes of the same key return the stored row and never add rows."""

from __future__ import annotations

from sqlalchemy import func, select

import db
from db import tables as m


def _count(store: db.Store, row_type: type) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(row_type)).scalar_one()


def test_get_or_create_model_and_run(store: db.Store) -> None:
    a = store.get_or_create_model("sd", "rev", "diffusion", {"x": 1})
    b = store.get_or_create_model("sd", "rev", "diffusion", {"x": 1})
    assert a == b and _count(store, m.ModelRow) == 1
    r1 = store.get_or_create_run("run", "coco", a.id, {"steps": 5}, code_version="v1")
    r2 = store.get_or_create_run("run", "coco", a.id, {"steps": 5}, code_version="v2")
    assert r1 == r2 and _count(store, m.RunRow) == 1
    assert store.get_run("run") == r1


def test_add_prompts_idempotent(store: db.Store) -> None:
    specs = [db.PromptSpec(f"k{i}", f"prompt {i}", {"i": i}, ("w",)) for i in range(5)]
    first = store.add_prompts("s", "v1", specs)
    again = store.add_prompts("s", "v1", list(reversed(specs)) + [db.PromptSpec("k9", "new")])
    assert [p.key for p in again] == ["k4", "k3", "k2", "k1", "k0", "k9"]
    assert {p.id for p in first} <= {p.id for p in again}
    assert _count(store, m.PromptRow) == 6
    other = store.add_prompts("s", "v2", specs[:1])  # same key, new version: new row
    assert other[0].id not in {p.id for p in first}
    assert [p.key for p in store.prompts("s", "v1")] == ["k0", "k1", "k2", "k3", "k4", "k9"]


def test_record_generation_upserts(store: db.Store, seeded) -> None:
    run, prompt = seeded.run, seeded.prompts[0]
    g1 = store.record_generation(run.id, prompt.id, 0, seed=3, status="failed", error="OOM")
    g2 = store.record_generation(
        run.id, prompt.id, 0, image_path="runs/x/0.png", image_sha256="a" * 64, height=512, width=512
    )
    g3 = store.record_generation(run.id, prompt.id, 0, image_path="runs/x/0.png")
    assert g1.id == g2.id == g3.id and _count(store, m.GenerationRow) == 1
    assert (g3.status, g3.error, g3.seed, g3.height, g3.image_sha256) == ("done", None, 3, 512, "a" * 64)
    assert store.generations(run.id, "done") == [g3]


def test_plan_generations_idempotent(store: db.Store, seeded) -> None:
    specs = [db.GenerationSpec(p.id, i, seed=i) for p in seeded.prompts for i in range(2)]
    first = store.plan_generations(seeded.run.id, specs)
    store.record_generation(seeded.run.id, seeded.prompts[0].id, 0, image_path="a.png")
    again = store.plan_generations(seeded.run.id, specs)
    assert [g.id for g in first] == [g.id for g in again]
    assert again[0].status == "done"  # planning again never resets finished work
    assert len(store.pending_generations(seeded.run.id)) == 5


def test_add_annotation_idempotent(store: db.Store, seeded) -> None:
    gen = store.record_generation(seeded.run.id, seeded.prompts[0].id, 0, image_path="a.png")
    rater = store.get_or_create_rater("w1")
    assert store.get_or_create_rater("w1") == rater
    a = store.add_annotation("rating", "123", rater, {"result": [1]}, parsed={"score": 1}, generation_id=gen.id)
    b = store.add_annotation("rating", 123, rater.id, {"result": [1]}, parsed={"score": 1}, generation_id=gen.id)
    assert a == b and _count(store, m.AnnotationRow) == 1
    c = store.add_annotation("rating", "123", rater, {"result": [2]}, generation_id=gen.id, version=2)
    assert c.id != a.id and len(store.annotations("rating", generation_id=gen.id)) == 2
    fixed = store.update_annotation_parsed(a.id, {"score": 2}, valid=False, problems=["late"])
    assert (fixed.raw, fixed.parsed, fixed.valid, fixed.problems) == ({"result": [1]}, {"score": 2}, False, ("late",))
    assert store.annotations(valid=True) == [c]


def test_upsert_score(store: db.Store, seeded) -> None:
    rid = seeded.run.id
    a = store.upsert_score(rid, "segmentation", "daam", "miou", "coco80", 0.4, ci_low=0.3, ci_high=0.5, n=10)
    b = store.upsert_score(rid, "segmentation", "daam", "miou", "coco80", 0.45, n=12, details={"k": 1})
    assert a.id == b.id and _count(store, m.ScoreRow) == 1
    assert (b.value, b.ci_low, b.n, b.details) == (0.45, None, 12, {"k": 1})
    store.upsert_score(rid, "segmentation", "daam", "miou", "NN", 0.1)
    assert [s.subset for s in store.scores(rid, metric="miou")] == ["coco80", "NN"]


def test_add_word_maps_upserts(store: db.Store, seeded) -> None:
    gen = store.record_generation(seeded.run.id, seeded.prompts[1].id, 0, image_path="a.png")
    specs = [db.WordMapSpec("cat", 0, (2,), "maps/1.npz"), db.WordMapSpec("cat", 1, (5,), "maps/1.npz")]
    first = store.add_word_maps(gen.id, specs)
    second = store.add_word_maps(gen.id, [db.WordMapSpec("cat", 0, (2, 3), "maps/1b.npz")])
    assert second[0].id == first[0].id and second[0].token_indices == (2, 3)
    assert len(store.word_maps(gen.id)) == 2 and len(store.word_maps(run_id=seeded.run.id)) == 2
