"""Label Studio projects of daam-bench: one per (study, run), found again by a marker line.

Titles are short and for people (Label Studio caps them at 50 characters); the first line of
the description carries the study and run as JSON, which is what we match on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from label_studio_sdk import LabelStudio

from annotation.client import LabelStudioError, call

MARKER = "daam-bench project "
_TITLE_LIMIT = 50


@dataclass(frozen=True)
class ProjectRef:
    id: int
    study: str
    run: str
    label_config: str
    maximum_annotations: int | None


def _marker(study: str, run: str) -> str:
    return MARKER + json.dumps({"study": study, "run": run}, sort_keys=True)


def _parse_marker(description: str | None) -> tuple[str, str] | None:
    first = (description or "").split("\n", 1)[0]
    if not first.startswith(MARKER):
        return None
    try:
        data = json.loads(first[len(MARKER) :])
        return str(data["study"]), str(data["run"])
    except (ValueError, KeyError, TypeError):
        return None


def bench_projects(client: LabelStudio) -> list[ProjectRef]:
    """Every daam-bench project on the server."""
    found = []
    for project in call("list projects", lambda: list(client.projects.list(page_size=100))):
        parsed = _parse_marker(getattr(project, "description", None))
        if parsed:
            found.append(
                ProjectRef(
                    project.id,
                    parsed[0],
                    parsed[1],
                    getattr(project, "label_config", "") or "",
                    getattr(project, "maximum_annotations", None),
                )
            )
    return found


def find_project(client: LabelStudio, study: str, run: str) -> ProjectRef | None:
    matches = [p for p in bench_projects(client) if (p.study, p.run) == (study, run)]
    if len(matches) > 1:
        raise LabelStudioError(
            f"{len(matches)} Label Studio projects claim study {study!r} of run "
            f"{run!r} (ids {[p.id for p in matches]}); delete all but one"
        )
    return matches[0] if matches else None


def ensure_project(client: LabelStudio, study: str, run: str, label_config: str, raters: int) -> tuple[ProjectRef, str]:
    """The project of (study, run) and what was done: "created", "updated" or "unchanged"."""
    existing = find_project(client, study, run)
    if existing is None:
        title = f"{study}: {run}"
        if len(title) > _TITLE_LIMIT:
            title = title[: _TITLE_LIMIT - 1] + "…"
        created = call(
            f"create the {study} project of run {run!r}",
            client.projects.create,
            title=title,
            label_config=label_config,
            maximum_annotations=raters,
            description=f"{_marker(study, run)}\nThe daam-bench {study} study of run {run}.",
        )
        return ProjectRef(created.id, study, run, label_config, raters), "created"
    if existing.label_config.strip() != label_config.strip() or existing.maximum_annotations != raters:
        call(
            f"update project {existing.id}",
            client.projects.update,
            existing.id,
            label_config=label_config,
            maximum_annotations=raters,
        )
        return ProjectRef(existing.id, study, run, label_config, raters), "updated"
    return existing, "unchanged"


def ensure_local_storage(client: LabelStudio, project_id: int, folders: list[Path]) -> list[str]:
    """Local-files storages covering ``folders`` (Label Studio serves nothing else); returns
    the folders added.  The storages are never synced: tasks come from push, not from files."""
    existing = [
        Path(s.path)
        for s in call("list local storages", client.import_storage.local.list, project=project_id)
        if getattr(s, "path", None)
    ]
    added = []
    for folder in _outermost(folders):
        if any(folder == e or folder.is_relative_to(e) for e in existing):
            continue
        call(
            f"connect local storage {folder}",
            client.import_storage.local.create,
            project=project_id,
            path=str(folder),
            use_blob_urls=True,
            title=f"daam-bench {folder.name}"[:_TITLE_LIMIT],
        )
        existing.append(folder)
        added.append(str(folder))
    return added


def _outermost(folders: list[Path]) -> list[Path]:
    unique = sorted({f.resolve() for f in folders}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for f in unique:
        if not any(f.is_relative_to(k) for k in kept):
            kept.append(f)
    return kept


def task_keys(client: LabelStudio, project_id: int) -> dict[str, int]:
    """Our key -> Label Studio task id, for every task of the project that carries one."""
    keys: dict[str, int] = {}

    def fetch() -> None:
        for task in client.tasks.list(project=project_id, page_size=500):
            data: Any = getattr(task, "data", None) or {}
            bench = data.get("bench") if isinstance(data, dict) else None
            if isinstance(bench, dict) and isinstance(bench.get("key"), str):
                keys.setdefault(bench["key"], task.id)

    call(f"list the tasks of project {project_id}", fetch)
    return keys


def export_project(client: LabelStudio, project_id: int) -> list[dict[str, Any]]:
    """Every task of the project with its annotations, as Label Studio's JSON export."""

    def fetch() -> bytes:
        return b"".join(
            client.projects.exports.download_sync(
                project_id, export_type="JSON", download_all_tasks=True, download_resources=False
            )
        )

    raw = call(f"export project {project_id}", fetch)
    try:
        data = json.loads(raw)
    except ValueError:
        raise LabelStudioError(
            f"the export of project {project_id} is not JSON ({len(raw)} bytes; was the server stopped?)"
        ) from None
    if not isinstance(data, list):
        raise LabelStudioError(f"the export of project {project_id} is not a list of tasks")
    return data


def user_emails(client: LabelStudio) -> dict[int, str]:
    """Label Studio user id -> email (the rater's name in the database)."""
    return {u.id: u.email for u in call("list users", lambda: list(client.users.list())) if u.email}
