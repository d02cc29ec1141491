"""Read the folders castorini/daam writes, one ``GenerationExperiment`` each, without a store.

The layout is the one ``daam/experiment.py`` (``GenerationExperiment.save``, ``load``,
``save_prediction_mask``, ``save_heat_map``) and ``daam/run/generate.py`` write; the paper's
COCO-Gen and Unreal-Gen releases are folders of this kind::

    <id>/prompt.txt              the prompt (read back stripped, as ``read_prompt`` does)
    <id>/seed.txt                ``str(seed)``; the text "None" when no seed was set
    <id>/output.png              the generated image (subtype ".")
    <id>/<word>.gt.png           hand-drawn ground truth of <word>: the mask is the alpha channel
                                 (> 0, as ``daam.evaluate.load_mask`` reads it); the word is the
                                 file name before ".gt.png", lower-cased
    <id>/<word>.<name>.pred.png  a method's binary prediction mask, same encoding; name "daam" is
                                 DAAM thresholded by ``daam/run/daam_to_mask.py`` (tau 0.4 unless
                                 given otherwise, and the folder does not record it)
    <id>/<word>.heat_map.png     a matplotlib figure (jet colour map under the image, title, axes):
                                 a picture of the heat map, not its values, so it is not imported
    <id>/generation.pt           the pickled GenerationExperiment (generate.py deletes it with
                                 ``clear_checkpoint``); never opened: unpickling runs code, and a
                                 pickled dataclass holding a PIL image is exactly what
                                 ``torch.load(weights_only=True)`` refuses
    <id>/<subtype>/output.png    further images of the same prompt (``subtype``); not imported

Files that are not imported are listed in ``ReleasedExperiment.ignored`` with the reason.

Nothing outside the imported folder is read: a file that is a symbolic link resolving outside the
import root makes its folder a ``FolderError`` naming the link (the folder is skipped, never half
imported), and symlinked folders are not descended into. Links that stay inside the root are
followed. Folder names become prompt keys and file names below ``images/<run>/``, so a folder whose
path below the root holds '\\', ':' or control characters is refused the same way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROMPT_FILE = "prompt.txt"
SEED_FILE = "seed.txt"
IMAGE_FILE = "output.png"
TRUTH_SUFFIX = ".gt.png"
PREDICTION_SUFFIX = ".pred.png"
HEAT_MAP_SUFFIX = ".heat_map.png"

# Kinds of files left out, with the reason shown to users.
IGNORED_REASONS = {
    "heat-map figure": "matplotlib picture of a heat map, not its values",
    "pickle": "pickled Python object; never unpickled (it could run code)",
    "annotations": "free-form annotations.json without a fixed schema",
    "subtype image": "image of a GenerationExperiment subtype; only subtype '.' is imported",
    "composite prediction": "label map whose ids need the vocabulary it was made with",
    "other": "not part of the GenerationExperiment layout",
    "unsafe name": "prediction name that cannot become a folder name (letters, digits, '_' and '-' only)",
}
_METHOD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class FolderError(ValueError):
    """One experiment folder cannot be imported; the message names the file and the problem."""


@dataclass(frozen=True)
class ReleasedExperiment:
    """Everything importable from one folder, read and checked, nothing written yet."""

    key: str  # the folder's path below the import root, '/'-separated (its id when not nested)
    folder: Path
    prompt: str
    seed: int | None
    image_bytes: bytes  # output.png exactly as released
    size: tuple[int, int]  # (H, W) of the image
    truth_masks: Mapping[str, np.ndarray]  # word -> bool [H, W]
    predictions: Mapping[str, Mapping[str, np.ndarray]]  # prediction name -> word -> bool [H, W]
    ignored: tuple[tuple[str, str], ...]  # (file below the folder, kind in IGNORED_REASONS)

    @property
    def words(self) -> tuple[str, ...]:
        """Words with a ground-truth mask or a prediction, in prompt order (then alphabetical)."""
        found = set(self.truth_masks)
        for masks in self.predictions.values():
            found.update(masks)
        text = self.prompt.lower()

        def position(word: str) -> tuple[int, str]:
            at = re.search(rf"\b{re.escape(word)}\b", text)
            return (at.start() if at else len(text), word)

        return tuple(sorted(found, key=position))


def _is_experiment_like(names: list[str]) -> bool:
    return PROMPT_FILE in names or IMAGE_FILE in names or any(n.endswith(TRUTH_SUFFIX) for n in names)


def find_experiment_folders(root: Path) -> list[Path]:
    """Folders below ``root`` (or ``root`` itself) that hold an experiment, sorted.

    A folder with prompt.txt is an experiment. A folder with output.png or a ``*.gt.png`` but no
    prompt.txt is one too (a broken one, reported when read) unless its parent has prompt.txt:
    then it is a subtype folder of that experiment.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no folder at {root}")
    found: list[Path] = []
    for current, dirs, files in os.walk(root):
        dirs.sort()
        folder = Path(current)
        if not _is_experiment_like(files):
            continue
        if PROMPT_FILE not in files and folder != root and (folder.parent / PROMPT_FILE).is_file():
            continue  # a subtype of its parent experiment
        found.append(folder)
    return sorted(found)


def experiment_key(folder: Path, root: Path) -> str:
    """The prompt key: the folder's id, or its path below the root when nested."""
    folder, root = Path(folder), Path(root)
    return folder.resolve().name if folder == root else folder.relative_to(root).as_posix()


