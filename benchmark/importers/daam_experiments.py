"""Import castorini/daam experiment folders, e.g. the paper's released COCO-Gen data, into the store.

Per folder (layout: ``benchmark.importers.daam_folders``):

- the prompt joins split ``split``, version "daam-release", keyed by the folder id (its path below
  the import root when nested); its words are those with a ground-truth mask or a prediction;
- ``output.png`` becomes the 'done' generation (image 0) of the run, copied byte for byte to
  ``images/<run>/<key>.png`` with its sha256, size and ``seed.txt``;
- each ``<word>.gt.png`` becomes a mask with source "human" of rater "daam-release";
- each ``<word>.<name>.pred.png`` becomes a word map of method "<name>-release" ("daam-release"
  for DAAM's own), written as a baseline output file (``baselines/<method>/<generation id>.npz``,
  ``baselines.io`` format) that scoring reads like any soft map. The released predictions are
  binary, so every tau in (0, 1) gives back the released mask.

A folder is read and checked completely before anything is written, so a broken folder writes
nothing. The store has no transaction spanning several calls, so the writes of one folder are
staged: the generation is first recorded 'failed' with the error "import incomplete", files are
written atomically, rows are added, and the last call marks it 'done'. A crash in between leaves
a 'failed' generation, which scoring ignores and the next import completes. Importing again
stores nothing twice.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from baselines.io import load_output, save_output
from baselines.protocol import BaselineError, BaselineOutput
from baselines.runner import output_path
from benchmark.importers.daam_folders import (
    FolderError,
    ReleasedExperiment,
    experiment_key,
    find_experiment_folders,
    read_experiment,
)
from benchmark.pipelines import PAPER_MODEL
from core.files import write_atomic
from db import (
    Generation,
    InvalidInputError,
    PromptSpec,
    Rater,
    Run,
    Store,
    StoreError,
    WordMapSpec,
    decode_mask,
    safe_name,
)

SOURCE = "castorini/daam GenerationExperiment folders"
RELEASE_VERSION = "daam-release"
RELEASE_RATER = "daam-release"
INCOMPLETE = "import of daam release folder {key!r} did not finish; import again to complete it"


class ReleaseImportError(ValueError):
    """The import cannot start: no experiment folders, or an unusable run name."""


class _Interrupted(Exception):
    """A write failed after the generation was recorded 'failed' (import incomplete)."""


@dataclass(frozen=True)
class FolderProblem:
    folder: str  # the folder's key (its path below the root)
    reason: str


@dataclass(frozen=True)
class ImportSummary:
    run: str
    split: str
    version: str
    folders: int  # experiment folders found
    imported: int  # folders whose rows or files were written (or completed) by this call
    unchanged: int  # folders already fully stored
    problems: tuple[FolderProblem, ...]  # folders skipped, with the reason
    masks_added: int
    maps_added: int  # word map rows registered
    without_truth: int  # imported folders that have no ground-truth mask
    ignored: Mapping[str, int] = field(default_factory=dict)  # file kind -> files not imported

    @property
    def skipped(self) -> int:
        return len(self.problems)


def release_method(name: str) -> str:
    """The word map method of the release's ``<word>.<name>.pred.png`` files."""
    return f"{name}-release"


def image_path(run: str, key: str) -> str:
    """Where a folder's image is copied, relative to the workspace."""
    return str(PurePosixPath("images") / run / f"{key}.png")


def _check_inside(workspace: Path, rel: str) -> None:
    """Every file the import writes resolves inside the workspace (keys and run names are
    checked already; this also catches a symlinked images/ folder pointing elsewhere)."""
    base = workspace.resolve()
    if not (workspace / rel).resolve().is_relative_to(base):
        raise OSError(f"{rel} would be written outside the workspace {base}; refused")


def _file_has(path: Path, digest: str) -> bool:
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == digest


