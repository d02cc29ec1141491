"""Store a Label Studio export: raw annotations beside their parsed form, masks, exclusions.

Ingest is idempotent: an annotation already stored with the same result is skipped; an edited
one becomes a new version (its masks too).  Everything is parsed and checked before the first
write, and the export arrives complete before ingest starts, so a server that stops mid-pull
leaves nothing half-stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import db
from annotation.judgements import apply_attention_checks
from annotation.parse import Parsed, parse_annotation
from annotation.studies import Task, TaskSet
from annotation.workspace import Workspace

HUMAN = "human"


@dataclass(frozen=True)
class Problem:
    task: str  # our task key, or "label studio task N" when the task is not ours
    rater: str
    message: str

    def __str__(self) -> str:
        return f"{self.task} ({self.rater}): {self.message}"


@dataclass(frozen=True)
class IngestReport:
    study: str
    run: str
    source: str
    tasks: int = 0  # tasks in the export
    annotations: int = 0  # annotations in the export
    new: int = 0  # stored as version 1
    edited: int = 0  # stored as a new version of an edited annotation
    unchanged: int = 0  # already stored with the same result
    invalid: int = 0  # stored but kept out of masks and scores
    masks: int = 0
    problems: tuple[Problem, ...] = ()
    excluded_raters: tuple[str, ...] = ()
    export_path: str | None = None

    def summary(self) -> str:
        lines = [
            f"{self.study} / {self.run}: {self.annotations} annotations on {self.tasks} tasks: "
            f"{self.new} new, {self.edited} edited, {self.unchanged} unchanged, "
            f"{self.invalid} invalid, {self.masks} masks stored"
        ]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  excluded rater: {r}" for r in self.excluded_raters]
        if self.export_path:
            lines.append(f"  raw export kept at {self.export_path}")
        return "\n".join(lines)


def keep_raw_export(workspace: Workspace, study: str, run: str, export: Any, source: str) -> Path:
    """Write the export as received into ``<workspace>/exports`` and return its path."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{source}-{study}-{run}")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = workspace.exports / f"{safe}-{stamp}-{time.monotonic_ns() % 1_000_000:06d}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(export, indent=1, default=str))
    return path


@dataclass(frozen=True)
class _Pending:
    task_ref: str
    external_id: str
    rater: str
    raw: dict[str, Any]
    parsed: Parsed
    task: Task | None


def ingest_export(
    store: db.Store,
    taskset: TaskSet,
    export: Any,
    *,
    rater_name: Callable[[Any], str],
    source: str = "labelstudio",
    export_path: Path | None = None,
) -> IngestReport:
    """Validate every annotation of a Label Studio JSON export, then store what is new.

    ``rater_name`` maps an annotation's ``completed_by`` to a rater name.
    """
    if not isinstance(export, list):
        raise ValueError(f"a Label Studio JSON export is a list of tasks, got {type(export).__name__}")
    study, run = taskset.study, taskset.run.name
    known = taskset.by_key()
    pending: list[_Pending] = []
    n_annotations = 0
    for position, exported in enumerate(export):
        if not isinstance(exported, dict):
            raise ValueError(f"export item #{position} is not a task object")
        task, task_ref, task_problem = _match_task(exported, known, study, run)
        for annotation in exported.get("annotations") or []:
            n_annotations += 1
            if not isinstance(annotation, dict):
                raise ValueError(f"an annotation of {task_ref} is not an object")
            rater = rater_name(annotation.get("completed_by"))
            parsed = Parsed(None, (task_problem,)) if task is None else parse_annotation(task, annotation)
            # unique_id is a UUID, so annotations of two servers never share an id
            ident = annotation.get("unique_id") or annotation.get("id", f"position-{position}")
            pending.append(
                _Pending(
                    task_ref,
                    f"{source}:{task.key if task else task_ref}#{ident}",
                    rater,
                    {"annotation": annotation, "task": {"id": exported.get("id"), "data": exported.get("data")}},
                    parsed,
                    task,
                )
            )
    counts, problems = _store(store, study, pending)
    excluded = apply_attention_checks(store, run) if study == "rating" else []
    return IngestReport(
        study,
        run,
        source,
        len(export),
        n_annotations,
        problems=tuple(problems),
        excluded_raters=tuple(r.name for r in excluded),
        export_path=None if export_path is None else str(export_path),
        **counts,
    )


def _match_task(exported: dict[str, Any], known: dict[str, Task], study: str, run: str) -> tuple[Task | None, str, str]:
    data = exported.get("data") if isinstance(exported.get("data"), dict) else {}
    bench = data.get("bench") if isinstance(data.get("bench"), dict) else {}
    key = bench.get("key")
    if isinstance(key, str) and key in known:
        return known[key], key, ""
    ref = f"label studio task {exported.get('id')}"
    if key is None:
        return None, ref, "unknown task: it carries no daam-bench key"
    return None, ref, f"unknown task {key!r}: not a {study} task of run {run!r} in this database"


def _fingerprint(raw: Any) -> str:
    annotation = raw.get("annotation", {}) if isinstance(raw, dict) else {}
    return json.dumps([annotation.get("result"), bool(annotation.get("was_cancelled"))], sort_keys=True, default=str)


def _store(store: db.Store, study: str, pending: list[_Pending]) -> tuple[dict[str, int], list[Problem]]:
    latest: dict[str, db.Annotation] = {}
    for a in store.annotations(study):
        if a.external_id not in latest or a.version > latest[a.external_id].version:
            latest[a.external_id] = a
    counts = {"new": 0, "edited": 0, "unchanged": 0, "invalid": 0, "masks": 0}
    problems: list[Problem] = []
    for item in pending:
        previous = latest.get(item.external_id)
        if previous is not None and _fingerprint(previous.raw) == _fingerprint(item.raw):
            counts["unchanged"] += 1
            continue
        problems += [Problem(item.task_ref, item.rater, m) for m in item.parsed.problems]
        rater = store.get_or_create_rater(item.rater, HUMAN)
        task = item.task
        masks = dict(item.parsed.masks) if item.parsed.valid and task is not None else {}
        version = 1 if previous is None else previous.version + 1
        # the annotation and its masks in one transaction: a crash between them leaves neither
        store.add_annotation_with_masks(
            study,
            item.external_id,
            rater,
            item.raw,
            masks,
            mask_source=HUMAN,
            parsed=item.parsed.value,
            valid=item.parsed.valid,
            problems=item.parsed.problems,
            generation_id=None if task is None else task.generation_id,
            prompt_id=None if task is None else task.prompt_id,
            version=version,
        )
        counts["masks"] += len(masks)
        counts["new" if version == 1 else "edited"] += 1
        counts["invalid"] += 0 if item.parsed.valid else 1
    return counts, problems


def rater_namer(users: dict[int, str] | None = None, prefix: str = "labelstudio-user") -> Callable[[Any], str]:
    """``completed_by`` (a user id, or a user object in some exports) -> rater name.

    Known users are named by their email; unknown ids get ``<prefix>-<id>``.
    """
    users = users or {}

    def name(completed_by: Any) -> str:
        if isinstance(completed_by, dict):
            if completed_by.get("email"):
                return str(completed_by["email"])
            completed_by = completed_by.get("id")
        if isinstance(completed_by, int) and completed_by in users:
            return users[completed_by]
        return f"{prefix}-{completed_by if completed_by is not None else 'unknown'}"

    return name
