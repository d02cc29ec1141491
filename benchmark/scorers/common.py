"""What every study scorer shares: reading a run's stored data and writing score rows.

Scorers read generations, word maps, masks and annotations through the store, compute with the
pure functions of ``benchmark.metrics`` and ``benchmark.stats``, and store one row per score.
Nothing here does maths; it only finds inputs and keeps undefined numbers out of the store
(the store rejects NaN: a NaN value means "nothing to score", a NaN interval is stored as none).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import db
from benchmark import results
from benchmark.results import ScoreRecord
from benchmark.stats import Estimate
from core.thresholds import BEST_TAU as TAU  # wherever a study needs one binary map per word

DAAM = "daam"  # the word-map method of DAAM's own maps


class ScoringError(ValueError):
    """Stored data a scorer cannot use; the message names the run, generation or prompt."""


def check_study(run: db.Run, study: str) -> None:
    """Refuse a run of another study (a scorer called by hand on the wrong run)."""
    from benchmark.splits import split_info

    found = split_info(run.split).study
    if found != study:
        raise ScoringError(f"run {run.name!r} is split {run.split!r} of study {found!r}, not {study!r}")


def done_generations(store: db.Store, run: db.Run) -> list[tuple[db.Generation, db.Prompt]]:
    """The run's finished generations with their prompts, in generation order."""
    prompts: dict[int, db.Prompt] = {}
    out = []
    for g in store.generations(run.id, "done"):
        if g.prompt_id not in prompts:
            prompts[g.prompt_id] = store.get_prompt(g.prompt_id)
        out.append((g, prompts[g.prompt_id]))
    return out


def provenance_field(prompt: db.Prompt, key: str) -> Any:
    """``prompt.provenance[key]``, or a ScoringError naming the prompt and the split's fields."""
    if key not in prompt.provenance:
        raise ScoringError(
            f"prompt {prompt.key!r} of split {prompt.split!r} has no provenance field {key!r} "
            f"(its fields: {', '.join(sorted(prompt.provenance)) or 'none'})"
        )
    return prompt.provenance[key]


class DaamMaps:
    """Loads each generation's saved DAAM maps once (one ``GenerationMaps`` file per image)."""

    def __init__(self, store: db.Store, workspace: Path):
        self.store, self.workspace = store, Path(workspace)
        self._cache: dict[int, Any] = {}

    def get(self, generation_id: int):
        """The generation's ``daam.GenerationMaps``, or None when no DAAM maps are stored."""
        import daam

        if generation_id in self._cache:
            return self._cache[generation_id]
        from core.files import MapsFileError, generation_maps_path

        try:
            path = generation_maps_path(self.store, self.workspace, generation_id, DAAM, "DAAM", required=False)
        except MapsFileError as e:
            raise ScoringError(str(e)) from None
        maps = None
        if path is not None:
            if not path.is_file():
                raise ScoringError(f"DAAM maps of generation {generation_id} are missing: {path}")
            maps = daam.load(path)
        self._cache = {generation_id: maps}  # one image at a time: maps files are megabytes each
        return maps


def word_soft(maps, word: str, occurrence: int) -> np.ndarray | None:
    """A word's soft DAAM map as float32 numpy, or None when the word was not traced (cut off)."""
    from daam import WordNotFoundError

    try:
        return maps.word_map(word, occurrence).soft.numpy()
    except WordNotFoundError:
        return None


def word_mask(maps, word: str, occurrence: int, tau: float = TAU) -> np.ndarray | None:
    """A word's binary DAAM map ``soft >= tau``, or None when the word was not traced."""
    from benchmark.metrics import binarize

    soft = word_soft(maps, word, occurrence)
    return None if soft is None else binarize(soft, tau)


def load_image(workspace: Path, generation: db.Generation) -> np.ndarray:
    """The generated image as uint8 RGB ``[H, W, 3]`` (``core.files``, the one image loader)."""
    from core.files import GenerationImageError, MissingImageError, load_generation_image

    try:
        return load_generation_image(workspace, generation, check_size=False)
    except (GenerationImageError, MissingImageError) as exc:
        raise ScoringError(str(exc)) from None


def excluded_raters(store: db.Store) -> set[int]:
    return {r.id for r in store.raters() if r.excluded}


def human_masks(
    store: db.Store, generation_id: int, excluded: set[int]
) -> dict[tuple[str, int], dict[int, np.ndarray]]:
    """(word, occurrence) -> {rater id: that rater's newest human mask}, excluded raters left out."""
    out: dict[tuple[str, int], dict[int, np.ndarray]] = {}
    for m in store.masks(generation_id, source="human", latest_only=True):
        if m.rater_id in excluded:
            continue
        out.setdefault((m.word, m.occurrence), {})[m.rater_id if m.rater_id is not None else -1] = db.decode_mask(m)
    return out


def current_annotations(
    store: db.Store, study: str, run: db.Run, include_excluded: bool = False
) -> list[db.Annotation]:
    """The annotations that count (newest valid version, one per task and rater), in submission order.

    The rule is the store's (``db.current_annotations``), so scores and ``bench annotate status`` agree.
    """
    return db.current_annotations(store, study, run.name, include_excluded=include_excluded)


def score(
    study: str, method: str, metric: str, subset: str, estimate: Estimate, details: dict[str, Any] | None = None
) -> ScoreRecord:
    """One score record from an estimate (value, interval, n)."""
    return ScoreRecord(
        study,
        method,
        metric,
        subset,
        float(estimate.value),
        estimate.ci_low,
        estimate.ci_high,
        int(estimate.n),
        details or {},
    )


def value_score(
    study: str,
    method: str,
    metric: str,
    subset: str,
    value: float,
    n: int | None,
    details: dict[str, Any] | None = None,
) -> ScoreRecord:
    """A score without an interval (a p-value, an agreement coefficient, the best point of a curve)."""
    return ScoreRecord(study, method, metric, subset, float(value), None, None, n, details or {})


def store_scores(store: db.Store, run: db.Run, scores: Iterable[ScoreRecord]) -> list[ScoreRecord]:
    """Keep the scores with a defined value, clean their intervals and details, and upsert them."""
    return results.store_scores(store, run.id, list(scores))


def count_note(what: str, n: int, why: str) -> list[str]:
    """A note only when something was left out."""
    return [f"{n} {what} {why}"] if n else []


def ranked_examples(rows: Sequence[dict[str, Any]], key: str, k: int = 5) -> dict[str, list[dict[str, Any]]]:
    """The ``k`` best and worst rows by ``key`` (ties broken by generation, then word)."""
    ordered = sorted(rows, key=lambda r: (-r[key], r["generation_id"], r.get("word", "")))
    worst = sorted(rows, key=lambda r: (r[key], r["generation_id"], r.get("word", "")))
    return {"best": list(ordered[:k]), "worst": list(worst[:k])}
