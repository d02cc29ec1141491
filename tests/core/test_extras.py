"""A missing optional module is one line naming the extra to install (core.extras), and the
``bench`` CLI shows that line instead of a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.errors import user_error_message
from core.extras import MODULE_EXTRAS, extra_for, missing_extra_message

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "module, extra",
    [
        ("sqlalchemy", "bench"),
        ("sqlalchemy.orm", "bench"),
        ("skimage.measure", "bench"),
        ("yaml", "bench"),
        ("label_studio_sdk", "annotate"),
        ("httpx", "annotate"),
        ("pydensecrf", "crf"),
        ("pyarrow", "parquet"),
        ("torch", None),
        ("daam", None),
        ("benchmark.nothing", None),
        ("no_such_package", None),
    ],
)
def test_extra_for(module, extra):
    assert extra_for(module) == extra


def test_message_names_module_and_extra():
    e = ModuleNotFoundError("No module named 'sqlalchemy.orm'", name="sqlalchemy.orm")
    assert missing_extra_message(e) == "sqlalchemy is not installed: pip install 'daam-bench[bench]'"
    e = ModuleNotFoundError("No module named 'label_studio_sdk'", name="label_studio_sdk")
    assert user_error_message(e) == "label_studio_sdk is not installed: pip install 'daam-bench[annotate]'"


def test_other_errors_are_not_missing_extras():
    assert missing_extra_message(ModuleNotFoundError("No module named 'torch'", name="torch")) is None
    assert missing_extra_message(ModuleNotFoundError("no name")) is None
    assert missing_extra_message(ImportError("cannot import name 'x'", name="sqlalchemy")) is None
    assert missing_extra_message(ValueError("sqlalchemy")) is None
    assert user_error_message(ModuleNotFoundError("No module named 'foo'", name="foo")) is None


def test_every_mapped_extra_exists_in_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(MODULE_EXTRAS.values()) <= set(extras)
    assert {"bench", "annotate", "baselines", "all", "dev"} <= set(extras)


def test_bench_cli_names_the_extra_for_a_missing_module():
    code = (
        "import sys\n"
        "sys.modules['yaml'] = None  # as if pyyaml (the bench extra) were not installed\n"
        "from benchmark.cli import main\n"
        "sys.exit(main(['splits']))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "bench: error: yaml is not installed: pip install 'daam-bench[bench]'"
