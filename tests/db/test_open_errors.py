"""Store URLs that cannot be opened: one-line StoreOpenError naming the URL (password hidden)
and the problem; nothing written to files that are not our database."""

from __future__ import annotations

import os
import socket
import sqlite3
import sys
from pathlib import Path

import pytest

import db
from benchmark.errors import user_error_message


def _open_error(target, **kwargs) -> str:
    with pytest.raises(db.StoreOpenError) as info:
        db.connect(target, **kwargs)
    message = user_error_message(info.value)
    assert message is not None and message == str(info.value) and "\n" not in message
    assert "secret" not in message
    return message


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unknown_scheme() -> None:
    message = _open_error("mysqlx://bench:secret@localhost/bench")
    assert "mysqlx://bench:***@localhost/bench" in message and "unknown scheme 'mysqlx'" in message


def test_unparsable_url() -> None:
    assert "not a database URL" in _open_error("no scheme://x")


def test_unknown_driver() -> None:
    message = _open_error("postgresql+nosuchdriver://bench:secret@localhost/bench")
    assert "unknown driver 'nosuchdriver' for postgresql" in message and "psycopg" in message


def test_driver_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # import psycopg2 raises ImportError
    message = _open_error("postgresql+psycopg2://bench:secret@localhost/bench")
    assert "psycopg2 driver for postgresql is not installed" in message
    assert "postgresql+psycopg2://bench:***@localhost/bench" in message


def test_unreachable_postgresql() -> None:
    pytest.importorskip("psycopg")
    port = _free_port()  # nothing listens there
    message = _open_error(f"postgresql+psycopg://bench:secret@127.0.0.1:{port}/bench")
    assert f"127.0.0.1:{port}/bench" in message and "OperationalError" in message


def test_file_that_is_not_a_database(tmp_path: Path) -> None:
    target = tmp_path / "notes.sqlite"
    target.write_text("not a database\n" * 100)
    before = _snapshot(tmp_path)
    message = _open_error(target)
    assert "is not an SQLite database" in message and str(target) in message
    assert _snapshot(tmp_path) == before  # no -wal, no -shm, same bytes


def test_folder_as_database(tmp_path: Path) -> None:
    assert "is a folder" in _open_error(f"sqlite:///{tmp_path}")


def test_workspace_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "ws").write_text("x")
    assert f"{tmp_path / 'ws'} is a file, not a folder" in _open_error(None, workspace=tmp_path / "ws")


def test_read_only_folder_is_refused_before_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == folder and mode == os.W_OK else real(p, mode))
    assert "read-only" in _open_error(folder / "bench.sqlite")
    assert list(folder.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_folder_for_real(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert "read-only" in _open_error(folder / "bench.sqlite")
    finally:
        folder.chmod(0o755)


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    target = tmp_path / "bench.sqlite"
    with db.connect(target) as store:
        store.get_or_create_rater("alice")
    with sqlite3.connect(target) as con:
        con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    con.close()
    before = _snapshot(tmp_path)
    message = _open_error(target)
    assert "'9999_from_the_future' is newer than this daam-bench knows" in message
    assert _snapshot(tmp_path) == before


def test_newer_schema_on_an_open_engine(tmp_path: Path) -> None:
    """The check also runs on engines (PostgreSQL's path), not only on SQLite files."""
    from sqlalchemy import create_engine

    from db.migrate import check_openable

    target = tmp_path / "bench.sqlite"
    db.connect(target).close()
    with sqlite3.connect(target) as con:
        con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.close()
    engine = create_engine(f"sqlite:///{target}")
    with pytest.raises(db.SchemaTooNewError):
        check_openable(engine)
    engine.dispose()


def test_database_of_another_application_is_refused_untouched(tmp_path: Path) -> None:
    target = tmp_path / "other.sqlite"
    with sqlite3.connect(target) as con:
        con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    con.close()
    before = _snapshot(tmp_path)
    assert "tables of another application (invoices)" in _open_error(target)
    assert _snapshot(tmp_path) == before


def test_empty_file_becomes_a_store(tmp_path: Path) -> None:
    target = tmp_path / "bench.sqlite"
    target.touch()  # SQLite's own rule: an empty file is an empty database
    with db.connect(target) as store:
        assert store.revision() is not None
