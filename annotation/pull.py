"""Pull annotations from Label Studio into the database.

Every request (projects, users, exports) completes before the first write: a server that
stops mid-pull raises LabelStudioError and leaves the database as it was, and the same pull
run again stores what is new (ingest skips what it has; an edited annotation is a new version).
A project this workspace pushed to this server that is no longer there (deleted in Label
Studio's UI) is an error that says so, before anything is stored.
"""

from __future__ import annotations

from label_studio_sdk import LabelStudio

import db
from annotation.client import LabelStudioError, check_access, server_url
from annotation.ingest import IngestReport, ingest_export, keep_raw_export, rater_namer
from annotation.interface import check_study
from annotation.projects import ProjectRef, export_project, server_projects, user_emails
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
    check_access(client)
    on_server, ids = server_projects(client)
    projects = [
        p
        for p in on_server
        if (study is None or p.study == study) and (run is None or p.run == run) and p.run in known_runs
    ]
    _check_none_deleted(workspace, client, on_server, ids, study, run)
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


def _check_none_deleted(
    workspace: Workspace,
    client: LabelStudio,
    on_server: list[ProjectRef],
    ids: set[int],
    study: str | None,
    run: str | None,
) -> None:
    """LabelStudioError when a project this workspace pushed is no longer on the server.

    The server's port changes with every `bench annotate serve`, so the recorded project id
    decides: a project of another kind under that id means another server (not an error).
    """
    present = {(p.study, p.run) for p in on_server}
    gone = [
        r
        for r in workspace.pushes()
        if (study is None or r["study"] == study)
        and (run is None or r["run"] == run)
        and (r["study"], r["run"]) not in present
        and r.get("project_id") not in ids
    ]
    if gone:
        r = gone[0]
        more = f" (and {len(gone) - 1} more)" if len(gone) > 1 else ""
        raise LabelStudioError(
            f"the {r['study']} project of run {r['run']!r} (Label Studio project {r.get('project_id')}) is gone "
            f"from {server_url(client)}{more}: deleted in Label Studio? Nothing was stored; annotations pulled "
            f"before stay. Push it again (`bench annotate push --study {r['study']} --run {r['run']}`) "
            "or pull another study"
        )
