"""Label Studio projects of daam-bench: one per (study, run), found again by a tag line.

Titles are short and for people (Label Studio caps them at 50 characters, so a long run name
does not fit).  The description is for people too: a few Markdown lines (study, run, split,
model, what to do) ending in one tag line, ``daam-bench: study=<study> run=<run>``, that we
match on.  The open-source server has no field for a client's own metadata, and the tag line
reads as what it is.  Projects made before the tag line (a first description line
``daam-bench project {"run": ..., "study": ...}``) are still found, and get the readable
description on their next push.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from label_studio_sdk import LabelStudio

from annotation.client import LabelStudioError, call, every_page

TAG = "daam-bench:"
LEGACY_MARKER = "daam-bench project "
_TAG_LINE = re.compile(r"^daam-bench: study=(\S+) run=(\S+)$")
_TITLE_LIMIT = 50


@dataclass(frozen=True)
class ProjectRef:
    id: int
    study: str
    run: str
    label_config: str
    maximum_annotations: int | None
    description: str = ""


def tag_line(study: str, run: str) -> str:
    """The line a project's description ends with; the run is %-quoted only where it must be."""
    return f"{TAG} study={quote(study, safe='')} run={quote(run, safe='')}"


def project_description(study: str, run: str, lines: dict[str, str]) -> str:
    """Readable Markdown: a heading line, ``- name: value`` lines, then the tag line."""
    body = [f"The daam-bench **{study}** study of run **{run}**.", ""]
    body += [f"- {name}: {value}" for name, value in lines.items() if value]
    return "\n".join([*body, "", tag_line(study, run)])


def parse_tag(description: str | None) -> tuple[str, str] | None:
    """(study, run) from a description's tag line (or the legacy JSON first line), else None."""
    lines = (description or "").strip().splitlines()
    for line in reversed(lines):
        match = _TAG_LINE.match(line.strip())
        if match:
            return unquote(match[1]), unquote(match[2])
    if lines and lines[0].startswith(LEGACY_MARKER):
        try:
            data = json.loads(lines[0][len(LEGACY_MARKER) :])
            return str(data["study"]), str(data["run"])
        except (ValueError, KeyError, TypeError):
            return None
    return None


def bench_projects(client: LabelStudio) -> list[ProjectRef]:
    """Every daam-bench project on the server."""
    return server_projects(client)[0]


def server_projects(client: LabelStudio) -> tuple[list[ProjectRef], set[int]]:
    """The daam-bench projects on the server, and the ids of all its projects (ours or not)."""
    found, ids = [], set()
    for project in every_page("list projects", client.projects.list, page_size=100):
        ids.add(project.id)
        description = getattr(project, "description", None) or ""
        parsed = parse_tag(description)
        if parsed:
            found.append(
                ProjectRef(
                    project.id,
                    parsed[0],
                    parsed[1],
                    getattr(project, "label_config", "") or "",
                    getattr(project, "maximum_annotations", None),
                    description,
                )
            )
    return found, ids


def find_project(client: LabelStudio, study: str, run: str) -> ProjectRef | None:
    matches = [p for p in bench_projects(client) if (p.study, p.run) == (study, run)]
    if len(matches) > 1:
        raise LabelStudioError(
            f"{len(matches)} Label Studio projects claim study {study!r} of run "
            f"{run!r} (ids {[p.id for p in matches]}); delete all but one"
        )
    return matches[0] if matches else None


def ensure_project(
    client: LabelStudio, study: str, run: str, label_config: str, raters: int, description: str | None = None
) -> tuple[ProjectRef, str]:
    """The project of (study, run) and what was done: "created", "updated" or "unchanged".

    ``description`` defaults to a bare one (study and run); push passes the full one."""
    description = description or project_description(study, run, {})
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
            description=description,
        )
        return ProjectRef(created.id, study, run, label_config, raters, description), "created"
    if (
        existing.label_config.strip() != label_config.strip()
        or existing.maximum_annotations != raters
        or existing.description.strip() != description.strip()
    ):
        call(
            f"update project {existing.id}",
            client.projects.update,
            existing.id,
            label_config=label_config,
            maximum_annotations=raters,
            description=description,
        )
        return ProjectRef(existing.id, study, run, label_config, raters, description), "updated"
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

    tasks = every_page(
        f"list the tasks of project {project_id}",
        lambda **page: client.tasks.list(project=project_id, fields="task_only", **page),
        page_size=500,
    )
    for task in tasks:
        data: Any = getattr(task, "data", None) or {}
        bench = data.get("bench") if isinstance(data, dict) else None
        if isinstance(bench, dict) and isinstance(bench.get("key"), str):
            keys.setdefault(bench["key"], task.id)
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
