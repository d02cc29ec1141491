"""Run one baseline over every finished generation of a run and store its maps beside DAAM's.

Per generation the output goes to ``<workspace>/baselines/<label>/<generation_id>.npz`` (see
``baselines.io``); soft maps are also registered as word maps of method ``<label>`` (one row per
prompt word, all pointing at that file), which is how the scoring step finds them. Cluster outputs
(STEGO) are only written: they become word maps after Hungarian matching against ground truth.
For a generation-time method (DAAM) the maps are read from the generation's stored maps file and written
in the same format, without registering rows (the store already has DAAM's own). Re-running skips
generations whose output is complete, so an interrupted run resumes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from baselines import load_baseline
from baselines.io import save_output
from baselines.protocol import Baseline, BaselineError
from core.registry import BASELINES
from db import Generation, Store, WordMapSpec


@dataclass(frozen=True)
class BaselineRunSummary:
    run: str
    method: str  # the label stored as word map method
    computed: int
    skipped: int  # already complete before this call
    total: int


def output_path(label: str, generation_id: int) -> str:
    """Where a generation's output lives, relative to the workspace (forward slashes)."""
    return str(PurePosixPath("baselines") / label / f"{generation_id}.npz")


def _load_image(workspace: Path, generation: Generation) -> np.ndarray:
    """The generation's image (``core.files``); a missing file is a FileNotFoundError, a bad one a
    BaselineError."""
    from core.files import GenerationImageError, MissingImageError, load_generation_image

    try:
        return load_generation_image(workspace, generation)
    except MissingImageError:
        raise
    except GenerationImageError as e:
        raise BaselineError(str(e)) from None


def _maps_file(store: Store, workspace: Path, generation_id: int, method: str) -> Path:
    """The maps file a generation-time method stored for a generation (one per image)."""
    from core.files import MapsFileError, generation_maps_path

    try:
        return generation_maps_path(store, workspace, generation_id, method, BASELINES.get(method).title, required=True)
    except MapsFileError as e:
        raise BaselineError(str(e)) from None


def run_baseline(
    store: Store,
    workspace: str | os.PathLike[str],
    run_name: str,
    method: str,
    *,
    label: str | None = None,
    progress: bool = True,
    **options: Any,
) -> BaselineRunSummary:
    """Store ``method``'s output for every done generation of run ``run_name``.

    ``options`` go to the baseline (``load_baseline(method, **options)``); ``label`` names the
    stored method when one method runs with several settings (e.g. ``"centre-disc-0.2"``).
    """
    from tqdm import tqdm

    workspace = Path(workspace)
    label = label or method
    if not label or label != PurePosixPath(label).name or label in (".", ".."):
        raise BaselineError(f"label must be a plain name (no slashes), got {label!r}")
    cls = BASELINES.get(method)
    if label != method and label in BASELINES and BASELINES.get(label).stage == "generation":
        raise BaselineError(
            f"label {label!r} is {BASELINES.get(label).title}'s own (a generation-time method); "
            f"pick another label for {method!r}"
        )
    run = store.get_run(run_name)
    generations = store.generations(run.id, status="done")
    registered: dict[int, set[str]] = {}
    for row in store.word_maps(run_id=run.id, method=label):
        registered.setdefault(row.generation_id, set()).add(row.word)
    prompts: dict[int, Any] = {}
    # a generation-time method's word-map rows were written when its images were generated
    register = cls.kind == "soft" and cls.stage != "generation"
    baseline: Baseline | None = None  # built on first use: a resumed, complete run loads no model
    computed = skipped = 0
    for generation in tqdm(generations, desc=f"{label} on {run_name}", unit="image", disable=not progress):
        if generation.prompt_id not in prompts:
            prompts[generation.prompt_id] = store.get_prompt(generation.prompt_id)
        prompt = prompts[generation.prompt_id]
        rel = output_path(label, generation.id)
        if (workspace / rel).is_file() and (not register or set(prompt.words) <= registered.get(generation.id, set())):
            skipped += 1
            continue
        if cls.reads_stored_maps:
            baseline = load_baseline(method, maps=_maps_file(store, workspace, generation.id, method), **options)
        elif baseline is None:
            baseline = load_baseline(method, **options)
        output = baseline.predict(_load_image(workspace, generation), prompt.text, list(prompt.words))
        save_output(workspace / rel, output)
        if register and output.maps:
            store.add_word_maps(
                generation.id,
                [
                    WordMapSpec(word=word, occurrence=0, token_indices=(), path=rel, method=label)
                    for word in output.maps
                ],
            )
        computed += 1
    return BaselineRunSummary(run_name, label, computed, skipped, len(generations))
