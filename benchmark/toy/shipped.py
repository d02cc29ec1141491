"""Where the trained toy models ship, their names, and the random-weight fallback before one exists.

Named models (``bench run --model toy-unsupervised``, ``bench toy eval --weights ...``,
``bench toy figure --model ...``) map to a folder in this package; ``NAMED_MODELS`` is the one
place that says which.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
WEIGHTS_DIR = HERE / "weights"


@dataclass(frozen=True)
class NamedModel:
    name: str
    weights: Path  # the shipped fp16 pipeline folder (`bench toy export --dest`)
    train_dir: str  # its training folder (state, logs, config.json), relative to the repository root
    about: str  # one line for the model card

    @property
    def workspace(self) -> str:
        """Where `bench toy publish` scores it (the model card reads its scores from there)."""
        return f"{self.train_dir}/eval-workspace"

    def shipped(self) -> bool:
        return (self.weights / "model_index.json").exists()


NAMED_MODELS = {
    m.name: m
    for m in (
        NamedModel("toy", WEIGHTS_DIR, "training/toy", "cross-attention supervised by a token-grounding loss"),
        NamedModel(
            "toy-unsupervised",
            HERE / "weights-unsupervised",
            "training/toy-unsupervised",
            "the same recipe without the grounding losses: attention learns only from the diffusion loss",
        ),
    )
}
DEFAULT_MODEL = "toy"


class ModelNotShippedError(FileNotFoundError):
    """A named toy model whose weights are not in this tree yet."""


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(HERE.parents[1]))
    except ValueError:
        return str(path)


def resolve_toy_model(name: str) -> Path:
    """The shipped folder of a named toy model; one-line errors for unknown or unshipped names."""
    from core.registry import UnknownNameError

    model = NAMED_MODELS.get(name)
    if model is None:
        close = difflib.get_close_matches(name, NAMED_MODELS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownNameError(f"unknown toy model {name!r} (named models: {', '.join(NAMED_MODELS)}){hint}")
    if not model.shipped():
        raise ModelNotShippedError(
            f"toy model {name!r} is not shipped yet ({_relative(model.weights)} holds no pipeline): export it with "
            f"`bench toy export --out-dir {model.train_dir} --dest {_relative(model.weights)}`"
        )
    return model.weights


def resolve_model_name(model: str | None, workspace: Path | None = None) -> tuple[str, str | None]:
    """A ``--model`` value as ``(path or hub id, note)``.

    ``None`` is the default toy model (with ``workspace``: the toy architecture with random weights
    when none is shipped, and a note saying so); a named toy model is its shipped folder; anything
    else (a folder, a hub id) is returned unchanged.
    """
    if model is None:
        if workspace is not None:
            path, note = shipped_or_random(workspace)
            return str(path), note
        model = DEFAULT_MODEL
    if model in NAMED_MODELS:
        return str(resolve_toy_model(model)), None
    if model.startswith("toy") and not Path(model).exists() and "/" not in model:
        resolve_toy_model(model)  # a misspelt name: say so rather than look it up on the hub
    return model, None


def shipped_model() -> Path | None:
    return WEIGHTS_DIR if (WEIGHTS_DIR / "model_index.json").exists() else None


def build_random_pipeline(dest: Path) -> Path:
    """The toy architecture with random weights, saved like a trained one."""
    import torch

    from benchmark.toy import model as toy_model
    from benchmark.toy.tokenizer import build_clip_tokenizer

    if (dest / "model_index.json").exists():
        return dest
    torch.manual_seed(0)
    tok = build_clip_tokenizer(dest.parent / (dest.name + "-tokenizer"))
    pipe = toy_model.assemble_pipeline(
        toy_model.build_unet(), toy_model.build_vae(), toy_model.build_text_encoder(), tok
    )
    tmp = dest.with_name(dest.name + ".tmp")
    pipe.save_pretrained(tmp)
    tmp.replace(dest)
    return dest


def shipped_or_random(workspace: Path) -> tuple[Path, str | None]:
    model = shipped_model()
    if model is not None:
        return model, None
    path = build_random_pipeline(Path(workspace) / "models" / "toy-random")
    return path, (
        "the trained toy model is not shipped yet: running the toy architecture with RANDOM weights "
        "end to end; its images, maps and scores are meaningless"
    )
