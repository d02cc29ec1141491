"""``bench baseline``: argument parsing only; the work is ``baselines.runner.run_baseline``.

``register(subparsers)`` adds the command to the ``bench`` parser. Imports are lazy so that
``bench --help`` loads no model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.options import add_store_options

# the one spelling of --dtype across `bench` (as `bench run`), read as the methods' torch names
DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def _option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE``; the value is read as JSON when it parses (numbers, true/false), else as text."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"--option takes KEY=VALUE, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "baseline",
        help="run a baseline over a run's images and store its maps beside DAAM's (resumable)",
        description="Methods: whole-image, centre-disc, random, clipseg, mask2former, stego; and the maps a run's "
        "generation-time methods stored: daam, daam-vocabulary, conceptattention, conceptattention-cross.",
    )
    p.add_argument("--run", required=True, help="run name (see `bench runs`)")
    p.add_argument("--method", required=True, help="baseline name, e.g. clipseg")
    p.add_argument("--label", default=None, help="stored method name (default: the method), for variants")
    p.add_argument("--model", default=None, help="hub id or local folder (default: the method's own)")
    p.add_argument("--checkpoint", type=Path, default=None, help="STEGO's released .ckpt file")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 or auto (default: the method's)")
    p.add_argument(
        "--dtype", default=None, choices=list(DTYPES), help="the method's precision (default: the method's, fp32)"
    )
    p.add_argument(
        "--option",
        dest="options",
        type=_option,
        action="append",
        default=[],
        help="any other option of the method as KEY=VALUE (e.g. radius=0.25, crf=true); repeatable",
    )
    add_store_options(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON (no progress bar)")
    p.set_defaults(func=_baseline)
    return p


def _baseline(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    import db
    from baselines.protocol import BaselineError
    from baselines.runner import run_baseline

    options = dict(args.options)
    for name in ("model", "checkpoint", "device", "dtype"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if "dtype" in options and options["dtype"] in DTYPES:
        options["dtype"] = DTYPES[options["dtype"]]
    try:
        with db.connect(args.db_url, workspace=args.workspace) as store:
            summary = run_baseline(
                store, args.workspace, args.run, args.method, label=args.label, progress=not args.json, **options
            )
    except BaselineError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(asdict(summary), indent=2))
    else:
        print(
            f"{summary.method} on {summary.run}: {summary.computed} computed, {summary.skipped} already "
            f"stored, {summary.total} images; maps under {args.workspace / 'baselines' / summary.method}"
        )
    return 0
