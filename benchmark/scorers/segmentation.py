"""Noun segmentation (paper 3.1, table 1): word maps against hand-drawn noun masks.

Truth is each non-excluded rater's newest human mask of a noun. The paper had one annotator per
image; with several raters a prediction is scored against every rater's mask and the IoUs are
averaged, so each (image, noun) pair counts once whatever the number of raters. A noun whose
masks are all empty was judged absent from the image and makes no pair (the paper segmented the
nouns present).

Methods: DAAM binarised at each of the paper's taus ("daam@0.4"); every soft baseline stored as
word maps for the run, binarised at ``BASELINE_TAU`` (their maps are normalised like DAAM's);
every cluster baseline (STEGO) found under ``<workspace>/baselines/<label>/``, its clusters
given to nouns by Hungarian matching against each rater's masks of the image. mIoU80 keeps the
nouns the split resolved to a COCO class (provenance ``coco_classes``; splits without it use the
class-name rule). The tau sweep ("mIoU-sweep", method "daam") and the best and worst daam@0.4
pairs (``details["examples"]`` of its mIoU-all score) feed the report. Runs generated with
``--keep-detail`` also get appendix A.1's time-step and resolution ablation ("ablation" scores).
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import db
from benchmark.metrics import (
    MIOU80,
    MIOU_ALL,
    PAPER_TAUS,
    SWEEP_TAUS,
    binarize,
    coco_flags,
    hungarian_match,
    iou,
    iou_by_tau,
    miou_by_subset,
    resize_labels,
    resize_soft,
    tau_curve,
)
from benchmark.metrics.ablation import ablation_ious, ablation_scores, has_step_detail
from benchmark.scorers.common import (
    DAAM,
    TAU,
    DaamMaps,
    check_study,
    count_note,
    done_generations,
    excluded_raters,
    human_masks,
    ranked_examples,
    score,
    store_scores,
    value_score,
    word_soft,
)
from core.thresholds import BASELINE_TAU  # soft baselines (CLIPSeg, trivial maps) are thresholded here

STUDY = "segmentation"
N_EXAMPLES = 5
CLUSTERS_DIR = "baselines"  # where baselines.runner writes every output, <label>/<generation id>.npz


@dataclass(frozen=True)
class Pair:
    """One (image, noun) to segment, with each rater's non-empty truth mask."""

    generation_id: int
    word: str
    occurrence: int
    truths: dict[int, np.ndarray]  # rater id -> mask
    coco80: bool | None  # the split's decision; None: decide by the class-name rule
    ignore: np.ndarray | None = None  # pixels that count for no class (a dataset's void), left out of IoU

    @property
    def key(self) -> str:
        return f"{self.word}#{self.occurrence}"

    @property
    def size(self) -> tuple[int, int]:
        return next(iter(self.truths.values())).shape


def coco80_decision(provenance: dict, word: str) -> bool | None:
    classes = provenance.get("coco_classes")
    if not isinstance(classes, dict):
        return None
    return word.lower() in {k.lower() for k in classes}


def collect_pairs(store: db.Store, run: db.Run) -> tuple[list[Pair], int]:
    """Every (image, noun) with a non-empty human mask, and how many nouns were judged absent."""
    excluded = excluded_raters(store)
    pairs, absent = [], 0
    for g, prompt in done_generations(store, run):
        for (word, occurrence), masks in sorted(human_masks(store, g.id, excluded).items()):
            present = {rater: m for rater, m in masks.items() if m.any()}
            if not present:
                absent += 1
                continue
            pairs.append(Pair(g.id, word, occurrence, present, coco80_decision(prompt.provenance, word)))
    return pairs, absent


