"""Names that become paths (run names: images/<run>/...) are one safe path component."""

from __future__ import annotations

import pytest

import db
from benchmark.errors import user_error_message


@pytest.mark.parametrize("name", ["coco-gen-sd2-1a2b3c4d", "r", "A.b_c-9", "run.v2", "x" * 100])
def test_safe_names_pass(name: str) -> None:
    assert db.safe_name(name, "run name") == name


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "must be a non-empty name"),
        (None, "must be a non-empty name"),
        ("../../x", "may hold only letters, digits"),
        ("/abs/run", "may hold only letters, digits"),
        ("a\\b", "may hold only letters, digits"),
        ("C:run", "may hold only letters, digits"),
        ("run name", "may hold only letters, digits"),
        ("=cmd|calc", "may hold only letters, digits"),
        ("line\nbreak", "may hold only letters, digits"),
        ("café", "may hold only letters, digits"),
        (".hidden", "must not start with '.'"),
        ("..", "must not start with '.'"),
        ("-rf", "must not start with '-'"),
        ("a..b", "must not contain '..'"),
        ("x" * 101, "longer than 100 characters"),
    ],
)
def test_unsafe_names_are_refused_in_one_line(name, problem: str) -> None:
    with pytest.raises(db.InvalidInputError) as info:
        db.safe_name(name, "run name")
    message = user_error_message(info.value)
    assert message == str(info.value) and "\n" not in message
    assert message.startswith("run name") and problem in message


def test_store_refuses_unsafe_run_names_and_writes_nothing(store: db.Store, seeded) -> None:
    before = store.runs()
    for name in ("../../x", "/tmp/run", "=HYPERLINK(1)"):
        with pytest.raises(db.InvalidInputError, match="run name"):
            store.get_or_create_run(name, "coco", seeded.model.id, {})
        with pytest.raises(db.InvalidInputError, match="run name"):
            store.create_run(name, "coco", seeded.model.id, {})
    assert store.runs() == before
