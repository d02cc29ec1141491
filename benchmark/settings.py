"""Which settings a run uses: the user's options, then the split's spec, then the model's own.

A split (``data/splits.yaml``) names its model and the settings that belong to that model
(scheduler, image size, batch size), and the run settings it fixes for any model (steps,
guidance). A user's ``--model`` other than the split's follows its own pipeline, as diffusers
does: its own scheduler and its own default image size (recorded as None: "the model's own";
the generation rows hold the size actually made). This module decides; it loads no weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from core.registry import Registry

# Named models a split or a user may give instead of a path or hub id: "name" -> "module:function"
# returning (folder, note or None) for a workspace.
NAMED_MODELS = Registry("named model")
NAMED_MODELS.register("toy", "benchmark.settings:toy_model")
NAMED_MODELS.register("toy-unsupervised", "benchmark.settings:toy_unsupervised_model")

# Where neither the user, the split nor the pipeline says (diffusers' pipelines take one prompt
# batch per call; the paper's guidance and step count are the split's, not these)
FALLBACK = {"batch_size": 1}


@dataclass(frozen=True)
class UserOptions:
    """What the user set on the command line; None: not given."""

    model: str | None = None
    scheduler: str | None = None
    height: int | None = None
    width: int | None = None
    batch_size: int | None = None
    steps: int | None = None
    guidance: float | None = None


@dataclass(frozen=True)
class ResolvedSettings:
    model: str  # a folder or hub id
    scheduler: str | None  # None: the pipeline's own
    height: int | None  # None: the pipeline's own default size
    width: int | None
    batch_size: int
    steps: int | None  # None: the pipeline's own default
    guidance: float | None
    source: dict[str, str] = field(default_factory=dict)  # setting -> "option" | "split" | "model"
    notes: tuple[str, ...] = ()


def resolve_model(name: str, workspace: Path | None) -> tuple[str | None, str | None]:
    """A named model's folder with a note (e.g. that random weights stand in), else ``name`` itself.

    With ``workspace`` None nothing is built: a named model that is not there gives (None, None).
    """
    if name in NAMED_MODELS:
        path, note = NAMED_MODELS.get(name)(workspace)
        return (str(path) if path is not None else None), note
    return name, None


def _same_model(a: str, b: str | None) -> bool:
    if b is None:
        return False
    try:
        if Path(a).exists() and Path(b).exists():
            return Path(a).resolve() == Path(b).resolve()
    except OSError:
        pass
    return a == b


def resolve_settings(split: str, user: UserOptions, workspace: Path) -> ResolvedSettings:
    """The run's settings with where each came from."""
    from benchmark.splits import spec

    defaults = spec(split).defaults
    notes: list[str] = []
    source: dict[str, str] = {}
    if user.model is not None:
        model, note = resolve_model(user.model, workspace)
        source["model"] = "option"
        # the split's model-bound settings hold when the user names the split's own model
        own_model = defaults.model is not None and (
            user.model == defaults.model or _same_model(model, resolve_model(defaults.model, None)[0])
        )
    elif defaults.model is not None:
        model, note = resolve_model(defaults.model, workspace)
        source["model"], own_model = "split", True
    else:
        raise ValueError(f"split {split!r} names no model in its spec: pass --model")
    if note:
        notes.append(note)
    values: dict[str, Any] = {}
    for f in fields(UserOptions):
        if f.name == "model":
            continue
        given = getattr(user, f.name)
        fixed = getattr(defaults, f.name)
        if given is not None:
            values[f.name], source[f.name] = given, "option"
        elif fixed is not None and (f.name not in defaults.MODEL_BOUND or own_model):
            values[f.name], source[f.name] = fixed, "split"
        else:
            values[f.name], source[f.name] = FALLBACK.get(f.name), "model"
    scheduler = values["scheduler"]
    if source["scheduler"] == "model":
        scheduler = own_scheduler(str(model))
    return ResolvedSettings(
        model=str(model),
        scheduler=None if scheduler in (None, "model") else scheduler,
        height=values["height"],
        width=values["width"],
        batch_size=values["batch_size"],
        steps=values["steps"],
        guidance=values["guidance"],
        source=source,
        notes=tuple(notes),
    )


def toy_model(workspace: Path | None) -> tuple[Path | None, str | None]:
    """The shipped toy model; with a workspace, a random-weight stand-in when it is not shipped."""
    from benchmark.toy.shipped import shipped_model, shipped_or_random

    if workspace is None:
        return shipped_model(), None
    return shipped_or_random(workspace)


def toy_unsupervised_model(workspace: Path | None) -> tuple[Path | None, str | None]:
    """The toy model trained without attention supervision; a one-line error until it is shipped."""
    from benchmark.toy.shipped import NAMED_MODELS as TOY
    from benchmark.toy.shipped import resolve_toy_model

    if workspace is None:
        model = TOY["toy-unsupervised"]
        return (model.weights if model.shipped() else None), None
    return resolve_toy_model("toy-unsupervised"), None


def own_scheduler(model: str) -> str | None:
    """The name of the scheduler a pipeline folder ships when it is one of ours (``SCHEDULERS``),
    so a run records what it samples with; None: the pipeline's own, whatever it is."""
    from benchmark.pipelines import SCHEDULERS, _scheduler_class

    shipped = _scheduler_class(model)
    return next((name for name, cls in SCHEDULERS.items() if cls == shipped), None)


def comparison_models(split: str, user: UserOptions, workspace: Path) -> tuple[list[str], list[str]]:
    """The split's comparison models that are at hand (folders or hub ids) and notes for those
    that are not; none when the user chose a model (the comparison is the split's default job's)."""
    from benchmark.splits import spec

    if user.model is not None:
        return [], []
    models, notes = [], []
    for name in spec(split).compare:
        path, _ = resolve_model(name, None)
        if path is None:
            notes.append(f"comparison model {name!r} is not shipped yet: only the split's own model was run")
        else:
            models.append(path)
    return models, notes