def _outputs(exp: ReleasedExperiment) -> dict[str, BaselineOutput]:
    """One soft-map output per prediction name; binary masks become maps of 0.0 and 1.0."""
    return {
        release_method(name): BaselineOutput(
            release_method(name),
            exp.size,
            maps={w: m.astype(np.float32) for w, m in masks.items()},
            details={"source": f"{SOURCE}: <word>.{name}.pred.png", "binary": True, "folder": exp.key},
        )
        for name, masks in sorted(exp.predictions.items())
    }


def _stored_output_matches(path: Path, output: BaselineOutput) -> bool:
    if not path.is_file():
        return False
    try:
        stored = load_output(path)
    except (BaselineError, OSError, ValueError, KeyError):
        return False  # damaged or foreign: rewrite it
    if stored.method != output.method or stored.size != output.size or stored.maps is None:
        return False
    return list(stored.maps) == list(output.maps) and all(
        np.array_equal(stored.maps[w], output.maps[w]) for w in output.maps
    )


@dataclass
class _Plan:
    """What one folder still needs, given what the store and workspace already hold."""

    masks: dict[str, np.ndarray]
    files: list[str]  # methods whose maps file must be (re)written
    rows: dict[str, list[str]]  # method -> words whose word map row is missing

    @property
    def empty(self) -> bool:
        return not self.masks and not self.files and not any(self.rows.values())


def _plan(
    store: Store,
    workspace: Path,
    generation_id: int,
    rater: Rater,
    exp: ReleasedExperiment,
    outputs: Mapping[str, BaselineOutput],
) -> _Plan:
    stored = {
        m.word: m for m in store.masks(generation_id, source="human", rater_id=rater.id, occurrence=0, latest_only=True)
    }
    masks = {
        w: m for w, m in exp.truth_masks.items() if w not in stored or not np.array_equal(decode_mask(stored[w]), m)
    }
    files, rows = [], {}
    for method, output in outputs.items():
        rel = output_path(method, generation_id)
        if not _stored_output_matches(workspace / rel, output):
            files.append(method)
        have = {r.word for r in store.word_maps(generation_id, method=method) if r.path == rel and r.occurrence == 0}
        rows[method] = [w for w in output.maps if w not in have]
    return _Plan(masks, files, rows)


def _import_folder(
    store: Store,
    workspace: Path,
    run: Run,
    rater: Rater,
    version: str,
    exp: ReleasedExperiment,
    existing: Mapping[int, Generation],
) -> tuple[bool, int, int]:
    """Store one read folder; returns (anything written, masks added, word map rows added)."""
    rel_image = image_path(run.name, exp.key)
    _check_inside(workspace, rel_image)  # before the first write of this folder
    prompt = store.add_prompts(
        run.split,
        version,
        [PromptSpec(key=exp.key, text=exp.prompt, provenance={"source": SOURCE, "folder": exp.key}, words=exp.words)],
    )[0]
    digest = hashlib.sha256(exp.image_bytes).hexdigest()
    height, width = exp.size
    outputs = _outputs(exp)
    before = existing.get(prompt.id)
    if before is not None:
        image_ok = (
            before.image_path == rel_image
            and before.image_sha256 == digest
            and _file_has(workspace / rel_image, digest)
        )
        row_ok = (
            before.status == "done"
            and (before.height, before.width) == (height, width)
            and (exp.seed is None or before.seed == exp.seed)
        )
        if image_ok and row_ok and _plan(store, workspace, before.id, rater, exp, outputs).empty:
            return False, 0, 0

    # Staged writes: 'failed' until the last call, so an interrupted folder is never taken as done.
    generation = store.record_generation(
        run.id,
        prompt.id,
        0,
        seed=exp.seed,
        height=height,
        width=width,
        status="failed",
        error=INCOMPLETE.format(key=exp.key),
    )
    try:
        return _complete(store, workspace, run, rater, exp, generation, outputs, rel_image, digest)
    except (StoreError, BaselineError, OSError) as exc:
        raise _Interrupted(f"{exc}; its generation stays 'failed' until an import completes it") from exc


