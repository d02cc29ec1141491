"""The light install: ``import daam`` pulls in none of the benchmark, the store, the studies or their
third-party packages, and daam's one optional dependency (matplotlib) fails with the extra to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Ours that daam must not import, then what only the extras bring.
NOT_IMPORTED = [
    "benchmark",
    "db",
    "annotation",
    "baselines",
    "core",
    "sqlalchemy",
    "alembic",
    "pandas",
    "spacy",
    "label_studio_sdk",
    "matplotlib",
    "scipy",
    "skimage",
    "pycocotools",
    "krippendorff",
    "yaml",
    "httpx",
    "h5py",
    "nltk",
]


def _python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_import_daam_imports_nothing_optional():
    out = _python(f"import daam, sys\nprint(','.join(m for m in {NOT_IMPORTED!r} if m in sys.modules))\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"import daam imported: {out.stdout.strip()}"


def test_plotting_without_matplotlib_names_the_extra():
    out = _python(
        "import sys\n"
        "sys.modules['matplotlib'] = None  # as if not installed\n"
        "import torch, daam\n"
        "try:\n"
        "    daam.overlay([[[0, 0, 0]]], torch.zeros(1, 1))\n"
        "except ModuleNotFoundError as e:\n"
        "    print(e.name, '|', e)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "matplotlib | matplotlib is not installed (daam's plots and overlays need it): pip install 'daam-bench[plot]'"
    )
