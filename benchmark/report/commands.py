"""``bench report``: argument parsing only; the work is ``benchmark.report.write.write_report``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.options import add_store_options


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="write the leaderboard (HTML + Markdown) from stored scores")
    p.add_argument(
        "--runs",
        nargs="+",
        default=None,
        metavar="NAME",
        help="run names, shown side by side in this order (default: every stored run)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for report.html, report.md and figures/ (default: <workspace>/report)",
    )
    p.add_argument(
        "--csv",
        action="store_true",
        help="also write every table as tables/<name>.csv (and .parquet if pyarrow is installed)",
    )
    add_store_options(p)
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    import db
    from benchmark.report.stored import ReportError
    from benchmark.report.write import write_report
    from benchmark.validate import UsageError, check_folder
    from db.engine import resolve_url

    out = args.out if args.out is not None else args.workspace / "report"
    try:
        check_folder(out, "--out")
    except UsageError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        return 2
    url = resolve_url(args.db_url, args.workspace)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
        print(
            f"bench: error: no database at {url[len('sqlite:///') :]}: run `bench run` first, or pass "
            "--workspace / --db",
            file=sys.stderr,
        )
        return 2
    try:
        with db.connect(url) as store:
            paths = write_report(store, args.workspace, out, runs=args.runs, csv=args.csv)
    except ReportError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        return 2
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0
