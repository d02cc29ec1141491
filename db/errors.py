"""Store errors: one base class so callers can catch everything the store rejects."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class NotFoundError(StoreError, LookupError):
    """A named or numbered row (run, prompt, generation, rater...) does not exist."""


class InvalidInputError(StoreError, ValueError):
    """The caller passed a value the store will not write (bad shape, dtype, status...)."""


class ConflictError(StoreError):
    """The write would silently change data already stored under the same key."""


class StoreOpenError(StoreError):
    """The store at a URL cannot be opened (unknown scheme, driver missing, server unreachable,
    unwritable folder, a file that is not a database...); the message names the URL, password hidden."""


class SchemaTooNewError(StoreOpenError):
    """The database was written by a newer daam-bench: its schema revision is unknown here."""
