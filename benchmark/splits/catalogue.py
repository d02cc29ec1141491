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

from benchmark.splits.base import SplitInfo, SplitOptions
from benchmark.splits.errors import SplitError
from core.registry import SPLITS, UnknownNameError

DATA_DIR = Path(__file__).parent / "data"
SPLITS_FILE = DATA_DIR / "splits.yaml"
STUDIES_FILE = DATA_DIR / "studies.yaml"
FORMATS = (1, 2)  # format 1 files (no run defaults, no generation mode) still load
_REQUIRED = ("name", "version", "study", "description", "builder")
_OPTIONAL = (
    "needs",
    "default_size",
    "unit",
    "params",
    "generation",
    "scorer",
    "model",
    "settings",
    "compare",
    "method_options",
)
_MODEL_KEYS = {"name": str, "scheduler": str, "height": int, "width": int, "batch_size": int}
_SETTING_KEYS = {"steps": int, "guidance": (int, float)}
GENERATION_MODES = ("plain", "fixed-layout", "real-image")
_BUILDER = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class SplitDataError(SplitError, ValueError):
    """A data file under benchmark/splits/data is malformed."""


@dataclass(frozen=True)
class Study:
    """A study of the benchmark (data/studies.yaml): its name and the scorer that reads its runs."""

    name: str
    description: str
    scorer: str | None  # a name registered in benchmark.scorers.SCORERS; None: human judgements only


@dataclass(frozen=True)
class GenerationSpec:
    """How a split's images are made: ``plain`` (one traced pipeline call per batch),
    ``fixed-layout`` (paper 5.2: each variant reuses its seed prompt's attention) or
    ``real-image`` (a dataset's own image, attributed through img2img at ``strength``); ``hooks``
    are registered "module:function" names the mode reads (``seed_prompt``, ``samples``)."""

    mode: str = "plain"
    hooks: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    strength: float | None = None  # real-image: how far the image is noised before denoising (0-1]

    def hook(self, name: str):
        """Import and return the hook ``name`` (a SplitDataError names the split's file if absent)."""
        import importlib

        if name not in self.hooks:
            raise SplitDataError(f"generation mode {self.mode!r} needs a {name!r} hook in {SPLITS_FILE}")
        module, _, attr = self.hooks[name].partition(":")
        return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class RunDefaults:
    """What a split fixes for its runs. ``model`` names the split's model; ``scheduler``, ``height``,
    ``width`` and ``batch_size`` belong to that model (a user's --model follows its own pipeline);
    ``steps`` and ``guidance`` hold for any model. None: not fixed here."""

    model: str | None = None
    scheduler: str | None = None  # "model": the pipeline's own
    height: int | None = None
    width: int | None = None
    batch_size: int | None = None
    steps: int | None = None
    guidance: float | None = None

    MODEL_BOUND = ("scheduler", "height", "width", "batch_size")


@dataclass(frozen=True)
class SplitSpec:
    """A catalogue entry: what ``list_splits`` shows, plus how to build, generate and score it."""

    info: SplitInfo
    builder: str  # "module:function"
    unit: str | None  # what default_size counts, e.g. "captions"
    params: Mapping[str, Any]  # fixed builder settings (read-only)
    generation: GenerationSpec = GenerationSpec()
    scorer: str | None = None  # registered scorer name; None: scored only from human judgements
    defaults: RunDefaults = RunDefaults()
    # models `bench run` also runs on the same items and settings when no --model is given, so the
    # report shows them side by side (named models that are not shipped are skipped with a note)
    compare: tuple[str, ...] = ()
    # options the split gives a method wherever it runs on the split's items, e.g. the background
    # concepts ConceptAttention's own ImageNet-Segmentation evaluation uses: method -> {option: value}
    method_options: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=lambda: MappingProxyType({}))


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


@lru_cache(maxsize=1)
def studies() -> dict[str, Study]:
    """Every study in studies.yaml: the one list of study names."""
    data = load_data(STUDIES_FILE.name)
    if not isinstance(data, dict) or data.get("format") != 1 or not isinstance(data.get("studies"), dict):
        raise SplitDataError(f"{STUDIES_FILE}: expected 'format: 1' and a 'studies' mapping")
    out = {}
    for name, entry in data["studies"].items():
        if not isinstance(entry, dict) or set(entry) - {"description", "scorer"} or "description" not in entry:
            raise SplitDataError(f"{STUDIES_FILE}: study {name!r} needs a description and may name a scorer")
        out[name] = Study(name, " ".join(str(entry["description"]).split()), entry.get("scorer"))
    return out


