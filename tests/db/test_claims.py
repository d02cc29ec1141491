"""Several workers on one run never get the same generation."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.dialects import postgresql

import db
from db import tables as m


def _plan(store: db.Store, seeded, images: int) -> list[db.Generation]:
    specs = [db.GenerationSpec(p.id, i, seed=i) for p in seeded.prompts for i in range(images)]
    return store.plan_generations(seeded.run.id, specs)


def test_claim_marks_rows(store: db.Store, seeded) -> None:
    planned = _plan(store, seeded, 2)
    got = store.claim_generations(seeded.run.id, "w1", 4)
    assert [g.id for g in got] == [g.id for g in planned[:4]]
    assert all(g.status == "claimed" and g.claimed_by == "w1" and g.claimed_at for g in got)
    rest = store.claim_generations(seeded.run.id, "w2", 10)
    assert [g.id for g in rest] == [g.id for g in planned[4:]]
    assert store.claim_generations(seeded.run.id, "w3", 10) == []


def test_two_stores_never_share_a_row(store: db.Store, seeded) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    planned = _plan(store, seeded, 60)  # 180 rows
    got: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(name: str) -> None:
        try:
            with db.connect(url) as other:  # its own engine and connections
                start.wait()
                while batch := other.claim_generations(seeded.run.id, name, 3):
                    got[name].extend(g.id for g in batch)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    a, b = set(got["a"]), set(got["b"])
    assert len(a) == len(got["a"]) and len(b) == len(got["b"])
    assert not a & b
    assert a | b == {g.id for g in planned}
    by_worker = {g.id: g.claimed_by for g in store.generations(seeded.run.id, "claimed")}
    assert all(by_worker[i] == "a" for i in a) and all(by_worker[i] == "b" for i in b)


def test_release_stale_claims(store: db.Store, seeded) -> None:
    _plan(store, seeded, 1)
    claimed = store.claim_generations(seeded.run.id, "crashed", 2)
    assert store.release_stale_claims(seeded.run.id, 3600) == 0
    store.record_generation(seeded.run.id, claimed[0].prompt_id, 0, image_path="x.png")
    assert store.release_stale_claims(seeded.run.id, 0) == 1  # the done row stays done
    again = store.claim_generations(seeded.run.id, "w2", 5)
    assert {g.id for g in again} == {claimed[1].id} | {
        g.id for g in store.generations(seeded.run.id) if g.prompt_id == seeded.prompts[2].id
    }
    assert store.get_generation(claimed[0].id).status == "done"


def test_claim_query_skips_locked_rows_on_postgresql() -> None:
    stmt = select(m.GenerationRow.id).limit(3).with_for_update(skip_locked=True)
    assert "FOR UPDATE SKIP LOCKED" in str(stmt.compile(dialect=postgresql.dialect()))
