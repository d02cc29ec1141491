"""The leaderboard report: reads stored runs and scores, builds plain tables and figures, renders
them as a self-contained HTML page and as Markdown (``bench report``). It computes no score.

Names are imported on first use so that ``bench --help`` (which imports ``.commands``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "build_report": "build",
    "write_report": "write",
    "render_html": "render",
    "render_markdown": "render",
    "ReportError": "stored",
    "Report": "document",
    "Section": "document",
    "Table": "document",
    "Column": "document",
    "Row": "document",
    "Cell": "document",
    "Figure": "document",
    "Series": "document",
    "Gallery": "document",
    "GalleryItem": "document",
    "Panel": "document",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'benchmark.report' has no attribute {name!r}")
    return getattr(importlib.import_module(f"benchmark.report.{_EXPORTS[name]}"), name)
