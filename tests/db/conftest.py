"""Shared fixtures: a fresh database per test and a small seeded run.

Tests using ``url``/``store`` run on SQLite, and also on PostgreSQL when
BENCH_TEST_PG_URL points at a server where the user may create databases
(e.g. ``postgresql+psycopg://bench@/postgres?host=/tmp/pg&port=5432``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import db

PG_ENV = "BENCH_TEST_PG_URL"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ws" / "bench.sqlite"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, db_path: Path) -> Iterator[str]:
    """URL of an empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{db_path}"
        return
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        pytest.skip(f"set {PG_ENV} to run against PostgreSQL")
    name = f"bench_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store(url: str) -> Iterator[db.Store]:
    with db.connect(url) as s:
        yield s


@pytest.fixture
def sqlite_store(db_path: Path) -> Iterator[db.Store]:
    with db.connect(db_path) as s:
        yield s


@dataclass
class Seeded:
    model: db.Model
    run: db.Run
    prompts: list[db.Prompt]


@pytest.fixture
def seeded(store: db.Store) -> Seeded:
    return seed(store)


@pytest.fixture
def sqlite_seeded(sqlite_store: db.Store) -> Seeded:
    """``seeded`` in the SQLite file that other processes open (``db_path``)."""
    return seed(sqlite_store)


def seed(store: db.Store) -> Seeded:
    model = store.get_or_create_model(
        "stabilityai/stable-diffusion-2-base", "1cb61502", "diffusion", {"dtype": "float16"}
    )
    run = store.create_run(
        "sd2-coco",
        "coco",
        model.id,
        {"steps": 30, "scheduler": "ddim", "guidance": 7.5, "height": 512, "width": 512, "seed": 0, "batch_size": 4},
        code_version="abc123",
    )
    prompts = store.add_prompts(
        "coco",
        "v1",
        [
            db.PromptSpec("c1", "a dog on a couch", {"source_caption": "a dog on a sofa"}, ("dog", "couch")),
            db.PromptSpec("c2", "a cat and a cat", {"target": {"word": "cat", "pos": "NN"}}, ("cat",)),
            db.PromptSpec("c3", "a red car", {}, ("car", "red")),
        ],
    )
    return Seeded(model, run, prompts)
