"""`bench annotate serve|push|pull|status|export|import`: argument parsing only.

``register(subparsers)`` adds the ``annotate`` command to the ``bench`` parser; every handler
calls the library and prints its report.  Imports are lazy so ``bench --help`` stays instant.
Each subcommand sets ``args.func``: call ``args.func(args)`` for an exit code; failures a user
can fix print one redacted line instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

STUDY_CHOICES = ("segmentation", "rating", "presence")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``annotate`` and its subcommands to a ``bench`` parser's subparsers."""
    annotate = subparsers.add_parser(
        "annotate",
        help="human studies in Label Studio: serve, push, pull, status, export, import",
        description="Run the paper's human studies (segmentation, rating, presence) in Label Studio.",
    )
    commands = annotate.add_subparsers(dest="annotate_command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="start a Label Studio server for the workspace")
    _workspace(serve)
    serve.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free one)")
    serve.set_defaults(func=_guarded(_serve))

    push = commands.add_parser("push", help="create or update a study's project and import its tasks")
    _common(push)
    push.add_argument("--study", required=True, choices=STUDY_CHOICES, help="the study to push")
    push.add_argument("--run", required=True, help="run name (see `bench runs`)")
    push.add_argument("--raters", type=int, default=3, help="raters per item (default 3)")
    push.add_argument(
        "--document-root",
        type=Path,
        default=None,
        help="the server's LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT (default: the workspace)",
    )
    push.set_defaults(func=_guarded(_push))

    pull = commands.add_parser("pull", help="ingest annotations from Label Studio")
    _common(pull)
    pull.add_argument("--study", choices=STUDY_CHOICES, default=None, help="default: every study")
    pull.add_argument("--run", default=None, help="default: every run in the database")
    pull.set_defaults(func=_guarded(_pull))

    status = commands.add_parser("status", help="progress (done / needed) and agreement per study")
    _common(status)
    status.add_argument("--study", choices=STUDY_CHOICES, default=None, help="default: every study")
    status.add_argument("--run", default=None, help="default: every run in the database")
    status.add_argument("--raters", type=int, default=None, help="raters per item (default: as pushed, else 3)")
    status.set_defaults(func=_guarded(_status))

    export = commands.add_parser("export", help="write a study's tasks as a Label Studio JSON file")
    _common(export)
    export.add_argument("--study", required=True, choices=STUDY_CHOICES, help="the study to export")
    export.add_argument("--run", required=True, help="run name (see `bench runs`)")
    export.add_argument("--out", type=Path, required=True, help="tasks file (the label config goes beside it, .xml)")
    export.add_argument(
        "--image-base-url", default=None, help="serve images from this URL + workspace path instead of local files"
    )
    export.add_argument(
        "--document-root",
        type=Path,
        default=None,
        help="the server's LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT (default: the workspace)",
    )
    export.set_defaults(func=_guarded(_export))

    imp = commands.add_parser("import", help="ingest a Label Studio JSON export made elsewhere")
    _common(imp)
    imp.add_argument("--study", required=True, choices=STUDY_CHOICES, help="the study the export belongs to")
    imp.add_argument("--run", required=True, help="run name (see `bench runs`)")
    imp.add_argument("file", type=Path, help="the Label Studio JSON export")
    imp.add_argument(
        "--source",
        default="file",
        help="name of the server it came from (keeps its annotation ids apart; default: file)",
    )
    imp.add_argument(
        "--rater-names", type=Path, default=None, help='JSON {"user id": "rater name"} (default: <source>-user-<id>)'
    )
    imp.set_defaults(func=_guarded(_import))
    return annotate


def _workspace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace", type=Path, default=None, help="folder with bench.sqlite, images/, maps/ (default ./workspace)"
    )


def _common(parser: argparse.ArgumentParser) -> None:
    _workspace(parser)
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="SQLAlchemy URL of the store (default: $BENCH_DB_URL or <workspace>/bench.sqlite)",
    )


def _open(args: argparse.Namespace):
    import db
    from annotation.workspace import Workspace

    workspace = Workspace.at(args.workspace)
    return workspace, db.connect(args.db, workspace=workspace.root)


def _client(workspace):
    from annotation.client import resolve_connection

    return resolve_connection(workspace).client()


def _serve(args: argparse.Namespace) -> int:
    from annotation.serve import serve
    from annotation.workspace import Workspace

    return serve(Workspace.at(args.workspace), port=args.port)


def _push(args: argparse.Namespace) -> int:
    from annotation.push import push

    workspace, store = _open(args)
    with store:
        report = push(
            store,
            _client(workspace),
            args.study,
            args.run,
            workspace,
            raters=args.raters,
            document_root=args.document_root,
        )
    print(report.summary())
    return 0


def _pull(args: argparse.Namespace) -> int:
    from annotation.pull import pull

    workspace, store = _open(args)
    with store:
        reports = pull(store, _client(workspace), workspace, study=args.study, run=args.run)
    for report in reports:
        print(report.summary())
    return 0


def _status(args: argparse.Namespace) -> int:
    from annotation.status import all_status

    workspace, store = _open(args)
    with store:
        rows = all_status(store, workspace, study=args.study, run=args.run, raters=args.raters)
    if not rows:
        print("nothing pushed from this workspace and no annotations stored yet")
    for row in rows:
        print(row.line())
    return 0


def _export(args: argparse.Namespace) -> int:
    from annotation.files import export_tasks

    workspace, store = _open(args)
    with store:
        tasks, config = export_tasks(
            store,
            args.study,
            args.run,
            workspace,
            args.out,
            image_base_url=args.image_base_url,
            document_root=args.document_root,
        )
    print(f"wrote {tasks} (tasks) and {config} (label config)")
    return 0


def _import(args: argparse.Namespace) -> int:
    from annotation.files import import_annotations, read_rater_names

    workspace, store = _open(args)
    names = read_rater_names(args.rater_names) if args.rater_names else None
    with store:
        report = import_annotations(
            store, args.study, args.run, args.file, workspace, source=args.source, rater_names=names
        )
    print(report.summary())
    return 0


def _guarded(handler):
    """Wrap a handler: user-fixable failures print one redacted line and return 2."""

    def guarded(args: argparse.Namespace) -> int:
        import db
        from annotation.client import LabelStudioError
        from annotation.env import ServerEnvError
        from annotation.interface import StudyError
        from annotation.labelstudio import ServerError
        from annotation.redact import redact
        from annotation.workspace import WorkspaceError

        expected = (
            LabelStudioError,
            ServerError,
            ServerEnvError,
            StudyError,
            WorkspaceError,
            db.StoreError,
            ValueError,
            OSError,
        )
        try:
            return int(handler(args) or 0)
        except expected as exc:
            print(f"error: {redact(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130

    guarded.__name__ = handler.__name__
    return guarded


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m annotation.commands annotate ...``)."""
    parser = argparse.ArgumentParser(prog="bench")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
