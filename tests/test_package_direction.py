"""Which of our packages may import which (STYLE.md, "What we take" 1).

Every ``import`` statement of every module counts, also those inside functions (lazy imports are
still dependencies); relative imports are resolved. Imports by string (the registry's lazy
``"module:attr"`` entries) are not statements and are not checked here.

- ``daam``, ``db`` and ``core`` import nothing of ours: the library, the store and the shared
  rules (registry, COCO classes, thresholds, agreement, file loaders) sit at the bottom.
- ``baselines`` uses ``daam``, ``core`` and ``db`` only: never ``benchmark`` or ``annotation``
  (what both need lives in ``core``).
- ``benchmark`` does not import ``annotation``: scoring reads stored judgements through ``db``
  (``db.current_annotations``). Only the CLI module ``benchmark.cli`` may import every package,
  to register the ``bench annotate`` commands.
- ``annotation`` uses ``daam``, ``db``, ``core`` and ``benchmark`` (its metrics: one IoU), not
  ``baselines``.
- Nothing imports ``benchmark.cli``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("daam", "db", "core", "baselines", "benchmark", "annotation")
ALLOWED = {
    "daam": set(),
    "db": set(),
    "core": set(),
    "baselines": {"daam", "core", "db"},
    "benchmark": {"daam", "core", "db", "baselines"},
    "annotation": {"daam", "core", "db", "benchmark"},
}
EVERYTHING = ("benchmark.cli",)  # may import every package
# Single modules allowed one more package. ``python -m daam`` is the quick-look command, an entry
# point and not the library: it hands over to ``benchmark.quicklook``, and ``import daam`` never
# imports it (tests/daam/test_light_import.py).
EXTRA = {"daam.__main__": {"benchmark"}}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import statement, relative ones resolved."""
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
                # "from . import x" imports the submodule x
                out += [(node.lineno, f"{name}.{a.name}" if not node.module else name) for a in node.names]
            else:
                out.append((node.lineno, node.module or ""))
    return out


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "weights" not in p.parts)


def test_every_package_is_checked():
    assert all((ROOT / p / "__init__.py").is_file() for p in OURS)


@pytest.mark.parametrize("package", OURS)
def test_imports_follow_the_package_direction(package):
    wrong = []
    for path in _modules(package):
        module = _module_name(path)
        allowed = set(OURS) if module in EVERYTHING else ALLOWED[package] | {package} | EXTRA.get(module, set())
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top in OURS and top not in allowed:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}:\n" + "\n".join(wrong)


def test_nothing_imports_the_cli():
    wrong = []
    for package in OURS:
        for path in _modules(package):
            for line, name in _imports(path):
                if name == "benchmark.cli" or name.startswith("benchmark.cli."):
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    pkg = tmp_path / "benchmark" / "scorers"
    pkg.mkdir(parents=True)
    (pkg / "x.py").write_text(
        "def f():\n    from annotation import judgements\nfrom ..cli import main\nfrom . import y\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        names = [name for _, name in _imports(pkg / "x.py")]
    finally:
        ROOT = saved
    assert sorted(names) == ["annotation", "benchmark.cli", "benchmark.scorers.y"]
