"""Engine creation: URL resolution and per-connection SQLite settings.

SQLite gets WAL (readers never block the writer, several workers can share a
file), foreign keys on, a busy timeout, and explicit BEGIN handling so write
transactions start with ``BEGIN IMMEDIATE`` and are serialized up front instead
of failing half-way with "database is locked".
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from .errors import StoreOpenError

DB_URL_ENV = "BENCH_DB_URL"
WORKSPACE_ENV = "BENCH_WORKSPACE"
DEFAULT_WORKSPACE = Path("workspace")
DB_FILENAME = "bench.sqlite"

# Execution option marking a connection whose transaction will write.
WRITE_OPTION = "bench_write"
BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 10  # PostgreSQL: a server that does not answer is an error, not a hang
SQLITE_HEADER = b"SQLite format 3\x00"
DIALECTS = ("sqlite", "postgresql")  # the backends the store is tested on
POSTGRES_HINT = "use postgresql+psycopg://... with psycopg installed (pip install 'psycopg[binary]')"


def redact(url: str) -> str:
    """The URL with its password hidden, also when SQLAlchemy cannot parse it."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - any unparsable text still gets its password hidden
        return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)


def open_error(url: str, problem: str) -> StoreOpenError:
    """One line: which store and what is wrong with it."""
    first = " ".join(str(problem).split()) or "unknown problem"
    return StoreOpenError(f"cannot open store {redact(url)}: {first}")


def resolve_url(
    url_or_path: str | os.PathLike[str] | None = None, workspace: str | os.PathLike[str] | None = None
) -> str:
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
    """Create an engine; SQLite files get WAL, foreign keys and IMMEDIATE writes.

    StoreOpenError (one line, password hidden) for an unparsable URL, an unknown scheme or
    driver, a driver that is not installed, and SQLite files that cannot be the store: a folder,
    a file that is not an SQLite database, an unwritable folder. Nothing is written then.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise open_error(
            url, "not a database URL (expected e.g. sqlite:///path/bench.sqlite or postgresql+psycopg://user@host/db)"
        ) from None
    backend = parsed.get_backend_name()
    try:
        driver = parsed.get_dialect().driver
    except NoSuchModuleError:
        raise _unknown_dialect(url, parsed) from None
    if backend != "sqlite":
        if driver in ("psycopg", "psycopg2"):
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S, **kwargs.pop("connect_args", {})}
        try:
            return create_engine(url, pool_pre_ping=True, **kwargs)
        except ImportError as exc:  # the dialect exists, its DBAPI module is not installed
            raise open_error(
                url,
                f"the {driver} driver for {backend} is not installed "
                f"({exc}); {POSTGRES_HINT if backend == 'postgresql' else 'install it'}",
            ) from None
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        _check_sqlite_file(url, Path(database))
    connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
    connect_args.update(kwargs.pop("connect_args", {}))
    try:
        engine = create_engine(url, connect_args=connect_args, **kwargs)
    except ArgumentError as exc:
        raise open_error(url, f"not a usable SQLite URL ({exc})") from None
    _install_sqlite_listeners(engine)
    return engine


def _unknown_dialect(url: str, parsed: Any) -> StoreOpenError:
    backend = parsed.get_backend_name()
    try:
        make_url(f"{backend}://").get_dialect()
    except NoSuchModuleError:
        return open_error(url, f"unknown scheme {backend!r} (supported: {', '.join(DIALECTS)})")
    driver = parsed.drivername.partition("+")[2]
    return open_error(
        url, f"unknown driver {driver!r} for {backend}" + (f"; {POSTGRES_HINT}" if backend == "postgresql" else "")
    )


def _check_sqlite_file(url: str, path: Path) -> None:
    """Refuse, before SQLite touches anything, a path that cannot hold the store."""
    folder = path.parent
    if path.is_dir():
        raise open_error(url, f"{path} is a folder, not a database file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        why = (
            f"{blocking} is a file, not a folder"
            if blocking
            else f"cannot create the folder {folder} ({exc.strerror or exc})"
        )
        raise open_error(url, why) from None
    if path.is_file():
        try:
            with path.open("rb") as f:
                header = f.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise open_error(url, f"cannot read {path} ({exc.strerror or exc})") from None
        if header and header != SQLITE_HEADER:
            raise open_error(url, f"{path} is not an SQLite database; it was left untouched")
        if header:
            _check_sqlite_schema(url, path)
    # WAL writes <name>-wal and <name>-shm beside the file, so the folder must be writable too
    if not os.access(folder, os.W_OK):
        raise open_error(
            url, f"the folder {folder} is read-only (the store writes the database and its -wal and -shm files there)"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise open_error(url, f"{path} is read-only")


def _check_sqlite_schema(url: str, path: Path) -> None:
    """Read the schema through a read-only connection: opening for real switches the file to
    WAL, a write, which a newer or foreign database must not get."""
    import sqlite3

    from .migrate import check_schema  # migrate imports this module

    # no -wal file: nobody has it open and everything is in the main file, which "immutable" reads
    # without creating -wal/-shm; otherwise those exist already and a read-only open adds nothing
    wal = path.with_name(path.name + "-wal").exists()
    query = "mode=ro" if wal else "mode=ro&immutable=1"
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?{query}", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            revision = None
            if "alembic_version" in tables:
                row = con.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = row[0] if row else None
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise open_error(url, f"{path} cannot be read as an SQLite database ({exc}); it was left untouched") from None
    check_schema(redact(url), revision, tables)


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
