"""How many times a generation was tried, kept in its error text ("attempt 2/3: ...").

No schema change: a failed row's ``error`` starts with the attempt that failed and the bound;
an error without the prefix (stored before this convention) counts as one attempt.
"""

from __future__ import annotations

import re

MAX_ATTEMPTS = 3  # a failed item is retried by the same command until it has failed this often
_PREFIX = re.compile(r"^attempt (\d+)/\d+: ")


def attempts(error: str | None) -> int:
    """The attempts a failed row's error records (0 for no error)."""
    if not error:
        return 0
    m = _PREFIX.match(error)
    return int(m.group(1)) if m else 1


def failure(previous_error: str | None, message: str, max_attempts: int = MAX_ATTEMPTS) -> str:
    """The error text of the next failed attempt after ``previous_error``."""
    reason = _PREFIX.sub("", message)
    return f"attempt {attempts(previous_error) + 1}/{max_attempts}: {reason}"


def reason(error: str | None) -> str | None:
    """The error without its attempt prefix."""
    return None if error is None else _PREFIX.sub("", error)
