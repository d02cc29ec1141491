"""Command-line options every command that opens the store shares, spelled once."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """``--workspace DIR`` and ``--db URL`` (``args.workspace``, ``args.db_url``)."""
    parser.add_argument(
        "--workspace",
        type=Path,
        default=Path(os.environ.get("BENCH_WORKSPACE", "workspace")),
        help="folder holding the database, images and maps (default: ./workspace)",
    )
    parser.add_argument(
        "--db",
        dest="db_url",
        metavar="URL",
        default=None,
        help="SQLAlchemy URL of the store (default: $BENCH_DB_URL or <workspace>/bench.sqlite)",
    )
