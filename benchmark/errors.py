"""Which exceptions are the user's to fix, shown as one line instead of a traceback."""

from __future__ import annotations

import sys

# Errors whose modules are heavy (torch): an instance can only exist once its module was imported,
# so they are looked up among the loaded modules, never imported here.
_LOADED_ERRORS = (("benchmark.toy.train", "RecipeMismatchError"),)


def user_error_message(e: BaseException) -> str | None:
    missing = missing_extra_message(e)  # first: the imports below may need the very extra
    if missing is not None:
        return missing
    from benchmark.pipelines import ModelLoadError
    from benchmark.validate import UsageError
    from core.registry import UnknownNameError

    known: tuple[type, ...] = (UnknownNameError, ModelLoadError, UsageError, FileNotFoundError)
    try:
        from db import StoreError

        known += (StoreError,)
    except ImportError:
        pass
    try:
        from benchmark.splits.errors import SplitError  # type: ignore[import-not-found]

        known += (SplitError,)
    except ImportError:
        pass
    for module, name in _LOADED_ERRORS:
        if module in sys.modules:
            known += (getattr(sys.modules[module], name),)
    if isinstance(e, known):
        return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return None


def missing_extra_message(e: BaseException) -> str | None:
    """A module an extra brings is missing: which extra to install, in one line."""
    from core.extras import missing_extra_message as message

    return message(e)
