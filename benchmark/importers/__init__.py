"""Importers: bring data made outside this project into the store.

``daam_experiments.import_experiments`` reads castorini/daam experiment folders (the paper's
released COCO-Gen / Unreal-Gen data; layout in ``daam_folders``). Names are imported on first use
so that ``bench --help`` (which imports ``.commands``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "import_experiments": "daam_experiments",
    "ImportSummary": "daam_experiments",
    "FolderProblem": "daam_experiments",
    "ReleaseImportError": "daam_experiments",
    "read_experiment": "daam_folders",
    "find_experiment_folders": "daam_folders",
    "ReleasedExperiment": "daam_folders",
    "FolderError": "daam_folders",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'benchmark.importers' has no attribute {name!r}")
    return getattr(importlib.import_module(f"benchmark.importers.{_EXPORTS[name]}"), name)
