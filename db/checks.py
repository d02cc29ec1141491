"""Input validation shared by store methods: fail early with a message naming the field."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

from .errors import InvalidInputError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def text(value: Any, what: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{what} must be a non-empty string, got {value!r}")
    return value


def optional_text(value: Any, what: str) -> str | None:
    return None if value is None else text(value, what)


def integer(value: Any, what: str, minimum: int | None = None) -> int:
    """An int (bools and floats rejected), optionally >= minimum."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{what} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InvalidInputError(f"{what} must be >= {minimum}, got {value}")
    return value


def optional_integer(value: Any, what: str, minimum: int | None = None) -> int | None:
    return None if value is None else integer(value, what, minimum)


def finite(value: Any, what: str) -> float:
    """A finite real number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{what} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise InvalidInputError(f"{what} must be a finite number, got {value!r}")
    return number


def optional_finite(value: Any, what: str) -> float | None:
    return None if value is None else finite(value, what)


_STUDY = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


def study_name(value: Any, what: str = "study") -> str:
    """A study's name: lowercase letters, digits and dashes (which studies exist is the split specs'
    and the annotation tasks' business, not the store's)."""
    if not isinstance(value, str) or not _STUDY.match(value):
        raise InvalidInputError(f"{what} must be a lowercase name (letters, digits, '-'), got {value!r}")
    return value


def one_of(value: Any, allowed: Iterable[str], what: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise InvalidInputError(f"{what} must be one of {allowed}, got {value!r}")
    return str(value)


def json_value(value: Any, what: str) -> Any:
    """Normalize through JSON (tuples -> lists); reject NaN/inf and non-JSON types.

    NaN is rejected because PostgreSQL's JSON type does not accept it.
    """
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} is not plain JSON ({exc})") from None


def json_object(value: Any, what: str) -> dict[str, Any]:
    value = {} if value is None else value
    if not isinstance(value, dict):
        raise InvalidInputError(f"{what} must be a dict, got {type(value).__name__}")
    out = json_value(value, what)
    assert isinstance(out, dict)
    return out


def string_list(value: Any, what: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInputError(f"{what} must be a list of strings, got {value!r}")
    items = list(value)
    for item in items:
        if not isinstance(item, str):
            raise InvalidInputError(f"{what} must contain only strings, got {item!r}")
    return items


def int_list(value: Any, what: str) -> list[int]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInputError(f"{what} must be a list of integers, got {value!r}")
    return [integer(v, f"{what} item", 0) for v in value]


def relative_path(value: Any, what: str) -> str:
    """A path relative to the workspace, stored with forward slashes."""
    path = text(value, what)
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute():
        raise InvalidInputError(f"{what} must be relative to the workspace, got {path!r}")
    return PureWindowsPath(path).as_posix() if "\\" in path else path


def sha256(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _SHA256.match(value):
        raise InvalidInputError(f"{what} must be 64 lowercase hex digits, got {value!r}")
    return value


SAFE_NAME_CHARS = "letters, digits, '.', '_' and '-'"
SAFE_NAME_MAX = 100
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def safe_name(value: Any, what: str) -> str:
    """A name that becomes one path component (run names: ``images/<run>/...``).

    Only ASCII letters, digits, '.', '_' and '-'; not empty, at most 100 characters, no leading
    '.' or '-' (hidden files, options) and no '..'. So it can hold no separator, drive or
    parent step and always resolves inside the folder it is joined to.
    """
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{what} must be a non-empty name, got {value!r}")
    shown = value if len(value) <= 60 else value[:57] + "..."
    if len(value) > SAFE_NAME_MAX:
        raise InvalidInputError(f"{what} {shown!r} is longer than {SAFE_NAME_MAX} characters")
    if not _SAFE_NAME.match(value):
        bad = sorted({c for c in value if not re.match(r"[A-Za-z0-9._-]", c)})
        raise InvalidInputError(f"{what} {shown!r} may hold only {SAFE_NAME_CHARS}, not {''.join(bad)!r}")
    if value[0] in ".-":
        raise InvalidInputError(f"{what} {shown!r} must not start with {value[0]!r}")
    if ".." in value:
        raise InvalidInputError(f"{what} {shown!r} must not contain '..'")
    return value