def _mean_over_raters(rows: list[np.ndarray]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        return np.nanmean(np.stack(rows), axis=0)


def valid_pixels(x: np.ndarray, ignore: np.ndarray | None) -> np.ndarray:
    """``x`` without the ignored pixels, as a ``[1, N]`` map (IoU is over the pixels that count)."""
    return x if ignore is None else x[~ignore][None, :]


class _Resized:
    """Counts predictions that had to be resized to the truth's size (reported as a note)."""

    def __init__(self) -> None:
        self.count = 0

    def soft(self, soft: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        if soft.shape == size:
            return soft
        self.count += 1
        return resize_soft(soft, size)

    def labels(self, labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        if labels.shape == size:
            return labels
        self.count += 1
        return resize_labels(labels, size)


def _daam_curves(pairs: list[Pair], maps: DaamMaps, resized: _Resized) -> np.ndarray:
    """IoU per pair (rows) and sweep tau (columns), averaged over raters; NaN rows: no DAAM map."""
    out = np.full((len(pairs), len(SWEEP_TAUS)), np.nan)
    for i, p in enumerate(pairs):
        found = maps.get(p.generation_id)
        soft = None if found is None else word_soft(found, p.word, p.occurrence)
        if soft is not None:
            soft = valid_pixels(resized.soft(soft, p.size), p.ignore)
            out[i] = _mean_over_raters(
                [iou_by_tau(soft, valid_pixels(t, p.ignore), SWEEP_TAUS) for t in p.truths.values()]
            )
    return out


def _ablation(pairs: list[Pair], maps: DaamMaps, study: str = STUDY) -> tuple[list[dict], int]:
    """Appendix A.1's curves (steps up to / from j, one resolution) over the pairs whose maps kept
    per-step detail (``bench run --keep-detail``); and how many pairs that was."""
    from daam import WordNotFoundError

    records = []
    for p in pairs:
        found = maps.get(p.generation_id)
        if found is None or not has_step_detail(found):
            continue
        try:
            truths = list(p.truths.values())
            if p.ignore is not None:  # the ablation resizes maps to the truth: void pixels are scored there
                continue
            records.append(ablation_ious(found, p.word, p.occurrence, truths, fit=resize_soft))
        except WordNotFoundError:  # cut off by the token limit: no map, as in the main scores
            continue
    return ablation_scores(records, study, DAAM, "all/"), len(records)


def _tau_column(tau: float) -> int:
    return next(i for i, t in enumerate(SWEEP_TAUS) if math.isclose(t, tau, abs_tol=1e-9))


def _lookup(maps: dict[str, np.ndarray], word: str) -> np.ndarray | None:
    """A baseline's map of ``word``: exact spelling first, then ignoring case (as DAAM finds words)."""
    if word in maps:
        return maps[word]
    return next((soft for w, soft in maps.items() if w.lower() == word.lower()), None)


class _MethodMaps:
    """The soft methods' output files of one image (``baselines.io``): a post-hoc baseline's file
    is where its word-map rows point; a generation-time method's rows point at the maps it traced,
    which ``run_baseline`` reads into the same protocol (its own notion of a word's map: prompt
    tokens, an open vocabulary, concepts) at ``baselines/<method>/<generation id>.npz``."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self._generation: int | None = None
        self._loaded: dict[str, object] = {}

    def soft(self, generation_id: int, method: str, path: str, word: str) -> np.ndarray | None:
        from baselines.io import load_output
        from baselines.runner import output_path
        from core.registry import BASELINES

        if generation_id != self._generation:  # pairs come image by image: keep one image's files
            self._generation, self._loaded = generation_id, {}
        if method in BASELINES and BASELINES.get(method).stage == "generation":
            path = output_path(method, generation_id)
            if not (self.workspace / path).is_file():
                return None  # not read back yet (bench baseline --method NAME does): unscored
        if path not in self._loaded:
            self._loaded[path] = load_output(self.workspace / path)
        return _lookup(self._loaded[path].maps or {}, word)


def _soft_baselines(
    store: db.Store, workspace: Path, run: db.Run, pairs: list[Pair], resized: _Resized
) -> dict[str, np.ndarray]:
    """Per soft method other than DAAM (baselines, and other generation-time methods), IoU per
    pair at BASELINE_TAU."""
    import baselines  # noqa: F401  (registers the methods: which are generation-time)

    rows_by_generation: dict[int, dict[tuple[str, str, int], str]] = defaultdict(dict)
    methods = set()
    for row in store.word_maps(run_id=run.id):
        if row.method != DAAM:
            methods.add(row.method)
            rows_by_generation[row.generation_id][(row.method, row.word.lower(), row.occurrence)] = row.path
    out = {m: np.full(len(pairs), np.nan) for m in sorted(methods)}
    files = _MethodMaps(workspace)
    for i, p in enumerate(pairs):
        for method, ious in out.items():
            path = rows_by_generation[p.generation_id].get((method, p.word.lower(), p.occurrence))
            if path is None:
                continue
            soft = files.soft(p.generation_id, method, path, p.word)
            if soft is None:
                continue
            hard = valid_pixels(binarize(resized.soft(soft, p.size), BASELINE_TAU), p.ignore)
            ious[i] = float(np.mean([iou(hard, valid_pixels(t, p.ignore)) for t in p.truths.values()]))
    return out


def _cluster_baselines(
    workspace: Path, pairs: list[Pair], skip: set[str], resized: _Resized
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per cluster baseline on disk, IoU per pair after Hungarian matching to each rater's masks."""
    from baselines.io import load_output

    root = workspace / CLUSTERS_DIR
    labels = sorted(d.name for d in root.iterdir() if d.is_dir() and d.name not in skip) if root.is_dir() else []
    by_generation: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(pairs):
        by_generation[p.generation_id].append(i)
    out: dict[str, np.ndarray] = {}
    notes = []
    for label in labels:
        ious = np.full(len(pairs), np.nan)
        soft_files = 0
        for gid, members in by_generation.items():
            path = root / label / f"{gid}.npz"
            if not path.is_file():
                continue
            output = load_output(path)
            if output.kind != "clusters":
                soft_files += 1
                continue
            per_pair: dict[int, list[float]] = defaultdict(list)
            raters = sorted({r for i in members for r in pairs[i].truths})
            for rater in raters:
                mine = [i for i in members if rater in pairs[i].truths]
                truths = {pairs[i].key: pairs[i].truths[rater] for i in mine}
                clusters = resized.labels(np.asarray(output.clusters), pairs[mine[0]].size)
                ignore = pairs[mine[0]].ignore  # one image: one void mask
                if ignore is not None:  # void pixels belong to no cluster when matching
                    clusters = np.where(ignore, -1, clusters)
                predicted = hungarian_match(clusters, truths, ignore_index=None if ignore is None else -1)
                for i in mine:
                    per_pair[i].append(
                        iou(valid_pixels(predicted[pairs[i].key], ignore), valid_pixels(pairs[i].truths[rater], ignore))
                    )
            for i, values in per_pair.items():
                ious[i] = float(np.mean(values))
        if soft_files:
            notes.append(
                f"{label}: {soft_files} output file(s) hold soft maps without word-map rows; "
                "register them by re-running the baseline"
            )
        if not np.isnan(ious).all():
            out[label] = ious
    return out, notes


def _method_scores(
    method: str, ious: np.ndarray, pairs: list[Pair], details: dict, examples: bool = False, study: str = STUDY
) -> list[dict]:
    """mIoU-all and mIoU80 of one method; the example pairs ride on mIoU-all only (one gallery)."""
    estimates = miou_by_subset(ious, [p.word for p in pairs], [p.coco80 for p in pairs])
    details = {**details, "n_unscored": int(np.isnan(ious).sum())}
    return [
        score(
            study,
            method,
            MIOU_ALL,
            "all",
            estimates[MIOU_ALL],
            {**details, "examples": _examples(ious, pairs)} if examples else details,
        ),
        score(study, method, MIOU80, "all", estimates[MIOU80], details),
    ]


def _sweep_scores(curves: np.ndarray, pairs: list[Pair], study: str = STUDY) -> list[dict]:
    """The DAAM tau sweep over every scored pair, and over the COCO-80 ones."""
    scored = ~np.isnan(curves).all(axis=1)
    coco = coco_flags([p.word for p in pairs], [p.coco80 for p in pairs])
    out = []
    for subset, keep in (("all", scored), ("coco80", scored & coco)):
        if not keep.any():
            continue
        curve = tau_curve(curves[keep], SWEEP_TAUS)
        best = curve.best_tau
        out.append(
            value_score(
                study,
                DAAM,
                "mIoU-sweep",
                subset,
                curve.at(best).value,
                int(keep.sum()),
                {
                    "taus": list(SWEEP_TAUS),
                    "miou": [float(x) for x in curve.miou],
                    "best_tau": best,
                    "ci_low": [e.ci_low for e in curve.estimates],
                    "ci_high": [e.ci_high for e in curve.estimates],
                },
            )
        )
    return out


def _examples(ious: np.ndarray, pairs: list[Pair]) -> dict:
    rows = [
        {"generation_id": p.generation_id, "word": p.word, "occurrence": p.occurrence, "iou": float(v)}
        for p, v in zip(pairs, ious)
        if not math.isnan(v)
    ]
    return ranked_examples(rows, "iou", N_EXAMPLES)


@dataclass(frozen=True)
class MethodScores:
    scores: list  # ScoreRecords of every method
    curves: np.ndarray  # DAAM's IoU per pair and sweep tau
    baselines: list[str]  # the other methods scored, soft then cluster
    notes: list[str]  # what the cluster outputs lacked
    trailing_notes: list[str]  # the ablation's and the resizing's counts


def score_methods(
    store: db.Store, workspace: Path, run: db.Run, pairs: list[Pair], common: dict, study: str = STUDY
) -> MethodScores:
    """Every method stored for the run against the pairs' truth: DAAM at the paper's taus (with
    the sweep, the example pairs at the best tau and, with per-step detail, the ablation), other
    soft methods at BASELINE_TAU, cluster methods by Hungarian matching. ``common`` goes into
    every score's details (where truth came from)."""
    resized = _Resized()
    curves = _daam_curves(pairs, DaamMaps(store, workspace), resized)
    scores: list = []
    for tau in PAPER_TAUS:
        ious = curves[:, _tau_column(tau)]
        scores += _method_scores(f"{DAAM}@{tau}", ious, pairs, {**common, "tau": tau}, math.isclose(tau, TAU), study)
    scores += _sweep_scores(curves, pairs, study)
    ablation, n_ablation = _ablation(pairs, DaamMaps(store, workspace), study)
    scores += ablation
    soft = _soft_baselines(store, workspace, run, pairs, resized)
    for method, ious in soft.items():
        scores += _method_scores(method, ious, pairs, {**common, "tau": BASELINE_TAU}, study=study)
    clusters, notes = _cluster_baselines(workspace, pairs, set(soft) | {DAAM}, resized)
    for method, ious in clusters.items():
        scores += _method_scores(method, ious, pairs, {**common, "matching": "hungarian"}, study=study)
    trailing = []
    if n_ablation:
        trailing.append(f"time-step/resolution ablation over {n_ablation} pair(s) whose maps kept per-step detail")
    trailing += count_note("predictions", resized.count, "were resized to their truth mask's size")
    return MethodScores(scores, curves, sorted(soft) + sorted(clusters), notes, trailing)


def score_segmentation(store: db.Store, workspace, run: db.Run, pipe=None, config=None) -> tuple[list[dict], list[str]]:
    """Table 1 for one run: mIoU-all and mIoU80 per method, the DAAM tau sweep, example pairs."""
    workspace = Path(workspace)
    check_study(run, STUDY)
    pairs, absent = collect_pairs(store, run)
    n_raters = len({r for p in pairs for r in p.truths})
    if not pairs:
        return [], [
            (
                f"segmentation of run {run.name!r}: no human masks stored yet; scores follow "
                "`bench annotate pull` of the segmentation study"
            )
        ]
    scored = score_methods(store, workspace, run, pairs, {"truth": "human", "n_raters": n_raters})
    scores, notes, curves = scored.scores, scored.notes, scored.curves
    n_images = len({p.generation_id for p in pairs})
    baselines = ", ".join(scored.baselines) or "no baselines"
    notes.insert(
        0,
        f"segmentation of run {run.name!r}: {len(pairs)} noun masks in {n_images} images from "
        f"{n_raters} rater(s); methods: daam, {baselines}",
    )
    notes += count_note("nouns", absent, "were marked absent (empty masks) and are not scored")
    notes += count_note("nouns", int(np.isnan(curves).all(axis=1).sum()), "have no DAAM map and are not scored by DAAM")
    return store_scores(store, run, scores), notes + scored.trailing_notes
