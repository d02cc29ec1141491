"""Keep Label Studio tokens and passwords out of every message, log line and report.

Code that learns a secret registers it once; every error message, log line and report that
could echo it (an exception from the HTTP client, a server log, a URL) goes through ``redact``.
"""

from __future__ import annotations

import threading

MASK = "[redacted]"
_MIN_LENGTH = 6  # short strings would mask ordinary words
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that ``redact`` masks it from now on."""
    if value and len(value) >= _MIN_LENGTH:
        with _lock:
            _secrets.add(value)


def redact(text: object) -> str:
    """``str(text)`` with every registered secret replaced by ``[redacted]``."""
    out = str(text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)  # longest first: no partial leftovers
    for secret in known:
        out = out.replace(secret, MASK)
    return out
