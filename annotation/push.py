"""Push a study's tasks to Label Studio: create or reuse the project, import only what is missing.

Push writes no database row.  A server that stops mid-push leaves some batches imported; the
next push finds the project by its tag line and the tasks by their keys, and imports the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from label_studio_sdk import LabelStudio

import db
from annotation.client import call, check_access
from annotation.interface import WHAT_TO_DO, StudyError, check_study
from annotation.overlays import render_overlays
from annotation.projects import ensure_local_storage, ensure_project, project_description, task_keys
from annotation.studies import build_tasks, local_files_url
from annotation.workspace import Workspace

IMPORT_BATCH = 500


@dataclass(frozen=True)
class PushReport:
    study: str
    run: str
    project_id: int
    project_state: str  # created | updated (label config or raters changed) | unchanged
    imported: int
    already_there: int
    skipped: tuple[str, ...]  # items that could not become tasks, with the reason
    storages_added: tuple[str, ...]

    def summary(self) -> str:
        lines = [
            f"{self.study} / {self.run}: project {self.project_id} ({self.project_state}); "
            f"{self.imported} tasks imported, {self.already_there} already there"
        ]
        lines += [f"  local storage connected: {s}" for s in self.storages_added]
        lines += [f"  skipped: {s}" for s in self.skipped]
        return "\n".join(lines)


def push(
    store: db.Store,
    client: LabelStudio,
    study: str,
    run_name: str,
    workspace: Workspace,
    *,
    raters: int = 3,
    document_root: Path | None = None,
) -> PushReport:
    """Create (or reuse) the project of (study, run) and import its missing tasks in bulk.

    ``document_root`` is the server's ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT`` (the workspace
    for a served instance); images are referenced relative to it, never copied.
    """
    check_study(study)
    if raters < 1:
        raise ValueError(f"raters must be at least 1, got {raters}")
    root = Path(document_root or workspace.root).resolve()
    taskset = build_tasks(store, study, run_name, workspace, local_files_url(root))
    taskset.check_not_empty()  # before any call: an empty project helps nobody
    check_access(client)  # a wrong token or a stopped server fails before any overlay is drawn
    skipped = list(taskset.skipped)
    tasks = list(taskset.tasks)
    if study == "rating":
        failed = render_overlays(tasks, workspace)
        skipped += [f"{key}: {why}" for key, why in failed.items()]
        tasks = [t for t in tasks if t.key not in failed]
        if not tasks:
            raise StudyError(f"nothing to annotate for the rating study: no overlay could be drawn ({skipped[0]})")
    description = describe(store, taskset.run, study)
    project, state = ensure_project(client, study, run_name, taskset.label_config, raters, description)
    folders = [workspace.file(t.image_path).parent for t in tasks]
    folders += [workspace.file(t.overlay_path).parent for t in tasks if t.overlay_path]
    added = ensure_local_storage(client, project.id, folders) if folders else []
    present = task_keys(client, project.id)
    missing = [t for t in tasks if t.key not in present]
    for start in range(0, len(missing), IMPORT_BATCH):
        batch = [{"data": t.data} for t in missing[start : start + IMPORT_BATCH]]
        call(
            f"import {len(batch)} tasks into project {project.id}",
            client.projects.import_tasks,
            project.id,
            request=batch,
            return_task_ids=True,
        )
    workspace.record_push(study, run_name, project.id, raters)
    return PushReport(
        study, run_name, project.id, state, len(missing), len(tasks) - len(missing), tuple(skipped), tuple(added)
    )


def describe(store: db.Store, run: db.Run, study: str) -> str:
    """The project's description for people: study, run, split, model, what to do."""
    model = store.get_model(run.model_id)
    revision = f" (revision {model.revision[:12]})" if model.revision else ""
    return project_description(
        study,
        run.name,
        {
            "study": study,
            "run": run.name,
            "split": run.split,
            "model": f"{model.name}{revision}",
            "what to do": WHAT_TO_DO[study],
            "results": "`bench annotate pull` brings the annotations into the daam-bench store",
        },
    )
