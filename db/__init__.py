"""daam-bench store: SQLAlchemy tables (db.tables), Alembic migrations and a typed Store API.

Callers use ``connect()`` and the ``Store`` methods and get frozen dataclass
records back.  This package imports no other project package.
"""

from .checks import safe_name
from .errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    SchemaTooNewError,
    StoreError,
    StoreOpenError,
)
from .queries import current_annotations, submission_order
from .records import (
    Annotation,
    Generation,
    GenerationSpec,
    Mask,
    Model,
    Prompt,
    PromptSpec,
    Rater,
    Run,
    Score,
    ScoreSpec,
    StoredWordMap,
    WordMapSpec,
)
from .retries import MAX_ATTEMPTS, attempts, failure
from .rle import decode_mask, encode_mask
from .store import Store, connect
from .workers import CLAIM_LEASE_S, worker_id

__all__ = [
    "CLAIM_LEASE_S",
    "MAX_ATTEMPTS",
    "Annotation",
    "ConflictError",
    "Generation",
    "GenerationSpec",
    "InvalidInputError",
    "Mask",
    "Model",
    "NotFoundError",
    "Prompt",
    "PromptSpec",
    "Rater",
    "Run",
    "SchemaTooNewError",
    "Score",
    "ScoreSpec",
    "Store",
    "StoreError",
    "StoreOpenError",
    "StoredWordMap",
    "WordMapSpec",
    "attempts",
    "failure",
    "connect",
    "current_annotations",
    "decode_mask",
    "encode_mask",
    "safe_name",
    "submission_order",
    "worker_id",
]
