"""Plain frozen dataclasses: what the rest of the code sees instead of ORM objects.

Records are detached snapshots, so they can cross threads/processes and never
trigger lazy loads or accidental writes.  Input specs (``*Spec``) describe rows
to write in batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class Model:
    """A generator or baseline: hub id or local path plus revision/content hash."""

    id: int
    name: str
    revision: str
    kind: str
    config: JSONDict
    created_at: datetime


@dataclass(frozen=True)
class Run:
    """One generation run of a model over a prompt split with fixed settings."""

    id: int
    name: str
    split: str
    model_id: int
    settings: JSONDict
    code_version: str | None
    status: str
    created_at: datetime


@dataclass(frozen=True)
class Prompt:
    """A prompt of a split version; ``key`` is stable within (split, split_version)."""

    id: int
    split: str
    split_version: str
    key: str
    text: str
    provenance: JSONDict
    words: tuple[str, ...]


@dataclass(frozen=True)
class Generation:
    """One image of one prompt in one run; ``image_path`` is relative to the workspace."""

    id: int
    run_id: int
    prompt_id: int
    image_index: int
    seed: int | None
    image_path: str | None
    image_sha256: str | None
    height: int | None
    width: int | None
    status: str
    error: str | None
    claimed_by: str | None
    claimed_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class StoredWordMap:
    """Where the attribution maps of one word occurrence of a generation are stored: a row
    pointing at a file (the maps themselves load as ``daam.WordMap`` from ``path``)."""

    id: int
    generation_id: int
    word: str
    occurrence: int
    token_indices: tuple[int, ...]
    path: str
    method: str


@dataclass(frozen=True)
class Mask:
    """A binary mask as COCO RLE; decode with ``db.decode_mask``."""

    id: int
    generation_id: int
    word: str
    occurrence: int
    source: str
    method: str | None
    rater_id: int | None
    rle: JSONDict
    height: int
    width: int
    version: int
    created_at: datetime


@dataclass(frozen=True)
class Rater:
    """A human or automatic annotator; excluded raters stay stored but flagged."""

    id: int
    name: str
    kind: str
    excluded: bool
    exclusion_reason: str | None


@dataclass(frozen=True)
class Annotation:
    """One imported annotation: raw export kept next to the parsed form."""

    id: int
    study: str
    generation_id: int | None
    prompt_id: int | None
    rater_id: int
    external_id: str
    version: int
    raw: Any
    parsed: Any
    valid: bool
    problems: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class Score:
    """One metric value of a (run, study, method, subset), with optional CI."""

    id: int
    run_id: int
    study: str
    method: str
    metric: str
    subset: str
    value: float
    ci_low: float | None
    ci_high: float | None
    n: int | None
    details: JSONDict
    created_at: datetime


@dataclass(frozen=True)
class PromptSpec:
    """A prompt to add; identity is (split, version, key)."""

    key: str
    text: str
    provenance: JSONDict = field(default_factory=dict)
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class WordMapSpec:
    """A word map to add for a generation; identity is (method, word, occurrence)."""

    word: str
    occurrence: int
    token_indices: tuple[int, ...]
    path: str
    method: str = "daam"


@dataclass(frozen=True)
class GenerationSpec:
    """A planned (pending) image: identity is (prompt_id, image_index) within a run."""

    prompt_id: int
    image_index: int
    seed: int | None = None


@dataclass(frozen=True)
class ScoreSpec:
    """A score to upsert; identity is (run_id, study, method, metric, subset)."""

    run_id: int
    study: str
    method: str
    metric: str
    subset: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    details: JSONDict = field(default_factory=dict)