def _typed(section: Any, keys: dict, where: str, what: str) -> dict:
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise SplitDataError(f"{where}: {what} must be a mapping")
    unknown = sorted(set(section) - set(keys))
    if unknown:
        raise SplitDataError(f"{where}: unknown {what} keys {unknown} (known: {sorted(keys)})")
    for key, value in section.items():
        if isinstance(value, bool) or not isinstance(value, keys[key]):
            raise SplitDataError(f"{where}: {what}.{key} has the wrong type: {value!r}")
        if isinstance(value, (int, float)) and value <= 0:
            raise SplitDataError(f"{where}: {what}.{key} must be positive, got {value!r}")
    return dict(section)


def _generation(entry: Any, where: str) -> GenerationSpec:
    if entry is None:
        return GenerationSpec()
    if isinstance(entry, str):
        entry = {"mode": entry}
    if not isinstance(entry, dict) or entry.get("mode") not in GENERATION_MODES:
        raise SplitDataError(f"{where}: generation.mode must be one of {list(GENERATION_MODES)}, got {entry!r}")
    hooks = {k: v for k, v in entry.items() if k not in ("mode", "strength")}
    for key, target in hooks.items():
        if not isinstance(target, str) or not _BUILDER.match(target):
            raise SplitDataError(f"{where}: generation.{key} must be 'module:function', got {target!r}")
    strength = entry.get("strength")
    if entry["mode"] == "real-image":
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 < strength <= 1:
            raise SplitDataError(f"{where}: generation.strength must be a number in (0, 1], got {strength!r}")
        if "samples" not in hooks:
            raise SplitDataError(f"{where}: generation mode 'real-image' needs a 'samples' hook ('module:function')")
        strength = float(strength)
    elif strength is not None:
        raise SplitDataError(f"{where}: generation.strength is a setting of mode 'real-image' only")
    return GenerationSpec(entry["mode"], MappingProxyType(hooks), strength)


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
    known = studies()
    if entry["study"] not in known:
        raise SplitDataError(
            f"{where} ({name}): study {entry['study']!r} is not one of {sorted(known)} ({STUDIES_FILE.name})"
        )
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
    model = _typed(entry.get("model"), _MODEL_KEYS, f"{where} ({name})", "model")
    settings = _typed(entry.get("settings"), _SETTING_KEYS, f"{where} ({name})", "settings")
    defaults = RunDefaults(model=model.pop("name", None), **model, **settings)
    if defaults.guidance is not None:
        defaults = dataclasses.replace(defaults, guidance=float(defaults.guidance))
    scorer = entry.get("scorer", known[entry["study"]].scorer)
    if scorer is not None and (not isinstance(scorer, str) or not scorer.strip()):
        raise SplitDataError(f"{where} ({name}): scorer must be a registered scorer name or null")
    compare = entry.get("compare") or []
    if not isinstance(compare, list) or not all(isinstance(c, str) and c.strip() for c in compare):
        raise SplitDataError(f"{where} ({name}): compare must list model names")
    options = entry.get("method_options") or {}
    if not isinstance(options, dict) or not all(
        isinstance(m, str) and m.strip() and isinstance(o, dict) and all(isinstance(k, str) for k in o)
        for m, o in options.items()
    ):
        raise SplitDataError(f"{where} ({name}): method_options must map method names to {{option: value}}")
    return SplitSpec(
        info,
        entry["builder"],
        entry.get("unit"),
        MappingProxyType(dict(params)),
        _generation(entry.get("generation"), f"{where} ({name})"),
        scorer,
        defaults,
        tuple(compare),
        MappingProxyType({m: MappingProxyType(dict(o)) for m, o in options.items()}),
    )


def parse_catalogue(data: Any, source: str = str(SPLITS_FILE)) -> dict[str, SplitSpec]:
    """Validate the catalogue's YAML content; names in file order."""
    if not isinstance(data, dict) or data.get("format") not in FORMATS or not isinstance(data.get("splits"), list):
        raise SplitDataError(f"{source}: expected 'format: {FORMATS[-1]}' and a 'splits' list")
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


def default_split() -> str:
    """The split `bench run` runs when none is named (``default:`` in splits.yaml)."""
    name = load_data(SPLITS_FILE.name).get("default")
    if name not in catalogue():
        raise SplitDataError(f"{SPLITS_FILE}: 'default' must name a listed split, got {name!r}")
    return name


def spec(name: str) -> SplitSpec:
    """The catalogue entry for ``name``; unknown names get the registry's "did you mean"."""
    specs = catalogue()
    if name not in specs:
        SPLITS.get(name)  # raises UnknownNameError with suggestions
        raise UnknownNameError(f"split {name!r} is registered but not listed in {SPLITS_FILE}")
    return specs[name]
