"""Reading released PyTorch Lightning checkpoints without running code from them.

A Lightning ``.ckpt`` is a pickle: besides tensors it holds hyperparameters as OmegaConf and
Lightning objects, which ``torch.load(weights_only=True)`` refuses. Unpickling them for real would
let the file run any code. Instead, each non-tensor global the file names is replaced by an inert
stand-in class (it records what the pickle hands it and runs nothing), but only when the name
belongs to a configuration or framework package (``CONFIG_ROOTS``); a file that names anything else
(``os.system``, ``builtins.eval``...) is refused with ``UnsafeCheckpointError``. The tensors are
still rebuilt by torch's own weights-only unpickler.
"""

from __future__ import annotations

import functools
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any, ClassVar

import torch

from baselines.protocol import BaselineError

# Packages whose objects appear as hyperparameters or bookkeeping in Lightning checkpoints.
CONFIG_ROOTS = frozenset(
    {
        "omegaconf",
        "pytorch_lightning",
        "lightning",
        "lightning_fabric",
        "typing",
        "collections",
        "pathlib",
        "argparse",
        "enum",
        "datetime",
        "numpy",
        "copyreg",
    }
)
# Plain data types; everything else in builtins (eval, exec, getattr, open...) is refused.
SAFE_BUILTINS = frozenset(
    {
        "dict",
        "list",
        "set",
        "frozenset",
        "tuple",
        "object",
        "int",
        "float",
        "complex",
        "str",
        "bytes",
        "bytearray",
        "bool",
        "slice",
        "range",
        "NoneType",
    }
)


class CheckpointError(BaselineError):
    """The file is not a checkpoint we can read."""


class UnsafeCheckpointError(CheckpointError):
    """The file asks the unpickler for code outside configuration packages: refused unread."""


class InertGlobal:
    """Stand-in for a class or function named in a checkpoint: it keeps its arguments and state."""

    qualified_name: ClassVar[str] = "?"

    def __new__(cls, *args: Any, **kwargs: Any):
        obj = object.__new__(cls)
        obj.args, obj.state = args, None
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<inert {self.qualified_name}>"


@functools.cache
def inert_class(qualified_name: str) -> type[InertGlobal]:
    return type(f"Inert[{qualified_name}]", (InertGlobal,), {"qualified_name": qualified_name})


def is_config_global(name: str) -> bool:
    root, _, rest = name.partition(".")
    if root == "builtins":
        return rest in SAFE_BUILTINS
    return root in CONFIG_ROOTS


def load_checkpoint(path: str | os.PathLike[str]) -> Any:
    """The unpickled checkpoint, with tensors on the CPU and configuration objects made inert."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable torch checkpoint: {exc}") from exc
    except pickle.UnpicklingError as first:
        if not zipfile.is_zipfile(path):
            raise CheckpointError(
                f"{path} is not a torch zip checkpoint that loads with weights_only=True ({first}); "
                "legacy pickles are not read, since reading them could run code"
            ) from first
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    refused = sorted(n for n in names if not is_config_global(n))
    if refused:
        raise UnsafeCheckpointError(
            f"refusing to unpickle {path}: it names {', '.join(refused)}, which a model checkpoint "
            "has no reason to call; a STEGO checkpoint holds tensors and Lightning/OmegaConf "
            "hyperparameters only"
        )
    with torch.serialization.safe_globals([(inert_class(n), n) for n in names]):
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            raise CheckpointError(
                f"cannot read {path} safely: {exc}. Re-save its weights alone in a trusted "
                "environment: torch.save(torch.load(ckpt, weights_only=False)['state_dict'], out)"
            ) from exc


def tensor_state(checkpoint: Any, path: str | os.PathLike[str] = "checkpoint") -> dict[str, torch.Tensor]:
    """The tensors of a Lightning checkpoint's ``state_dict`` (or of a bare state dict)."""
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds {type(checkpoint).__name__}, not a state dict")
    tensors = {k: v for k, v in state.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{path} has no tensors in its state dict")
    return tensors
