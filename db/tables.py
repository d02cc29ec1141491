"""ORM tables.  Internal to ``db``: callers get ``db.records`` dataclasses instead.

Types are portable (String, Integer, Float, Boolean, DateTime, JSON) so the same
models serve SQLite and PostgreSQL.  Any change here needs a new revision in
``db/migrations/versions`` (a test compares models and migrations).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names keep migrations reproducible across dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware UTC now; all stored timestamps are UTC."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, Any: JSON}


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class ModelRow(Base):
    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("name", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(512))
    revision: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = _created()


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    split: Mapped[str] = mapped_column(String(128))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    code_version: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = _created()


class PromptRow(Base):
    __tablename__ = "prompts"
    __table_args__ = (UniqueConstraint("split", "split_version", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    split: Mapped[str] = mapped_column(String(128))
    split_version: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(256))
    text: Mapped[str] = mapped_column(Text)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)
    words: Mapped[list[Any]] = mapped_column(JSON)


class GenerationRow(Base):
    __tablename__ = "generations"
    __table_args__ = (UniqueConstraint("run_id", "prompt_id", "image_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id"))
    image_index: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(BigInteger)  # torch seeds can exceed 2**31
    image_path: Mapped[str | None] = mapped_column(String(1024))
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    height: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(256))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()


# Added by revision 0002: the claim queue filters on (run_id, status).
Index("ix_generations_run_id_status", GenerationRow.run_id, GenerationRow.status)


class WordMapRow(Base):
    __tablename__ = "word_maps"
    __table_args__ = (UniqueConstraint("generation_id", "method", "word", "occurrence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id"))
    word: Mapped[str] = mapped_column(String(256))
    occurrence: Mapped[int] = mapped_column(Integer)
    token_indices: Mapped[list[Any]] = mapped_column(JSON)
    path: Mapped[str] = mapped_column(String(1024))
    method: Mapped[str] = mapped_column(String(64))


class RaterRow(Base):
    __tablename__ = "raters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    exclusion_reason: Mapped[str | None] = mapped_column(Text)


class MaskRow(Base):
    __tablename__ = "masks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id"), index=True)
    word: Mapped[str] = mapped_column(String(256))
    occurrence: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    method: Mapped[str | None] = mapped_column(String(128))
    rater_id: Mapped[int | None] = mapped_column(ForeignKey("raters.id"))
    rle: Mapped[dict[str, Any]] = mapped_column(JSON)
    height: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created()


class AnnotationRow(Base):
    __tablename__ = "annotations"
    __table_args__ = (UniqueConstraint("study", "external_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study: Mapped[str] = mapped_column(String(32))
    generation_id: Mapped[int | None] = mapped_column(ForeignKey("generations.id"), index=True)
    prompt_id: Mapped[int | None] = mapped_column(ForeignKey("prompts.id"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("raters.id"))
    external_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    raw: Mapped[Any] = mapped_column(JSON)
    parsed: Mapped[Any] = mapped_column(JSON, nullable=True)
    valid: Mapped[bool] = mapped_column(Boolean)
    problems: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = _created()


class ScoreRow(Base):
    """Added by revision 0002."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("run_id", "study", "method", "metric", "subset"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    study: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(128))
    metric: Mapped[str] = mapped_column(String(64))
    subset: Mapped[str] = mapped_column(String(128))
    value: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    n: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = _created()
