"""``write_report``: build the report once and write report.html, report.md, figures/ and tables/."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from benchmark.report.build import build_report
from benchmark.report.export import PARQUET_MISSING, export_tables, parquet_available
from benchmark.report.render import render_html, render_markdown
from db import Store


def write_report(
    store: Store, workspace: str | Path, out_dir: str | Path, runs: Sequence[str] | None = None, csv: bool = False
) -> dict[str, Path]:
    """Write the report of ``runs`` (all when None) into ``out_dir``; returns what was written:
    ``html``, ``markdown``, ``figures`` (folder) and, with ``csv``, ``tables`` (folder)."""
    report = build_report(store, workspace, runs)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file; give a folder for the report")
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    if csv:
        paths["tables"] = out / "tables"
        export_tables(report, paths["tables"])
        if not parquet_available():
            report = replace(report, notes=report.notes + (PARQUET_MISSING,))
    paths["figures"] = out / "figures"
    paths["markdown"] = out / "report.md"
    paths["markdown"].write_text(render_markdown(report, paths["figures"]), encoding="utf-8")
    paths["html"] = out / "report.html"
    paths["html"].write_text(render_html(report), encoding="utf-8")
    return paths
