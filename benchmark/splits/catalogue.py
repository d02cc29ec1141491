"""The split catalogue: ``data/splits.yaml`` read into frozen records, builders registered lazily.

Reading the catalogue imports no builder (so ``bench splits`` and ``bench --help`` stay instant);
each builder is registered in ``core.registry.SPLITS`` as a ``"module:function"`` string
and imported the first time its split is built.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from core.registry import SPLITS, UnknownNameError
from benchmark.splits.base import SplitInfo, SplitOptions
from benchmark.splits.errors import SplitError

DATA_DIR = Path(__file__).parent / "data"
SPLITS_FILE = DATA_DIR / "splits.yaml"
FORMAT = 1
STUDIES = frozenset({"segmentation", "rating", "syntax", "cohyponym", "adjective", "shapes"})
_REQUIRED = ("name", "version", "study", "description", "builder")
_OPTIONAL = ("needs", "default_size", "unit", "params")
_BUILDER = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class SplitDataError(SplitError, ValueError):
    """A data file under benchmark/splits/data is malformed."""


@dataclass(frozen=True)
class SplitSpec:
    """A catalogue entry: what ``list_splits`` shows, plus how to build it."""

    info: SplitInfo
    builder: str  # "module:function"
    unit: str | None  # what default_size counts, e.g. "captions"
    params: Mapping[str, Any]  # fixed builder settings (read-only)


def load_data(filename: str) -> Any:
    """A YAML data file from benchmark/splits/data."""
    import yaml

    path = DATA_DIR / filename
    try:
        with path.open(encoding="utf-8") as f:
            return yaml.safe_load(f)
    except FileNotFoundError:
        raise SplitDataError(f"split data file {path} is missing") from None
    except yaml.YAMLError as err:
        raise SplitDataError(f"split data file {path} is not valid YAML: {err}") from None


def _spec(entry: Any, where: str) -> SplitSpec:
    if not isinstance(entry, dict):
        raise SplitDataError(f"{where}: each split must be a mapping, got {entry!r}")
    missing = [k for k in _REQUIRED if k not in entry]
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if missing or unknown:
        raise SplitDataError(f"{where}: missing keys {missing}, unknown keys {unknown}")
    name = entry["name"]
    for key in ("name", "version", "study", "description", "builder"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise SplitDataError(f"{where} ({name}): {key!r} must be a non-empty string (quote versions)")
    if entry["study"] not in STUDIES:
        raise SplitDataError(f"{where} ({name}): study {entry['study']!r} is not one of {sorted(STUDIES)}")
    if not _BUILDER.match(entry["builder"]):
        raise SplitDataError(f"{where} ({name}): builder must be 'module:function', got {entry['builder']!r}")
    needs = entry.get("needs") or []
    option_fields = {f.name for f in dataclasses.fields(SplitOptions)}
    if not isinstance(needs, list) or not set(needs) <= option_fields:
        raise SplitDataError(f"{where} ({name}): needs {needs!r} must list SplitOptions fields {sorted(option_fields)}")
    size = entry.get("default_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise SplitDataError(f"{where} ({name}): default_size must be a positive integer or absent")
    params = entry.get("params") or {}
    if not isinstance(params, dict):
        raise SplitDataError(f"{where} ({name}): params must be a mapping")
    info = SplitInfo(
        name=name,
        version=entry["version"],
        study=entry["study"],
        description=" ".join(entry["description"].split()),
        needs=tuple(needs),
        default_size=size,
    )
    return SplitSpec(info, entry["builder"], entry.get("unit"), MappingProxyType(dict(params)))


def parse_catalogue(data: Any, source: str = str(SPLITS_FILE)) -> dict[str, SplitSpec]:
    """Validate the catalogue's YAML content; names in file order."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("splits"), list):
        raise SplitDataError(f"{source}: expected 'format: {FORMAT}' and a 'splits' list")
    specs: dict[str, SplitSpec] = {}
    for i, entry in enumerate(data["splits"]):
        spec = _spec(entry, f"{source}, split #{i + 1}")
        if spec.info.name in specs:
            raise SplitDataError(f"{source}: split {spec.info.name!r} is listed twice")
        specs[spec.info.name] = spec
    return specs


@lru_cache(maxsize=1)
def catalogue() -> dict[str, SplitSpec]:
    """Every split in splits.yaml, builders registered (not imported) in ``SPLITS``."""
    specs = parse_catalogue(load_data(SPLITS_FILE.name))
    for name, spec in specs.items():
        if name not in SPLITS:
            SPLITS.register(name, spec.builder)
    return specs


def spec(name: str) -> SplitSpec:
    """The catalogue entry for ``name``; unknown names get the registry's "did you mean"."""
    specs = catalogue()
    if name not in specs:
        SPLITS.get(name)  # raises UnknownNameError with suggestions
        raise UnknownNameError(f"split {name!r} is registered but not listed in {SPLITS_FILE}")
    return specs[name]
