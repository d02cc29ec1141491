"""Engine creation: URL resolution and per-connection SQLite settings.

SQLite gets WAL (readers never block the writer, several workers can share a
file), foreign keys on, a busy timeout, and explicit BEGIN handling so write
transactions start with ``BEGIN IMMEDIATE`` and are serialized up front instead
of failing half-way with "database is locked".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

DB_URL_ENV = "BENCH_DB_URL"
WORKSPACE_ENV = "BENCH_WORKSPACE"
DEFAULT_WORKSPACE = Path("workspace")
DB_FILENAME = "bench.sqlite"

# Execution option marking a connection whose transaction will write.
WRITE_OPTION = "bench_write"
BUSY_TIMEOUT_MS = 30_000


def resolve_url(url_or_path: str | os.PathLike[str] | None = None,
                workspace: str | os.PathLike[str] | None = None) -> str:
    """Argument, else $BENCH_DB_URL, else ``<workspace>/bench.sqlite``.

    A plain path (no ``://``) means an SQLite file; a directory means the
    ``bench.sqlite`` inside it.  The workspace is the argument, else
    $BENCH_WORKSPACE, else ``./workspace``.
    """
    target: str | os.PathLike[str] | None = url_or_path
    if target is None:
        target = os.environ.get(DB_URL_ENV) or None
    if target is None:
        ws = Path(workspace or os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE)
        target = ws / DB_FILENAME
    text = os.fspath(target)
    if "://" in text:
        return text
    path = Path(text).expanduser()
    if path.is_dir():
        path = path / DB_FILENAME
    return f"sqlite:///{path.resolve()}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite files get WAL, foreign keys and IMMEDIATE writes."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
    connect_args.update(kwargs.pop("connect_args", {}))
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    _install_sqlite_listeners(engine)
    return engine


def _set_wal(cursor: Any) -> None:
    """Switch to WAL, retrying while another connection holds the lock: the switch can report
    "database is locked" at once, without the busy handler, when several processes open a fresh
    file together (seen in CI: test_concurrent_first_open_migrates_once)."""
    import sqlite3
    import time

    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _install_sqlite_listeners(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite; "begin" below issues BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            _set_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
