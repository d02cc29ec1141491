"""``bench import-daam``: argument parsing only; the work is ``daam_experiments.import_experiments``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from core.options import add_store_options


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "import-daam",
        help="import castorini/daam experiment folders (e.g. the paper's COCO-Gen release)",
        description="Each folder below ROOT with prompt.txt, output.png and <word>.gt.png masks becomes a prompt, "
        "a done generation, human masks (rater daam-release) and, from <word>.daam.pred.png, word maps "
        "of method daam-release. Bad folders are reported and skipped; importing again adds nothing. "
        "Nothing outside ROOT is read: a folder holding a file that links out of ROOT is skipped.",
    )
    p.add_argument("root", type=Path, metavar="ROOT", help="folder of experiment folders (one per generation)")
    p.add_argument("--run", dest="run_name", default=None, help="run name (default: <split>-daam-release)")
    p.add_argument("--split", default="coco-gen", help="split the prompts join (default: coco-gen)")
    p.add_argument("--model", default=None, help="model that made the images (default: the paper's SD 2 base)")
    add_store_options(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON (no progress bar)")
    p.set_defaults(func=import_daam)
    return p


def import_daam(args: argparse.Namespace) -> int:
    """0 when every folder is stored, 1 when some were skipped, 2 when the import could not start."""
    import db
    from benchmark.importers.daam_experiments import ReleaseImportError, import_experiments
    from benchmark.pipelines import PAPER_MODEL

    try:
        with db.connect(args.db_url, workspace=args.workspace) as store:
            summary = import_experiments(
                store,
                args.workspace,
                args.root,
                split=args.split,
                run_name=args.run_name,
                model=args.model or PAPER_MODEL,
                progress=not args.json,
            )
    except (ReleaseImportError, FileNotFoundError, db.StoreError) as e:
        print(f"bench: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(asdict(summary), indent=2))
    else:
        print(
            f"run {summary.run} (split {summary.split}@{summary.version}): {summary.folders} folders, "
            f"{summary.imported} imported, {summary.unchanged} unchanged, {summary.skipped} skipped; "
            f"{summary.masks_added} masks and {summary.maps_added} word maps added"
        )
        if summary.without_truth:
            print(f"{summary.without_truth} imported folders have no <word>.gt.png mask")
        from benchmark.importers.daam_folders import IGNORED_REASONS

        for kind, count in summary.ignored.items():
            print(f"not imported: {count} {kind} file(s) ({IGNORED_REASONS[kind]})")
        for problem in summary.problems:
            print(f"skipped {problem.folder}: {problem.reason}", file=sys.stderr)
    return 1 if summary.problems else 0