def _complete(
    store: Store,
    workspace: Path,
    run: Run,
    rater: Rater,
    exp: ReleasedExperiment,
    generation: Generation,
    outputs: Mapping[str, BaselineOutput],
    rel_image: str,
    digest: str,
) -> tuple[bool, int, int]:
    """The staged part of ``_import_folder``: files, word maps and masks, then 'done'."""
    height, width = exp.size
    if not _file_has(workspace / rel_image, digest):
        write_atomic(workspace / rel_image, exp.image_bytes)  # a temporary name of this writer only
    plan = _plan(store, workspace, generation.id, rater, exp, outputs)
    maps_added = 0
    for method in plan.files:
        save_output(workspace / output_path(method, generation.id), outputs[method])
    for method, words in plan.rows.items():
        if words:
            rel = output_path(method, generation.id)
            store.add_word_maps(generation.id, [WordMapSpec(w, 0, (), rel, method) for w in words])
            maps_added += len(words)
    for word, mask in plan.masks.items():
        store.add_mask(generation.id, word, 0, mask, source="human", rater=rater)
    store.record_generation(
        run.id,
        generation.prompt_id,
        0,
        seed=exp.seed,
        image_path=rel_image,
        image_sha256=digest,
        height=height,
        width=width,
        status="done",
        error=None,
    )
    return True, len(plan.masks), maps_added


def import_experiments(
    store: Store,
    workspace: str | os.PathLike[str],
    root: str | os.PathLike[str],
    split: str = "coco-gen",
    run_name: str | None = None,
    model: str = PAPER_MODEL,
    *,
    version: str = RELEASE_VERSION,
    progress: bool = True,
) -> ImportSummary:
    """Import every experiment folder below ``root`` as run ``run_name`` (default "<split>-daam-release").

    Bad folders (missing image, unreadable PNG, mask size mismatch, ...) are reported in
    ``ImportSummary.problems`` and skipped; the others are imported.
    """
    from tqdm import tqdm

    root, workspace = Path(root), Path(workspace)
    run_name = run_name or f"{split}-{RELEASE_VERSION}"
    try:  # it becomes the folder images/<run>/
        safe_name(run_name, "run name")
    except InvalidInputError as exc:
        raise ReleaseImportError(f"{exc} (the run name must be a plain name: it becomes a folder)") from None
    folders = find_experiment_folders(root)
    if not folders:
        raise ReleaseImportError(f"no experiment folders (with prompt.txt, output.png or *.gt.png) under {root}")
    workspace.mkdir(parents=True, exist_ok=True)
    model_row = store.get_or_create_model(model, RELEASE_VERSION, "diffusion", {})
    run = store.get_or_create_run(run_name, split, model_row.id, {"source": SOURCE, "split_version": version})
    rater = store.get_or_create_rater(RELEASE_RATER, "human")
    existing = {g.prompt_id: g for g in store.generations(run.id) if g.image_index == 0}

    imported = unchanged = masks_added = maps_added = without_truth = 0
    problems: list[FolderProblem] = []
    ignored: Counter[str] = Counter()
    for folder in tqdm(folders, desc=f"import {root.name}", unit="folder", disable=not progress):
        key = experiment_key(folder, root)
        try:
            exp = read_experiment(folder, root)
        except (FolderError, OSError) as exc:
            problems.append(FolderProblem(key, str(exc)))
            continue
        try:
            wrote, masks, maps = _import_folder(store, workspace, run, rater, version, exp, existing)
        except (StoreError, BaselineError, OSError, _Interrupted) as exc:
            problems.append(FolderProblem(key, str(exc)))
            continue
        imported += wrote
        unchanged += not wrote
        masks_added += masks
        maps_added += maps
        without_truth += not exp.truth_masks
        ignored.update(kind for _, kind in exp.ignored)
    if not problems and run.status != "done":
        store.set_run_status(run.id, "done")
    return ImportSummary(
        run=run.name,
        split=split,
        version=version,
        folders=len(folders),
        imported=imported,
        unchanged=unchanged,
        problems=tuple(problems),
        masks_added=masks_added,
        maps_added=maps_added,
        without_truth=without_truth,
        ignored=dict(sorted(ignored.items())),
    )
