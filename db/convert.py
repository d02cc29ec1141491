"""ORM row -> frozen record conversion (the only place that reads ORM attributes)."""

from __future__ import annotations

from datetime import datetime, timezone

from . import records as r
from . import tables as m


def utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything is stored as UTC, so mark it."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def _utc(value: datetime) -> datetime:
    out = utc(value)
    assert out is not None
    return out


def model(row: m.ModelRow) -> r.Model:
    return r.Model(row.id, row.name, row.revision, row.kind, dict(row.config or {}), _utc(row.created_at))


def run(row: m.RunRow) -> r.Run:
    return r.Run(
        row.id,
        row.name,
        row.split,
        row.model_id,
        dict(row.settings or {}),
        row.code_version,
        row.status,
        _utc(row.created_at),
    )


def prompt(row: m.PromptRow) -> r.Prompt:
    return r.Prompt(
        row.id, row.split, row.split_version, row.key, row.text, dict(row.provenance or {}), tuple(row.words or ())
    )


def generation(row: m.GenerationRow) -> r.Generation:
    return r.Generation(
        row.id,
        row.run_id,
        row.prompt_id,
        row.image_index,
        row.seed,
        row.image_path,
        row.image_sha256,
        row.height,
        row.width,
        row.status,
        row.error,
        row.claimed_by,
        utc(row.claimed_at),
        _utc(row.created_at),
    )


def word_map(row: m.WordMapRow) -> r.StoredWordMap:
    return r.StoredWordMap(
        row.id, row.generation_id, row.word, row.occurrence, tuple(row.token_indices or ()), row.path, row.method
    )


def mask(row: m.MaskRow) -> r.Mask:
    return r.Mask(
        row.id,
        row.generation_id,
        row.word,
        row.occurrence,
        row.source,
        row.method,
        row.rater_id,
        dict(row.rle),
        row.height,
        row.width,
        row.version,
        _utc(row.created_at),
    )


def rater(row: m.RaterRow) -> r.Rater:
    return r.Rater(row.id, row.name, row.kind, bool(row.excluded), row.exclusion_reason)


def annotation(row: m.AnnotationRow) -> r.Annotation:
    return r.Annotation(
        row.id,
        row.study,
        row.generation_id,
        row.prompt_id,
        row.rater_id,
        row.external_id,
        row.version,
        row.raw,
        row.parsed,
        bool(row.valid),
        tuple(row.problems or ()),
        _utc(row.created_at),
    )


def score(row: m.ScoreRow) -> r.Score:
    return r.Score(
        row.id,
        row.run_id,
        row.study,
        row.method,
        row.metric,
        row.subset,
        row.value,
        row.ci_low,
        row.ci_high,
        row.n,
        dict(row.details or {}),
        _utc(row.created_at),
    )
