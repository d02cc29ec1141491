"""The Store: every read and write of the benchmark database goes through here.

Each public method is one transaction and returns frozen records (db.records),
never ORM objects.  Idempotent writes look rows up by their UNIQUE key inside
the write transaction; on SQLite that transaction is ``BEGIN IMMEDIATE`` (so
writers are serialized), on PostgreSQL a concurrent insert of the same key
raises IntegrityError and the operation is retried once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

import numpy as np
from alembic.util import CommandError
from sqlalchemy import ColumnElement, Engine, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from . import checks, convert
from . import retries as _attempts
from . import tables as m
from .engine import WRITE_OPTION, make_engine, open_error, resolve_url
from .errors import ConflictError, InvalidInputError, NotFoundError, StoreError
from .migrate import current_revision, upgrade
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
from .rle import check_mask, encode_mask
from .vocab import GENERATION_STATUSES, MASK_SOURCES, RATER_KINDS, RUN_STATUSES
from .workers import CLAIM_LEASE_S, worker_gone

T = TypeVar("T")
_IN_CHUNK = 500  # keep IN (...) lists well below SQLite's bound-parameter limit


def _eq(column: Any, value: Any) -> ColumnElement[bool]:
    """``column = value``, or ``IS NULL`` for None (SQL's NULL = NULL is not true)."""
    return column.is_(None) if value is None else column == value


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


class Store:
    """Typed access to one benchmark database (SQLite file or any SQLAlchemy URL)."""

    claim_lease_s: float = CLAIM_LEASE_S  # see claim_generations; tests shorten it

    def __init__(self, engine: Engine, *, auto_upgrade: bool = True) -> None:
        self._engine = engine
        self._leases: set[tuple[int, str]] = set()  # (run, worker) whose claims this store renews
        self._lease_lock = threading.Lock()
        self._lease_stop = threading.Event()
        self._renewer: threading.Thread | None = None
        if auto_upgrade:
            upgrade(engine)

    # ------------------------------------------------------------------ plumbing
    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for diagnostics and tests; prefer the methods)."""
        return self._engine

    @property
    def url(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    def revision(self) -> str | None:
        """Alembic revision the database is at."""
        return current_revision(self._engine)

    def close(self) -> None:
        self._lease_stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=10)
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session:
            yield session

    def _write(self, operation: Callable[[Session], T], what: str) -> T:
        """Run ``operation`` in one write transaction; all or nothing.

        An IntegrityError means another writer inserted the same key between our
        lookup and insert (possible on PostgreSQL); the retry then finds the row.
        """
        for attempt in range(2):
            try:
                with Session(self._engine, expire_on_commit=False) as session:
                    with session.begin():
                        session.connection(execution_options={WRITE_OPTION: True})
                        return operation(session)
            except IntegrityError as exc:
                if attempt == 1:
                    raise ConflictError(f"{what} violates a database constraint: {exc.orig}") from exc
        raise AssertionError("unreachable")

    # -------------------------------------------------------------- lookups (tx)
    @staticmethod
    def _run_row(session: Session, run_id: int) -> m.RunRow:
        row = session.get(m.RunRow, checks.integer(run_id, "run_id"))
        if row is None:
            raise NotFoundError(f"unknown run id {run_id}")
        return row

    @staticmethod
    def _prompt_row(session: Session, prompt_id: int) -> m.PromptRow:
        row = session.get(m.PromptRow, checks.integer(prompt_id, "prompt_id"))
        if row is None:
            raise NotFoundError(f"unknown prompt id {prompt_id}")
        return row

    @staticmethod
    def _generation_row(session: Session, generation_id: int, lock: bool = False) -> m.GenerationRow:
        stmt = select(m.GenerationRow).where(m.GenerationRow.id == checks.integer(generation_id, "generation_id"))
        if lock:
            stmt = stmt.with_for_update()
        row = session.scalars(stmt).one_or_none()
        if row is None:
            raise NotFoundError(f"unknown generation id {generation_id}")
        return row

    @staticmethod
    def _rater_row(session: Session, rater_id: int) -> m.RaterRow:
        row = session.get(m.RaterRow, checks.integer(rater_id, "rater_id"))
        if row is None:
            raise NotFoundError(f"unknown rater id {rater_id}")
        return row

    # -------------------------------------------------------------------- models
    def get_or_create_model(self, name: str, revision: str, kind: str, config: dict[str, Any] | None = None) -> Model:
        """The model (name, revision); created if missing.  A different kind or config
        under the same (name, revision) is a ConflictError, not a silent overwrite."""
        checks.text(name, "model name")
        checks.text(revision, "model revision")
        checks.text(kind, "model kind")
        cfg = checks.json_object(config, "model config")

        def op(s: Session) -> Model:
            row = s.scalars(
                select(m.ModelRow).where(m.ModelRow.name == name, m.ModelRow.revision == revision)
            ).one_or_none()
            if row is None:
                row = m.ModelRow(name=name, revision=revision, kind=kind, config=cfg)
                s.add(row)
                s.flush()
            elif row.kind != kind or row.config != cfg:
                raise ConflictError(
                    f"model {name!r}@{revision!r} is stored with kind={row.kind!r} "
                    f"config={row.config!r}; got kind={kind!r} config={cfg!r}"
                )
            return convert.model(row)

        return self._write(op, f"model {name!r}")

    def get_model(self, model_id: int) -> Model:
        with self._read() as s:
            row = s.get(m.ModelRow, checks.integer(model_id, "model_id"))
            if row is None:
                raise NotFoundError(f"unknown model id {model_id}")
            return convert.model(row)

    def models(self) -> list[Model]:
        with self._read() as s:
            return [convert.model(r) for r in s.scalars(select(m.ModelRow).order_by(m.ModelRow.id))]

    # ---------------------------------------------------------------------- runs
    def create_run(
        self,
        name: str,
        split: str,
        model_id: int,
        settings: dict[str, Any],
        code_version: str | None = None,
        status: str = "created",
    ) -> Run:
        """A new run; ConflictError if the name is taken."""
        args = self._run_args(name, split, settings, code_version, status)

        def op(s: Session) -> Run:
            if s.scalars(select(m.RunRow.id).where(m.RunRow.name == name)).first() is not None:
                raise ConflictError(f"run {name!r} already exists")
            return self._insert_run(s, model_id, *args)

        return self._write(op, f"run {name!r}")

    def get_or_create_run(
        self, name: str, split: str, model_id: int, settings: dict[str, Any], code_version: str | None = None
    ) -> Run:
        """The run ``name``; created if missing.  Resuming with another split, model or
        settings is a ConflictError (code_version may differ between resumes)."""
        args = self._run_args(name, split, settings, code_version, "created")

        def op(s: Session) -> Run:
            row = s.scalars(select(m.RunRow).where(m.RunRow.name == name)).one_or_none()
            if row is None:
                return self._insert_run(s, model_id, *args)
            wanted = {"split": split, "model_id": model_id, "settings": args[2]}
            stored = {"split": row.split, "model_id": row.model_id, "settings": row.settings}
            diff = [k for k in wanted if wanted[k] != stored[k]]
            if diff:
                # another model id under the same name is another revision: the weights changed
                hint = "; the model's weights changed: name a new run" if "model_id" in diff else ""
                raise ConflictError(
                    f"run {name!r} exists with different {', '.join(diff)}: "
                    f"stored {[stored[k] for k in diff]!r}, got {[wanted[k] for k in diff]!r}{hint}"
                )
            return convert.run(row)

        return self._write(op, f"run {name!r}")

    @staticmethod
    def _run_args(
        name: str, split: str, settings: dict[str, Any], code_version: str | None, status: str
    ) -> tuple[str, str, dict[str, Any], str | None, str]:
        # a run name becomes a folder (images/<run>/, maps/<run>/): it must stay one safe component
        return (
            checks.safe_name(name, "run name"),
            checks.text(split, "run split"),
            checks.json_object(settings, "run settings"),
            checks.optional_text(code_version, "code_version"),
            checks.one_of(status, RUN_STATUSES, "run status"),
        )

    @staticmethod
    def _insert_run(
        s: Session,
        model_id: int,
        name: str,
        split: str,
        settings: dict[str, Any],
        code_version: str | None,
        status: str,
    ) -> Run:
        if s.get(m.ModelRow, checks.integer(model_id, "model_id")) is None:
            raise NotFoundError(f"unknown model id {model_id} for run {name!r}")
        row = m.RunRow(
            name=name, split=split, model_id=model_id, settings=settings, code_version=code_version, status=status
        )
        s.add(row)
        s.flush()
        return convert.run(row)

    def get_run(self, name: str) -> Run:
        """The run called ``name``; NotFoundError lists the known names."""
        with self._read() as s:
            row = s.scalars(select(m.RunRow).where(m.RunRow.name == name)).one_or_none()
            if row is None:
                known = s.scalars(select(m.RunRow.name).order_by(m.RunRow.name).limit(20)).all()
                raise NotFoundError(f"unknown run name {name!r}; known runs: {known}")
            return convert.run(row)

    def get_run_by_id(self, run_id: int) -> Run:
        with self._read() as s:
            return convert.run(self._run_row(s, run_id))

    def runs(self) -> list[Run]:
        with self._read() as s:
            return [convert.run(r) for r in s.scalars(select(m.RunRow).order_by(m.RunRow.id))]

    def set_run_status(self, run_id: int, status: str) -> Run:
        checks.one_of(status, RUN_STATUSES, "run status")

        def op(s: Session) -> Run:
            row = self._run_row(s, run_id)
            row.status = status
            s.flush()
            return convert.run(row)

        return self._write(op, f"status of run {run_id}")

    def settle_run(self, run: str | int) -> Run:
        """Set a run's status from its generations: ``done`` when every one is done, ``failed`` when
        none is left to try but some failed, ``running`` while some are done and others are left.
        A run without generations keeps its status."""

        def op(s: Session) -> Run:
            row = self._run_by(s, run)
            counts = self._status_counts(s, row.id)
            if counts:
                left = counts.get("pending", 0) + counts.get("claimed", 0)
                if left == 0:
                    row.status = "failed" if counts.get("failed") else "done"
                elif counts.get("done") or counts.get("failed") or counts.get("claimed"):
                    row.status = "running"
            s.flush()
            return convert.run(row)

        return self._write(op, f"status of run {run!r}")

    def generation_counts(self, run: str | int) -> dict[str, int]:
        """How many generations of a run have each status (every status, zeros included)."""
        with self._read() as s:
            counts = self._status_counts(s, self._run_by(s, run).id)
        return {status: counts.get(status, 0) for status in GENERATION_STATUSES}

    @staticmethod
    def _status_counts(s: Session, run_id: int) -> dict[str, int]:
        rows = s.execute(
            select(m.GenerationRow.status, func.count())
            .where(m.GenerationRow.run_id == run_id)
            .group_by(m.GenerationRow.status)
        ).all()
        return {status: int(n) for status, n in rows}

    def _run_by(self, s: Session, run: str | int) -> m.RunRow:
        """The run row by name or id (a NotFoundError lists known names)."""
        if isinstance(run, int) and not isinstance(run, bool):
            return self._run_row(s, run)
        row = s.scalars(select(m.RunRow).where(m.RunRow.name == checks.text(run, "run name"))).one_or_none()
        if row is None:
            known = s.scalars(select(m.RunRow.name).order_by(m.RunRow.name).limit(20)).all()
            raise NotFoundError(f"unknown run name {run!r}; known runs: {known}")
        return row

    # ------------------------------------------------------------------- prompts
    def add_prompts(self, split: str, version: str, specs: Iterable[PromptSpec]) -> list[Prompt]:
        """Add prompts to (split, version); returns records in input order.

        Idempotent by key: re-adding an identical prompt returns the stored row;
        the same key with other text/provenance/words raises ConflictError and
        nothing of the batch is written.
        """
        checks.text(split, "split")
        checks.text(version, "split version")
        wanted: dict[str, dict[str, Any]] = {}
        for i, spec in enumerate(specs):
            if not isinstance(spec, PromptSpec):
                raise InvalidInputError(f"prompt #{i} must be a PromptSpec, got {type(spec).__name__}")
            key = checks.text(spec.key, f"prompt #{i} key")
            if key in wanted:
                raise InvalidInputError(f"prompt key {key!r} appears twice in the batch")
            wanted[key] = {
                "text": checks.text(spec.text, f"prompt {key!r} text"),
                "provenance": checks.json_object(spec.provenance, f"prompt {key!r} provenance"),
                "words": checks.string_list(spec.words, f"prompt {key!r} words"),
            }
        keys = list(wanted)

        def op(s: Session) -> list[Prompt]:
            existing: dict[str, m.PromptRow] = {}
            for chunk in _chunks(keys):
                for row in s.scalars(
                    select(m.PromptRow).where(
                        m.PromptRow.split == split, m.PromptRow.split_version == version, m.PromptRow.key.in_(chunk)
                    )
                ):
                    existing[row.key] = row
            rows: list[m.PromptRow] = []
            for key in keys:
                fields = wanted[key]
                row = existing.get(key)
                if row is None:
                    row = m.PromptRow(split=split, split_version=version, key=key, **fields)
                    s.add(row)
                else:
                    diff = [f for f, v in fields.items() if getattr(row, f) != v]
                    if diff:
                        raise ConflictError(
                            f"prompt {key!r} of {split!r}@{version!r} is stored with different "
                            f"{', '.join(diff)}; use a new split version to change prompts"
                        )
                rows.append(row)
            s.flush()
            return [convert.prompt(r) for r in rows]

        return self._write(op, f"prompts of {split!r}@{version!r}")

    def prompts(self, split: str, version: str) -> list[Prompt]:
        """All prompts of (split, version) in insertion order."""
        with self._read() as s:
            rows = s.scalars(
                select(m.PromptRow)
                .where(m.PromptRow.split == split, m.PromptRow.split_version == version)
                .order_by(m.PromptRow.id)
            )
            return [convert.prompt(r) for r in rows]

    def get_prompt(self, prompt_id: int) -> Prompt:
        with self._read() as s:
            return convert.prompt(self._prompt_row(s, prompt_id))

    # --------------------------------------------------------------- generations
    def plan_generations(self, run_id: int, specs: Iterable[GenerationSpec]) -> list[Generation]:
        """Create 'pending' rows for planned images; existing rows are left as they are.

        Returns the rows for ``specs`` in input order.
        """
        items = list(specs)
        seen: set[tuple[int, int]] = set()
        for i, spec in enumerate(items):
            if not isinstance(spec, GenerationSpec):
                raise InvalidInputError(f"item #{i} must be a GenerationSpec, got {type(spec).__name__}")
            ident = (checks.integer(spec.prompt_id, "prompt_id"), checks.integer(spec.image_index, "image_index", 0))
            checks.optional_integer(spec.seed, "seed")
            if ident in seen:
                raise InvalidInputError(f"(prompt_id, image_index) {ident} appears twice in the batch")
            seen.add(ident)

        def op(s: Session) -> list[Generation]:
            run = self._run_row(s, run_id)
            prompt_ids = sorted({spec.prompt_id for spec in items})
            splits: dict[int, str] = {}
            for chunk in _chunks(prompt_ids):
                splits.update(
                    s.execute(select(m.PromptRow.id, m.PromptRow.split).where(m.PromptRow.id.in_(chunk))).all()
                )
            for pid in prompt_ids:
                if pid not in splits:
                    raise NotFoundError(f"unknown prompt id {pid}")
                if splits[pid] != run.split:
                    raise InvalidInputError(
                        f"prompt {pid} belongs to split {splits[pid]!r}, run {run.name!r} to {run.split!r}"
                    )
            existing = {
                (g.prompt_id, g.image_index): g
                for g in s.scalars(select(m.GenerationRow).where(m.GenerationRow.run_id == run.id))
            }
            rows = []
            for spec in items:
                row = existing.get((spec.prompt_id, spec.image_index))
                if row is None:
                    row = m.GenerationRow(
                        run_id=run.id,
                        prompt_id=spec.prompt_id,
                        image_index=spec.image_index,
                        seed=spec.seed,
                        status="pending",
                    )
                    s.add(row)
                rows.append(row)
            s.flush()
            return [convert.generation(r) for r in rows]

        return self._write(op, f"planned generations of run {run_id}")

    def record_generation(
        self,
        run_id: int,
        prompt_id: int,
        image_index: int,
        *,
        seed: int | None = None,
        image_path: str | None = None,
        image_sha256: str | None = None,
        height: int | None = None,
        width: int | None = None,
        status: str = "done",
        error: str | None = None,
    ) -> Generation:
        """Insert or update the generation (run, prompt, image_index).

        Fields passed as None keep their stored value, except ``error``, which
        is always replaced (a success clears an earlier error).  'done' needs an
        image_path (given now or stored before).
        """
        checks.one_of(status, GENERATION_STATUSES, "generation status")
        checks.integer(image_index, "image_index", 0)
        checks.optional_integer(seed, "seed")
        path = None if image_path is None else checks.relative_path(image_path, "image_path")
        digest = None if image_sha256 is None else checks.sha256(image_sha256, "image_sha256")
        checks.optional_integer(height, "height", 1)
        checks.optional_integer(width, "width", 1)
        if error is not None and not isinstance(error, str):
            raise InvalidInputError(f"error must be a string, got {type(error).__name__}")

        def op(s: Session) -> Generation:
            run = self._run_row(s, run_id)
            prompt = self._prompt_row(s, prompt_id)
            if prompt.split != run.split:
                raise InvalidInputError(
                    f"prompt {prompt_id} belongs to split {prompt.split!r}, run {run.name!r} to {run.split!r}"
                )
            row = s.scalars(
                select(m.GenerationRow).where(
                    m.GenerationRow.run_id == run_id,
                    m.GenerationRow.prompt_id == prompt_id,
                    m.GenerationRow.image_index == image_index,
                )
            ).one_or_none()
            if row is None:
                row = m.GenerationRow(run_id=run_id, prompt_id=prompt_id, image_index=image_index)
                s.add(row)
            updates = {"seed": seed, "image_path": path, "image_sha256": digest, "height": height, "width": width}
            for field, value in updates.items():
                if value is not None:
                    setattr(row, field, value)
            row.status = status
            row.error = error  # a failure's text carries its attempt count (db.retries.failure)
            if status == "pending":
                row.claimed_by = None
                row.claimed_at = None
            if status == "done" and not row.image_path:
                raise InvalidInputError(
                    f"generation (run {run_id}, prompt {prompt_id}, image {image_index}) "
                    "cannot be 'done' without an image_path"
                )
            s.flush()
            return convert.generation(row)

        return self._write(op, f"generation (run {run_id}, prompt {prompt_id}, image {image_index})")

    def retry_failed(self, run_name_or_id: str | int, max_attempts: int = _attempts.MAX_ATTEMPTS) -> tuple[int, int]:
        """Set a run's failed generations back to pending; returns (set back, left failed).

        A generation is tried at most ``max_attempts`` times in all: each failure's error text
        says which attempt failed (``attempt 2/3: ...``, see ``db.retries``), so one that failed
        that often stays failed. The run's status goes back to running when any was set back.
        """
        checks.integer(max_attempts, "max_attempts", 1)
        with self._read() as s:
            run_id = self._run_by(s, run_name_or_id).id
        retried = self.requeue_failed(run_id, max_attempts)
        left = self.generation_counts(run_id)["failed"]

        def op(s: Session) -> None:
            run = self._run_row(s, run_id)
            if retried and run.status in ("done", "failed"):
                run.status = "running"

        self._write(op, f"status of run {run_name_or_id!r}")
        return retried, left

    def generations(self, run_id: int, status: str | None = None) -> list[Generation]:
        """Generations of a run (optionally with one status), ordered by id."""
        if status is not None:
            checks.one_of(status, GENERATION_STATUSES, "generation status")
        with self._read() as s:
            self._run_row(s, run_id)
            stmt = select(m.GenerationRow).where(m.GenerationRow.run_id == run_id)
            if status is not None:
                stmt = stmt.where(m.GenerationRow.status == status)
            return [convert.generation(r) for r in s.scalars(stmt.order_by(m.GenerationRow.id))]

    def pending_generations(self, run_id: int) -> list[Generation]:
        return self.generations(run_id, "pending")

    def get_generation(self, generation_id: int) -> Generation:
        with self._read() as s:
            return convert.generation(self._generation_row(s, generation_id))

    def claim_generations(
        self, run_id: int, worker: str, limit: int, shard: tuple[int, int] | None = None, lease_s: float | None = None
    ) -> list[Generation]:
        """Atomically mark up to ``limit`` pending rows as claimed by ``worker``.

        Each row is flipped with ``UPDATE ... WHERE id = ? AND status = 'pending'``
        and kept only if that UPDATE hit it, so two workers can never both get a
        row, whatever the isolation level.  PostgreSQL additionally skips rows
        another worker has locked (FOR UPDATE SKIP LOCKED; ignored by SQLite,
        where the IMMEDIATE transaction already serializes claims).

        Claims are leases (``claimed_at`` is the last renewal): claiming renews the
        worker's other claims, and from then on this store renews them in the
        background every ``lease_s / 5`` seconds until it is closed. Claims of any
        worker left unrenewed for ``lease_s`` (default ``claim_lease_s``, 5 minutes)
        are expired and become claimable again; a live worker's never are.
        """
        checks.text(worker, "worker")
        checks.integer(limit, "limit", 1)
        lease = self._lease(lease_s)
        if shard is not None:
            index, count = shard
            checks.integer(count, "shard count", 1)
            checks.integer(index, "shard index", 0)
            if index >= count:
                raise InvalidInputError(f"shard index {index} must be below the shard count {count}")

        def op(s: Session) -> list[Generation]:
            self._run_row(s, run_id)
            now = m.utcnow()
            self._renew(s, run_id, worker, now)
            self._expire(s, run_id, now - timedelta(seconds=lease))
            where = [m.GenerationRow.run_id == run_id, m.GenerationRow.status == "pending"]
            if shard is not None:  # shard i/n takes the rows whose id is i modulo n
                where.append(m.GenerationRow.id % shard[1] == shard[0])
            candidates = s.scalars(
                select(m.GenerationRow.id)
                .where(*where)
                .order_by(m.GenerationRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            claimed: list[int] = []
            for gid in candidates:
                result = s.execute(
                    update(m.GenerationRow)
                    .where(m.GenerationRow.id == gid, m.GenerationRow.status == "pending")
                    .values(status="claimed", claimed_by=worker, claimed_at=now)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(gid)
            if not claimed:
                return []
            rows = s.scalars(
                select(m.GenerationRow)
                .where(m.GenerationRow.id.in_(claimed))
                .order_by(m.GenerationRow.id)
                .execution_options(populate_existing=True)
            )
            return [convert.generation(r) for r in rows]

        got = self._write(op, f"claim on run {run_id}")
        if got:
            self._keep_renewing(run_id, worker, lease)
        return got

    def _lease(self, lease_s: float | None) -> float:
        lease = checks.finite(self.claim_lease_s if lease_s is None else lease_s, "lease_s")
        if lease <= 0:
            raise InvalidInputError(f"lease_s must be > 0, got {lease}")
        return lease

    @staticmethod
    def _renew(s: Session, run_id: int, worker: str, now: Any) -> int:
        result = s.execute(
            update(m.GenerationRow)
            .where(
                m.GenerationRow.run_id == run_id,
                m.GenerationRow.status == "claimed",
                m.GenerationRow.claimed_by == worker,
            )
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    @staticmethod
    def _expire(s: Session, run_id: int, cutoff: Any, workers: Sequence[str] = ()) -> int:
        """Free claims renewed before ``cutoff``, and every claim of ``workers``."""
        freed = 0
        where = [m.GenerationRow.run_id == run_id, m.GenerationRow.status == "claimed"]
        conditions = [m.GenerationRow.claimed_at <= cutoff]
        for chunk in _chunks(list(workers)):
            conditions.append(m.GenerationRow.claimed_by.in_(chunk))
        for condition in conditions:
            result = s.execute(
                update(m.GenerationRow)
                .where(*where, condition)
                .values(status="pending", claimed_by=None, claimed_at=None)
                .execution_options(synchronize_session=False)
            )
            freed += int(result.rowcount)  # type: ignore[attr-defined]
        return freed

    def renew_claims(self, run_id: int, worker: str) -> int:
        """Renew ``worker``'s claims on the run (their lease starts again); returns how many."""
        checks.text(worker, "worker")

        def op(s: Session) -> int:
            self._run_row(s, run_id)
            return self._renew(s, run_id, worker, m.utcnow())

        return self._write(op, f"renewal of claims on run {run_id}")

    def release_expired_claims(self, run_id: int, lease_s: float | None = None) -> int:
        """Put back to 'pending' the claims whose lease has ended; returns how many.

        A lease ends when it was not renewed for ``lease_s`` seconds (default
        ``claim_lease_s``), or at once when its worker provably no longer runs: a
        ``db.worker_id`` of this host whose process has exited (a killed run). Claims of
        live workers, and of workers on other hosts within their lease, stay claimed.
        """
        lease = self._lease(lease_s)

        def op(s: Session) -> int:
            self._run_row(s, run_id)
            holders = s.scalars(
                select(m.GenerationRow.claimed_by)
                .distinct()
                .where(m.GenerationRow.run_id == run_id, m.GenerationRow.status == "claimed")
            ).all()
            gone = [w for w in holders if w is not None and worker_gone(w)]
            return self._expire(s, run_id, m.utcnow() - timedelta(seconds=lease), gone)

        return self._write(op, f"release of expired claims on run {run_id}")

    def _keep_renewing(self, run_id: int, worker: str, lease: float) -> None:
        """Renew ``worker``'s claims in a background thread while this store is open, so a
        batch that runs longer than the lease keeps its rows."""
        if self._engine.url.get_backend_name() == "sqlite" and self._engine.url.database in (None, "", ":memory:"):
            return  # a private in-memory database: no other worker can take the rows
        with self._lease_lock:
            self._leases.add((run_id, worker))
            if self._renewer is None and not self._lease_stop.is_set():
                self._renewer = threading.Thread(
                    target=self._renew_loop, args=(lease / 5,), name="bench-claim-lease", daemon=True
                )
                self._renewer.start()

    def _renew_loop(self, every_s: float) -> None:
        while not self._lease_stop.wait(every_s):
            with self._lease_lock:
                leases = sorted(self._leases)
            for run_id, worker in leases:
                try:
                    self.renew_claims(run_id, worker)
                except Exception as exc:  # noqa: BLE001 - the next tick retries; a lapse costs a repeat, not data
                    logging.getLogger(__name__).warning(
                        "renewing claims of %s on run %s failed: %s", worker, run_id, exc
                    )

    def release_stale_claims(self, run_id: int, older_than_seconds: float, worker: str | None = None) -> int:
        """Put claims older than the cutoff back to 'pending' (crashed workers); returns count.

        With ``worker``, only that worker's claims. Older interface: it cannot tell a live
        worker from a dead one, so prefer ``release_expired_claims`` (leases, worker ids).
        """
        age = checks.finite(older_than_seconds, "older_than_seconds")
        if age < 0:
            raise InvalidInputError(f"older_than_seconds must be >= 0, got {age}")

        def op(s: Session) -> int:
            self._run_row(s, run_id)
            cutoff = m.utcnow() - timedelta(seconds=age)
            where = [
                m.GenerationRow.run_id == run_id,
                m.GenerationRow.status == "claimed",
                m.GenerationRow.claimed_at <= cutoff,
            ]
            if worker is not None:
                where.append(m.GenerationRow.claimed_by == worker)
            result = s.execute(
                update(m.GenerationRow)
                .where(*where)
                .values(status="pending", claimed_by=None, claimed_at=None)
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

        return self._write(op, f"release of stale claims on run {run_id}")

    # ----------------------------------------------------------------- word maps
    def requeue_failed(self, run_id: int, max_attempts: int = _attempts.MAX_ATTEMPTS) -> int:
        """Set the run's failed generations that failed fewer than ``max_attempts`` times back to
        pending (their error, with its attempt count, is kept); returns how many.

        Each row flips with ``UPDATE ... WHERE id = ? AND status = 'failed'``, so a row another
        worker requeued and claimed meanwhile is left alone: no row is generated twice.
        """
        checks.integer(max_attempts, "max_attempts", 1)

        def op(s: Session) -> int:
            self._run_row(s, run_id)
            failed = s.execute(
                select(m.GenerationRow.id, m.GenerationRow.error).where(
                    m.GenerationRow.run_id == run_id, m.GenerationRow.status == "failed"
                )
            ).all()
            n = 0
            for gid, error in failed:
                if _attempts.attempts(error) >= max_attempts:
                    continue
                result = s.execute(
                    update(m.GenerationRow)
                    .where(m.GenerationRow.id == gid, m.GenerationRow.status == "failed")
                    .values(status="pending", claimed_by=None, claimed_at=None)
                    .execution_options(synchronize_session=False)
                )
                n += result.rowcount  # type: ignore[attr-defined]
            return n

        return self._write(op, f"failed generations of run {run_id}")

    def add_word_maps(self, generation_id: int, specs: Iterable[WordMapSpec]) -> list[StoredWordMap]:
        """Insert or update word maps of a generation, keyed by (method, word, occurrence)."""
        items = list(specs)
        seen: set[tuple[str, str, int]] = set()
        prepared = []
        for i, spec in enumerate(items):
            if not isinstance(spec, WordMapSpec):
                raise InvalidInputError(f"item #{i} must be a WordMapSpec, got {type(spec).__name__}")
            ident = (
                checks.text(spec.method, "word map method"),
                checks.text(spec.word, "word"),
                checks.integer(spec.occurrence, "occurrence", 0),
            )
            if ident in seen:
                raise InvalidInputError(f"word map (method, word, occurrence) {ident} appears twice")
            seen.add(ident)
            prepared.append(
                (
                    ident,
                    checks.int_list(spec.token_indices, f"token_indices of {ident}"),
                    checks.relative_path(spec.path, f"path of {ident}"),
                )
            )

        def op(s: Session) -> list[StoredWordMap]:
            self._generation_row(s, generation_id)
            existing = {
                (r.method, r.word, r.occurrence): r
                for r in s.scalars(select(m.WordMapRow).where(m.WordMapRow.generation_id == generation_id))
            }
            rows = []
            for (method, word, occurrence), tokens, path in prepared:
                row = existing.get((method, word, occurrence))
                if row is None:
                    row = m.WordMapRow(
                        generation_id=generation_id,
                        method=method,
                        word=word,
                        occurrence=occurrence,
                        token_indices=tokens,
                        path=path,
                    )
                    s.add(row)
                else:
                    row.token_indices = tokens
                    row.path = path
                rows.append(row)
            s.flush()
            return [convert.word_map(r) for r in rows]

        return self._write(op, f"word maps of generation {generation_id}")

    def word_maps(
        self, generation_id: int | None = None, *, run_id: int | None = None, method: str | None = None
    ) -> list[StoredWordMap]:
        with self._read() as s:
            stmt = select(m.WordMapRow)
            if generation_id is not None:
                stmt = stmt.where(m.WordMapRow.generation_id == generation_id)
            if run_id is not None:
                stmt = stmt.join(m.GenerationRow).where(m.GenerationRow.run_id == run_id)
            if method is not None:
                stmt = stmt.where(m.WordMapRow.method == method)
            return [convert.word_map(r) for r in s.scalars(stmt.order_by(m.WordMapRow.id))]

    # -------------------------------------------------------------------- raters
    def get_or_create_rater(self, name: str, kind: str = "human") -> Rater:
        checks.text(name, "rater name")
        checks.one_of(kind, RATER_KINDS, "rater kind")

        def op(s: Session) -> Rater:
            row = s.scalars(select(m.RaterRow).where(m.RaterRow.name == name)).one_or_none()
            if row is None:
                row = m.RaterRow(name=name, kind=kind, excluded=False)
                s.add(row)
                s.flush()
            elif row.kind != kind:
                raise ConflictError(f"rater {name!r} is stored as kind {row.kind!r}, got {kind!r}")
            return convert.rater(row)

        return self._write(op, f"rater {name!r}")

    def get_rater(self, name: str) -> Rater:
        with self._read() as s:
            row = s.scalars(select(m.RaterRow).where(m.RaterRow.name == name)).one_or_none()
            if row is None:
                raise NotFoundError(f"unknown rater name {name!r}")
            return convert.rater(row)

    def raters(self) -> list[Rater]:
        with self._read() as s:
            return [convert.rater(r) for r in s.scalars(select(m.RaterRow).order_by(m.RaterRow.id))]

    def set_rater_excluded(self, name: str, excluded: bool = True, reason: str | None = None) -> Rater:
        """Flag (or unflag) a rater; their annotations stay stored."""
        if excluded and not reason:
            raise InvalidInputError(f"excluding rater {name!r} needs a reason")

        def op(s: Session) -> Rater:
            row = s.scalars(select(m.RaterRow).where(m.RaterRow.name == name)).one_or_none()
            if row is None:
                raise NotFoundError(f"unknown rater name {name!r}")
            row.excluded = bool(excluded)
            row.exclusion_reason = reason if excluded else None
            s.flush()
            return convert.rater(row)

        return self._write(op, f"exclusion of rater {name!r}")

    # --------------------------------------------------------------------- masks
    def add_mask(
        self,
        generation_id: int,
        word: str,
        occurrence: int,
        mask: np.ndarray,
        source: str,
        method: str | None = None,
        rater: Rater | int | None = None,
    ) -> Mask:
        """Store a boolean (H, W) mask as RLE.

        The shape must match the generation's (height, width) when known.
        Adding again for the same (generation, word, occurrence, source, method,
        rater) stores a new row with version + 1; older versions are kept.
        """
        op = self._mask_op(generation_id, word, occurrence, mask, source, method, rater)
        return self._write(op, f"mask of generation {generation_id} word {word!r}")

    def _mask_op(
        self,
        generation_id: int,
        word: str,
        occurrence: int,
        mask: np.ndarray,
        source: str,
        method: str | None,
        rater: Rater | int | None,
    ) -> Callable[[Session], Mask]:
        """The checked write of one mask, to run in a transaction of the caller's."""
        checks.text(word, "word")
        checks.integer(occurrence, "occurrence", 0)
        checks.one_of(source, MASK_SOURCES, "mask source")
        checks.optional_text(method, "mask method")
        rater_id = rater.id if isinstance(rater, Rater) else rater
        checks.optional_integer(rater_id, "rater id")
        check_mask(mask)

        def op(s: Session) -> Mask:
            gen = self._generation_row(s, generation_id, lock=True)  # serializes versions on PG
            if gen.height is not None and gen.width is not None:
                check_mask(mask, (gen.height, gen.width))
            if rater_id is not None:
                self._rater_row(s, rater_id)
            latest = s.scalar(
                select(func.max(m.MaskRow.version)).where(
                    m.MaskRow.generation_id == generation_id,
                    m.MaskRow.word == word,
                    m.MaskRow.occurrence == occurrence,
                    m.MaskRow.source == source,
                    _eq(m.MaskRow.method, method),
                    _eq(m.MaskRow.rater_id, rater_id),
                )
            )
            row = m.MaskRow(
                generation_id=generation_id,
                word=word,
                occurrence=occurrence,
                source=source,
                method=method,
                rater_id=rater_id,
                rle=encode_mask(mask),
                height=int(mask.shape[0]),
                width=int(mask.shape[1]),
                version=(latest or 0) + 1,
            )
            s.add(row)
            s.flush()
            return convert.mask(row)

        return op

    def masks(
        self,
        generation_id: int | None = None,
        *,
        run_id: int | None = None,
        word: str | None = None,
        occurrence: int | None = None,
        source: str | None = None,
        method: str | None = None,
        rater_id: int | None = None,
        latest_only: bool = False,
    ) -> list[Mask]:
        """Masks matching every given filter; ``latest_only`` keeps the newest version
        of each (generation, word, occurrence, source, method, rater)."""
        with self._read() as s:
            stmt = select(m.MaskRow)
            if generation_id is not None:
                stmt = stmt.where(m.MaskRow.generation_id == generation_id)
            if run_id is not None:
                stmt = stmt.join(m.GenerationRow).where(m.GenerationRow.run_id == run_id)
            for column, value in (
                (m.MaskRow.word, word),
                (m.MaskRow.occurrence, occurrence),
                (m.MaskRow.source, source),
                (m.MaskRow.method, method),
                (m.MaskRow.rater_id, rater_id),
            ):
                if value is not None:
                    stmt = stmt.where(column == value)
            rows = [convert.mask(r) for r in s.scalars(stmt.order_by(m.MaskRow.id))]
        if latest_only:
            newest: dict[tuple[Any, ...], Mask] = {}
            for r in rows:
                key = (r.generation_id, r.word, r.occurrence, r.source, r.method, r.rater_id)
                if key not in newest or r.version > newest[key].version:
                    newest[key] = r
            rows = sorted(newest.values(), key=lambda r: r.id)
        return rows

    # --------------------------------------------------------------- annotations
    def add_annotation(
        self,
        study: str,
        external_id: str,
        rater: Rater | int,
        raw: Any,
        *,
        parsed: Any = None,
        valid: bool = True,
        problems: Iterable[str] = (),
        generation_id: int | None = None,
        prompt_id: int | None = None,
        version: int = 1,
    ) -> Annotation:
        """Store one annotation; idempotent on (study, external_id, version).

        Re-adding returns the stored row unchanged (use update_annotation_parsed
        to re-parse); a different rater, generation or prompt is a ConflictError.
        """
        op = self._annotation_op(
            study,
            external_id,
            rater,
            raw,
            parsed=parsed,
            valid=valid,
            problems=problems,
            generation_id=generation_id,
            prompt_id=prompt_id,
            version=version,
        )
        return self._write(op, f"annotation {study}/{external_id}/v{version}")

    def add_annotation_with_masks(
        self,
        study: str,
        external_id: str,
        rater: Rater | int,
        raw: Any,
        masks: dict[str, np.ndarray],
        *,
        mask_source: str = "human",
        generation_id: int | None = None,
        **annotation: Any,
    ) -> Annotation:
        """One annotation and the masks parsed from it, in one transaction: a crash between them
        leaves neither (no stray mask versions of an annotation that was never stored)."""
        if masks and generation_id is None:
            raise InvalidInputError(f"annotation {external_id!r}: masks need the generation they belong to")
        mask_ops = [self._mask_op(generation_id, w, 0, mk, mask_source, None, rater) for w, mk in masks.items()]
        ann_op = self._annotation_op(study, external_id, rater, raw, generation_id=generation_id, **annotation)

        version = annotation.get("version", 1)

        def op(s: Session) -> Annotation:
            stored = s.scalar(
                select(m.AnnotationRow.id).where(
                    m.AnnotationRow.study == study,
                    m.AnnotationRow.external_id == str(external_id),
                    m.AnnotationRow.version == version,
                )
            )
            if stored is None:  # a stored annotation (idempotent re-add) already has its masks
                for mask_op in mask_ops:
                    mask_op(s)
            return ann_op(s)

        return self._write(op, f"annotation {study}/{external_id} with {len(masks)} masks")

    def _annotation_op(
        self,
        study: str,
        external_id: str,
        rater: Rater | int,
        raw: Any,
        *,
        parsed: Any = None,
        valid: bool = True,
        problems: Iterable[str] = (),
        generation_id: int | None = None,
        prompt_id: int | None = None,
        version: int = 1,
    ) -> Callable[[Session], Annotation]:
        """The checked write of one annotation (see add_annotation); idempotent on (study, external_id, version).

        Re-adding returns the stored row unchanged (use update_annotation_parsed
        to re-parse); a different rater, generation or prompt is a ConflictError.
        """
        checks.study_name(study)
        external = checks.text(str(external_id) if isinstance(external_id, int) else external_id, "external_id")
        rater_id = checks.integer(rater.id if isinstance(rater, Rater) else rater, "rater id")
        checks.integer(version, "annotation version", 1)
        raw_json = checks.json_value(raw, f"raw of annotation {external!r}")
        parsed_json = checks.json_value(parsed, f"parsed of annotation {external!r}")
        problem_list = checks.string_list(problems, f"problems of annotation {external!r}")
        checks.optional_integer(generation_id, "generation_id")
        checks.optional_integer(prompt_id, "prompt_id")

        def op(s: Session) -> Annotation:
            row = s.scalars(
                select(m.AnnotationRow).where(
                    m.AnnotationRow.study == study,
                    m.AnnotationRow.external_id == external,
                    m.AnnotationRow.version == version,
                )
            ).one_or_none()
            if row is not None:
                stored = (row.rater_id, row.generation_id, row.prompt_id)
                if stored != (rater_id, generation_id, prompt_id):
                    raise ConflictError(
                        f"annotation {study}/{external}/v{version} is stored with (rater, generation, "
                        f"prompt) = {stored}, got {(rater_id, generation_id, prompt_id)}"
                    )
                return convert.annotation(row)
            self._rater_row(s, rater_id)
            if generation_id is not None:
                self._generation_row(s, generation_id)
            if prompt_id is not None:
                self._prompt_row(s, prompt_id)
            row = m.AnnotationRow(
                study=study,
                external_id=external,
                version=version,
                rater_id=rater_id,
                generation_id=generation_id,
                prompt_id=prompt_id,
                raw=raw_json,
                parsed=parsed_json,
                valid=bool(valid),
                problems=problem_list,
            )
            s.add(row)
            s.flush()
            return convert.annotation(row)

        return op

    def update_annotation_parsed(
        self, annotation_id: int, parsed: Any, valid: bool, problems: Iterable[str] = ()
    ) -> Annotation:
        """Replace the parsed form (after a parser fix); the raw export is never touched."""
        parsed_json = checks.json_value(parsed, "parsed")
        problem_list = checks.string_list(problems, "problems")

        def op(s: Session) -> Annotation:
            row = s.get(m.AnnotationRow, checks.integer(annotation_id, "annotation_id"))
            if row is None:
                raise NotFoundError(f"unknown annotation id {annotation_id}")
            row.parsed, row.valid, row.problems = parsed_json, bool(valid), problem_list
            s.flush()
            return convert.annotation(row)

        return self._write(op, f"annotation {annotation_id}")

    def annotations(
        self,
        study: str | None = None,
        *,
        generation_id: int | None = None,
        prompt_id: int | None = None,
        rater_id: int | None = None,
        valid: bool | None = None,
        include_excluded_raters: bool = True,
    ) -> list[Annotation]:
        if study is not None:
            checks.study_name(study)
        with self._read() as s:
            stmt = select(m.AnnotationRow)
            for column, value in (
                (m.AnnotationRow.study, study),
                (m.AnnotationRow.generation_id, generation_id),
                (m.AnnotationRow.prompt_id, prompt_id),
                (m.AnnotationRow.rater_id, rater_id),
                (m.AnnotationRow.valid, valid),
            ):
                if value is not None:
                    stmt = stmt.where(column == value)
            if not include_excluded_raters:
                stmt = stmt.join(m.RaterRow).where(m.RaterRow.excluded.is_(False))
            return [convert.annotation(r) for r in s.scalars(stmt.order_by(m.AnnotationRow.id))]

    # -------------------------------------------------------------------- scores
    def upsert_score(
        self,
        run_id: int,
        study: str,
        method: str,
        metric: str,
        subset: str,
        value: float,
        *,
        ci_low: float | None = None,
        ci_high: float | None = None,
        n: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> Score:
        """Insert or replace one score; see upsert_scores."""
        spec = ScoreSpec(run_id, study, method, metric, subset, value, ci_low, ci_high, n, details or {})
        return self.upsert_scores([spec])[0]

    def upsert_scores(self, specs: Iterable[ScoreSpec]) -> list[Score]:
        """Insert or replace scores keyed by (run, study, method, metric, subset), all or
        nothing.  ``created_at`` becomes the time the current value was written."""
        prepared: dict[tuple[int, str, str, str, str], dict[str, Any]] = {}
        for i, spec in enumerate(specs):
            if not isinstance(spec, ScoreSpec):
                raise InvalidInputError(f"item #{i} must be a ScoreSpec, got {type(spec).__name__}")
            key = (
                checks.integer(spec.run_id, "run_id"),
                checks.study_name(spec.study),
                checks.text(spec.method, "score method"),
                checks.text(spec.metric, "metric"),
                checks.text(spec.subset, "subset"),
            )
            if key in prepared:
                raise InvalidInputError(f"score {key} appears twice in the batch")
            low = checks.optional_finite(spec.ci_low, f"ci_low of {key}")
            high = checks.optional_finite(spec.ci_high, f"ci_high of {key}")
            if low is not None and high is not None and low > high:
                raise InvalidInputError(f"ci_low {low} > ci_high {high} for score {key}")
            prepared[key] = {
                "value": checks.finite(spec.value, f"value of {key}"),
                "ci_low": low,
                "ci_high": high,
                "n": checks.optional_integer(spec.n, f"n of {key}", 0),
                "details": checks.json_object(spec.details, f"details of {key}"),
            }

        def op(s: Session) -> list[Score]:
            for run_id in sorted({k[0] for k in prepared}):
                self._run_row(s, run_id)
            rows = []
            now = m.utcnow()
            for (run_id, study, method, metric, subset), fields in prepared.items():
                row = s.scalars(
                    select(m.ScoreRow).where(
                        m.ScoreRow.run_id == run_id,
                        m.ScoreRow.study == study,
                        m.ScoreRow.method == method,
                        m.ScoreRow.metric == metric,
                        m.ScoreRow.subset == subset,
                    )
                ).one_or_none()
                if row is None:
                    row = m.ScoreRow(run_id=run_id, study=study, method=method, metric=metric, subset=subset)
                    s.add(row)
                for field, value in fields.items():
                    setattr(row, field, value)
                row.created_at = now
                rows.append(row)
            s.flush()
            return [convert.score(r) for r in rows]

        return self._write(op, "scores")

    def scores(
        self,
        run_id: int | None = None,
        *,
        study: str | None = None,
        method: str | None = None,
        metric: str | None = None,
        subset: str | None = None,
    ) -> list[Score]:
        with self._read() as s:
            stmt = select(m.ScoreRow)
            for column, value in (
                (m.ScoreRow.run_id, run_id),
                (m.ScoreRow.study, study),
                (m.ScoreRow.method, method),
                (m.ScoreRow.metric, metric),
                (m.ScoreRow.subset, subset),
            ):
                if value is not None:
                    stmt = stmt.where(column == value)
            return [convert.score(r) for r in s.scalars(stmt.order_by(m.ScoreRow.id))]


def connect(
    url_or_path: str | os.PathLike[str] | None = None,
    *,
    workspace: str | os.PathLike[str] | None = None,
    auto_upgrade: bool = True,
) -> Store:
    """Open (and upgrade to head) the benchmark database.

    URL from the argument, else $BENCH_DB_URL, else ``<workspace>/bench.sqlite``
    (workspace: argument, else $BENCH_WORKSPACE, else ./workspace).  A plain
    path is an SQLite file; a directory gets ``bench.sqlite`` inside it.
    """
    url = resolve_url(url_or_path, workspace)
    engine = make_engine(url)  # StoreOpenError for URLs and files that cannot be the store
    try:
        return Store(engine, auto_upgrade=auto_upgrade)
    except StoreError:
        engine.dispose()
        raise
    except (SQLAlchemyError, CommandError, OSError) as exc:  # server down, not a database, read-only...
        engine.dispose()
        cause = getattr(exc, "orig", None) or exc  # the driver's own error says what went wrong
        lines = str(cause).strip().splitlines()
        raise open_error(url, f"{type(cause).__name__}: {lines[0] if lines else 'no details'}") from exc
