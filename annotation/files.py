"""Label Studio JSON files for teams that annotate elsewhere.

``export_tasks`` writes the tasks of a study (Label Studio's import format) and its label
config; the team imports both into their own Label Studio, annotates, exports JSON, and
``import_annotations`` ingests that export exactly as a pull would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import db
from annotation.ingest import IngestReport, ingest_export, keep_raw_export, rater_namer
from annotation.interface import check_study
from annotation.overlays import render_overlays
from annotation.studies import build_tasks, local_files_url
from annotation.workspace import Workspace


def export_tasks(
    store: db.Store,
    study: str,
    run: str,
    workspace: Workspace,
    out: Path,
    *,
    image_base_url: str | None = None,
    document_root: Path | None = None,
) -> tuple[Path, Path]:
    """Write ``out`` (tasks JSON) and ``out`` with ``.xml`` (label config); returns both paths.

    Images are referenced as ``<image_base_url>/<workspace-relative path>`` when a base URL is
    given (the team serves the workspace's files), else as local-files URLs relative to
    ``document_root`` (default: the workspace).
    """
    check_study(study)
    if image_base_url:
        base = image_base_url.rstrip("/")

        def url_for(path: Path) -> str:
            return f"{base}/{workspace.relative(path)}"
    else:
        url_for = local_files_url(Path(document_root or workspace.root))
    taskset = build_tasks(store, study, run, workspace, url_for)
    tasks = list(taskset.tasks)
    if study == "rating":
        failed = render_overlays(tasks, workspace)
        tasks = [t for t in tasks if t.key not in failed]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([{"data": t.data} for t in tasks], indent=1))
    config = out.with_suffix(".xml")
    config.write_text(taskset.label_config)
    return out, config


def import_annotations(
    store: db.Store,
    study: str,
    run: str,
    path: Path,
    workspace: Workspace,
    *,
    source: str = "file",
    rater_names: dict[int, str] | None = None,
) -> IngestReport:
    """Ingest a Label Studio JSON export made elsewhere (same checks, versions and exclusions).

    ``source`` names where the export came from (it prefixes the stored annotation ids); user
    ids without a name in ``rater_names`` become raters ``<source>-user-<id>``.
    """
    check_study(study)
    path = Path(path)
    try:
        export: Any = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the Label Studio export {path}: {exc}") from None
    kept = keep_raw_export(workspace, study, run, export, source)
    taskset = build_tasks(store, study, run, workspace)
    return ingest_export(
        store, taskset, export, rater_name=rater_namer(rater_names, f"{source}-user"), source=source, export_path=kept
    )


def read_rater_names(path: Path) -> dict[int, str]:
    """A JSON object mapping Label Studio user ids to rater names: {"1": "alice", ...}."""
    try:
        data = json.loads(Path(path).read_text())
        return {int(k): str(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path} must be a JSON object of user id -> rater name ({exc})") from None
