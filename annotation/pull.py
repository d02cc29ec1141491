"""Pull annotations from Label Studio into the database.

Every request (projects, users, exports) completes before the first write: a server that
stops mid-pull raises LabelStudioError and leaves the database as it was.
"""

from __future__ import annotations

from label_studio_sdk import LabelStudio

import db
from annotation.client import LabelStudioError
from annotation.ingest import IngestReport, ingest_export, keep_raw_export, rater_namer
from annotation.interface import check_study
from annotation.projects import ProjectRef, bench_projects, export_project, user_emails
from annotation.studies import build_tasks
from annotation.workspace import Workspace

SOURCE = "labelstudio"


def pull(
    store: db.Store, client: LabelStudio, workspace: Workspace, *, study: str | None = None, run: str | None = None
) -> list[IngestReport]:
    """Ingest the annotations of every daam-bench project matching ``study`` and ``run``."""
    if study is not None:
        check_study(study)
    known_runs = {r.name for r in store.runs()}
    if run is not None and run not in known_runs:
        store.get_run(run)  # raises NotFoundError listing the known runs
    projects = [
        p
        for p in bench_projects(client)
        if (study is None or p.study == study) and (run is None or p.run == run) and p.run in known_runs
    ]
    if not projects:
        wanted = " ".join(f"{k}={v!r}" for k, v in (("study", study), ("run", run)) if v)
        raise LabelStudioError(
            f"no daam-bench project on the server matches {wanted or 'this database'}; "
            "push one first with `bench annotate push`"
        )
    users = user_emails(client)
    exports: list[tuple[ProjectRef, list]] = [(p, export_project(client, p.id)) for p in projects]
    reports = []
    for project, export in exports:
        path = keep_raw_export(workspace, project.study, project.run, export, SOURCE)
        taskset = build_tasks(store, project.study, project.run, workspace)
        reports.append(
            ingest_export(store, taskset, export, rater_name=rater_namer(users), source=SOURCE, export_path=path)
        )
    return reports