def check_key(key: str) -> str:
    """A key becomes ``images/<run>/<key>.png``: each part must be a plain, portable name."""
    for part in key.split("/"):
        if part in ("", ".", "..") or any(c in part for c in "\\:") or any(ord(c) < 32 or ord(c) == 127 for c in part):
            raise FolderError(
                f"folder name {key!r} cannot become a file name inside the workspace "
                "(no '..', '\\', ':' or control characters)"
            )
    return key


def _inside(path: Path, root: Path) -> Path:
    """``path``, refused when it is a symbolic link resolving outside ``root``."""
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(root.resolve()):
            raise FolderError(
                f"{path.name} is a symbolic link to {target}, outside the imported folder; "
                "links out of the folder are not followed"
            )
    return path


def _read_png(path: Path):
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise FolderError(f"{path.name}: unreadable PNG ({exc})") from None


def _read_mask(path: Path, size: tuple[int, int]) -> np.ndarray:
    """The alpha channel > 0, as castorini/daam reads masks; the size must be the image's."""
    image = _read_png(path)
    if "A" not in image.getbands() and "transparency" not in image.info:
        raise FolderError(
            f"{path.name}: mask has no alpha channel (mode {image.mode}); the release stores masks in the alpha channel"
        )
    alpha = np.asarray(image.convert("RGBA"))[..., 3]
    if alpha.shape != size:
        raise FolderError(
            f"{path.name}: mask is {alpha.shape[1]}x{alpha.shape[0]}, the image {IMAGE_FILE} is {size[1]}x{size[0]}"
        )
    return alpha > 0


def _read_seed(folder: Path, root: Path) -> int | None:
    path = _inside(folder / SEED_FILE, root)
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8").strip()
    if text in ("", "None"):
        return None
    try:
        return int(text)
    except ValueError:
        raise FolderError(f"{SEED_FILE}: holds {text[:40]!r}, not an integer") from None


def _union(masks: dict[str, np.ndarray], word: str, mask: np.ndarray) -> None:
    """Files whose words differ only in case are one word (``_add_mask`` unions them too)."""
    masks[word] = masks[word] | mask if word in masks else mask


def _classify(name: str) -> str:
    if name.endswith(HEAT_MAP_SUFFIX):
        return "heat-map figure"
    if name.endswith(".pt") or name.endswith(".pkl"):
        return "pickle"
    if name == "annotations.json":
        return "annotations"
    return "other"


def read_experiment(folder: Path, root: Path) -> ReleasedExperiment:
    """Read and check one folder; FolderError names the first problem. Never unpickles."""
    folder, root = Path(folder), Path(root)
    key = check_key(experiment_key(folder, root))
    if not _inside(folder / PROMPT_FILE, root).is_file():
        raise FolderError(f"no {PROMPT_FILE}")
    try:
        prompt = (folder / PROMPT_FILE).read_text(encoding="utf-8").strip()
    except UnicodeDecodeError as exc:
        raise FolderError(f"{PROMPT_FILE}: not UTF-8 text ({exc})") from None
    if not prompt:
        raise FolderError(f"{PROMPT_FILE} is empty")
    seed = _read_seed(folder, root)

    entries = sorted(folder.iterdir())
    subtypes = [e for e in entries if e.is_dir() and (e / IMAGE_FILE).is_file() and not (e / PROMPT_FILE).is_file()]
    image_path = _inside(folder / IMAGE_FILE, root)
    if not image_path.is_file():
        hint = f" (subtype folders {[s.name for s in subtypes]} are not imported)" if subtypes else ""
        raise FolderError(f"no {IMAGE_FILE}, the generated image{hint}")
    image_bytes = image_path.read_bytes()
    image = _read_png(image_path)
    size = (image.height, image.width)

    truth: dict[str, np.ndarray] = {}
    predictions: dict[str, dict[str, np.ndarray]] = {}
    ignored: list[tuple[str, str]] = [(f"{s.name}/{IMAGE_FILE}", "subtype image") for s in subtypes]
    for entry in entries:
        name = entry.name
        if not entry.is_file() or name in (PROMPT_FILE, SEED_FILE, IMAGE_FILE):
            continue
        if name.endswith(TRUTH_SUFFIX):
            word = name.split(TRUTH_SUFFIX)[0].lower()
            _union(truth, word, _read_mask(_inside(entry, root), size))
        elif name.endswith(PREDICTION_SUFFIX) and "." in name[: -len(PREDICTION_SUFFIX)]:
            word, method = name[: -len(PREDICTION_SUFFIX)].rsplit(".", 1)
            if word.lower() == "composite":
                ignored.append((name, "composite prediction"))
                continue
            if not _METHOD.match(method):  # it names the folder baselines/<method>-release/
                ignored.append((name, "unsafe name"))
                continue
            _union(predictions.setdefault(method, {}), word.lower(), _read_mask(_inside(entry, root), size))
        else:
            ignored.append((name, _classify(name)))
    words = [*truth, *(w for masks in predictions.values() for w in masks)]
    blank = [w for w in words if not w.strip()]
    if blank:
        raise FolderError(f"a mask file has no word before its suffix ({blank[0]!r})")
    return ReleasedExperiment(
        key=key,
        folder=folder,
        prompt=prompt,
        seed=seed,
        image_bytes=image_bytes,
        size=size,
        truth_masks=truth,
        predictions=predictions,
        ignored=tuple(ignored),
    )
