"""Opening creates/upgrades the schema; old databases keep their rows; SQLite pragmas are on."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

import db
from db.engine import make_engine, resolve_url
from db.migrate import current_revision, head_revision, upgrade
from db.rle import encode_mask
from db.tables import Base

REPO = Path(__file__).resolve().parents[2]


def test_open_creates_schema_at_head(url: str) -> None:
    with db.connect(url) as store:
        assert store.revision() == head_revision() == "0002"
        tables = set(inspect(store.engine).get_table_names())
    assert {
        "models",
        "runs",
        "prompts",
        "generations",
        "word_maps",
        "masks",
        "raters",
        "annotations",
        "scores",
        "alembic_version",
    } <= tables


def test_reopen_keeps_data(url: str, db_path: Path) -> None:
    with db.connect(url) as store:
        store.get_or_create_rater("alice")
    if url.startswith("sqlite"):
        assert db_path.exists()
    with db.connect(url) as store:
        assert [r.name for r in store.raters()] == ["alice"]
        assert store.revision() == "0002"


def test_models_match_migrations(store: db.Store) -> None:
    """Autogenerate finds nothing to do: tables.py and the revisions agree."""
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []


def test_schema_compiles_for_postgresql() -> None:
    """No SQLite-only types: the DDL renders for PostgreSQL too."""
    dialect = postgresql.dialect()
    for table in Base.metadata.sorted_tables:
        assert "CREATE TABLE" in str(CreateTable(table).compile(dialect=dialect))
        for index in table.indexes:
            str(CreateIndex(index).compile(dialect=dialect))


def test_wal_and_foreign_keys_on_every_connection(sqlite_store: db.Store) -> None:
    conns = [sqlite_store.engine.connect() for _ in range(3)]  # distinct pooled connections
    try:
        for conn in conns:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        for conn in conns:
            conn.close()


def test_foreign_keys_enforced(store: db.Store) -> None:
    """The PRAGMA really takes effect (and PostgreSQL enforces them natively)."""
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO runs (name, split, model_id, settings, status, created_at) "
                    "VALUES ('x', 'coco', 999, '{}', 'created', '2024-01-01 00:00:00.000000')"
                )
            )


def _fill_0001(conn) -> None:
    """Rows written through tables reflected from the 0001 schema (the ORM is at head)."""
    t = MetaData()
    t.reflect(conn)
    assert "scores" not in t.tables
    ts = datetime(2024, 1, 1, tzinfo=timezone.utc)
    mask = np.zeros((4, 6), bool)
    mask[1:3, 2:5] = True
    conn.execute(
        t.tables["models"].insert(),
        [{"name": "sd", "revision": "r1", "kind": "diffusion", "config": {}, "created_at": ts}],
    )
    conn.execute(
        t.tables["runs"].insert(),
        [
            {
                "name": "old-run",
                "split": "coco",
                "model_id": 1,
                "settings": {"steps": 20},
                "code_version": "v0",
                "status": "done",
                "created_at": ts,
            }
        ],
    )
    conn.execute(
        t.tables["prompts"].insert(),
        [
            {
                "split": "coco",
                "split_version": "v1",
                "key": f"k{i}",
                "text": "a dog",
                "provenance": {},
                "words": ["dog"],
            }
            for i in (1, 2)
        ],
    )
    conn.execute(
        t.tables["generations"].insert(),
        [
            {
                "run_id": 1,
                "prompt_id": i,
                "image_index": 0,
                "seed": 7,
                "image_path": f"img/{i}.png",
                "height": 4,
                "width": 6,
                "status": "done",
                "created_at": ts,
            }
            for i in (1, 2)
        ],
    )
    conn.execute(t.tables["raters"].insert(), [{"name": "bob", "kind": "human", "excluded": False}])
    conn.execute(
        t.tables["masks"].insert(),
        [
            {
                "generation_id": 1,
                "word": "dog",
                "occurrence": 0,
                "source": "human",
                "rater_id": 1,
                "rle": encode_mask(mask),
                "height": 4,
                "width": 6,
                "version": 1,
                "created_at": ts,
            }
        ],
    )
    conn.execute(
        t.tables["annotations"].insert(),
        [
            {
                "study": "rating",
                "generation_id": 1,
                "rater_id": 1,
                "external_id": "17",
                "version": 1,
                "raw": {"score": 4},
                "parsed": {"score": 4},
                "valid": True,
                "problems": [],
                "created_at": ts,
            }
        ],
    )


def test_upgrade_0001_database_with_rows_to_head(url: str) -> None:
    engine = make_engine(resolve_url(url))
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    assert "scores" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        _fill_0001(conn)
    engine.dispose()

    with db.connect(url) as store:  # opening upgrades to head
        assert store.revision() == "0002"
        run = store.get_run("old-run")
        assert run.settings == {"steps": 20} and run.code_version == "v0"
        gens = store.generations(run.id)
        assert [(g.prompt_id, g.image_path, g.seed) for g in gens] == [(1, "img/1.png", 7), (2, "img/2.png", 7)]
        assert [p.key for p in store.prompts("coco", "v1")] == ["k1", "k2"]
        (mask,) = store.masks(1)
        expected = np.zeros((4, 6), bool)
        expected[1:3, 2:5] = True
        assert np.array_equal(db.decode_mask(mask), expected)
        (ann,) = store.annotations("rating")
        assert ann.raw == {"score": 4} and ann.rater_id == 1
        # the new revision's table works on the upgraded database
        store.upsert_score(run.id, "rating", "daam", "mean", "all", 3.5)
        assert len(store.scores(run.id)) == 1
        index_names = {ix["name"] for ix in inspect(store.engine).get_indexes("generations")}
        assert "ix_generations_run_id_status" in index_names


def test_url_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = tmp_path.resolve()
    monkeypatch.delenv("BENCH_DB_URL", raising=False)
    monkeypatch.delenv("BENCH_WORKSPACE", raising=False)
    assert resolve_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert resolve_url(tmp_path) == f"sqlite:///{tmp_path / 'bench.sqlite'}"
    assert resolve_url(None, tmp_path / "ws") == f"sqlite:///{tmp_path / 'ws' / 'bench.sqlite'}"
    monkeypatch.setenv("BENCH_WORKSPACE", str(tmp_path / "w2"))
    assert resolve_url() == f"sqlite:///{tmp_path / 'w2' / 'bench.sqlite'}"
    monkeypatch.setenv("BENCH_DB_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    assert resolve_url() == f"sqlite:///{tmp_path / 'env.sqlite'}"
    assert resolve_url(tmp_path / "arg.sqlite") == f"sqlite:///{tmp_path / 'arg.sqlite'}"


def test_connect_from_other_cwd_uses_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Migrations are found from the package, not the working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BENCH_DB_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    with db.connect() as store:
        assert store.revision() == "0002"
    assert (tmp_path / "env.sqlite").exists()


def test_db_imports_no_other_project_package() -> None:
    code = (
        "import sys, db; bad = [m for m in sys.modules if m.split('.')[0] in "
        "('daam', 'benchmark', 'annotation', 'baselines')]; print(bad); assert not bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_concurrent_first_open_migrates_once(url: str) -> None:
    """Several workers opening a fresh database at once all end up at head."""
    import threading

    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        try:
            barrier.wait()
            with db.connect(url) as store:
                assert store.revision() == "0002"
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
