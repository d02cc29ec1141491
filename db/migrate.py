"""Programmatic Alembic: the migration scripts ship inside the package.

No alembic.ini is needed; ``script_location`` points at ``db/migrations`` so it
works from a checkout or an installed wheel.  The upgrade runs in one
``BEGIN IMMEDIATE`` transaction, so two processes opening a fresh SQLite file
at once do not both create tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from .engine import WRITE_OPTION
from .errors import SchemaTooNewError, StoreOpenError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x62656E6368  # "bench": arbitrary constant shared by all processes


def alembic_config(engine: Engine | None = None) -> Config:
    """An in-memory Alembic config for this package's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest revision shipped with the package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    """Every revision shipped with the package."""
    return frozenset(s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def check_schema(url: str, revision: str | None, tables: Iterable[str]) -> None:
    """Refuse a database this code cannot own, before anything is written to it.

    A revision we do not ship means a newer daam-bench wrote it (upgrading would fail half-way,
    and downgrading is the user's decision). A database without our version table but with
    other tables belongs to another application.
    """
    from .tables import Base

    if revision is not None and revision not in known_revisions():
        raise SchemaTooNewError(
            f"cannot open store {url}: its schema revision {revision!r} is newer than this daam-bench "
            f"knows (newest: {head_revision()!r}); upgrade daam-bench to use it, nothing was changed"
        )
    if revision is None:
        foreign = sorted(set(tables) - set(Base.metadata.tables) - {"alembic_version"})
        if foreign:
            raise StoreOpenError(
                f"cannot open store {url}: it holds tables of another application "
                f"({', '.join(foreign[:5])}); nothing was changed"
            )


def check_openable(engine: Engine) -> None:
    """``check_schema`` on an open engine (SQLite files are also checked before connecting)."""
    from sqlalchemy import inspect

    revision = current_revision(engine)
    tables = inspect(engine).get_table_names() if revision is None else ()
    check_schema(engine.url.render_as_string(hide_password=True), revision, tables)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (default: head) in one transaction.

    A database already at head is left alone without taking a write lock, so
    opening a busy database stays cheap.  On PostgreSQL an advisory lock keeps
    two processes from migrating at once (SQLite gets that from BEGIN IMMEDIATE).
    """
    if revision == "head" and current_revision(engine) == head_revision():
        return
    check_openable(engine)
    cfg = alembic_config(engine)
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn:
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)


def autogenerate_revision(url: str, message: str, rev_id: str) -> None:
    """Write a new revision file diffing tables.py against a database at head.

    For maintainers after changing tables.py, e.g.
    ``autogenerate_revision("sqlite:////tmp/scratch.sqlite", "add x", "0003")``;
    review the generated file before committing it.
    """
    from .engine import make_engine

    engine = make_engine(url)
    upgrade(engine)
    cfg = alembic_config(engine)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
    engine.dispose()
