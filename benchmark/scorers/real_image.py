"""Real-image splits (``coco-real``, ``voc-real``, ``imagenet-seg``): every method against the
dataset's own truth, stored with the run by the ``real-image`` generation mode.

Pairs are (image, word) with a non-empty "dataset" mask; void pixels (the mask of
``VOID_WORD``) are left out of every IoU. The methods and thresholds are the segmentation
study's (``score_methods``): DAAM at the paper's taus (0.4 best, with the sweep), other soft
methods (baselines, other generation-time methods) at ``BASELINE_TAU``, cluster methods by
Hungarian matching against the truth of each image. mIoU-all keeps every word with truth;
mIoU80 the words whose category is one of COCO's 80 (provenance ``coco_classes``). Following the
paper, a word whose class is absent from the image (an empty mask) makes no pair; a word naming
no class of the dataset has no truth at all (real images are not hand-segmented) and is counted
in the notes, not scored, so on COCO itself mIoU-all and mIoU80 coincide.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import db
from benchmark.real_image import STUDY, TRUTH_SOURCE, VOID_WORD
from benchmark.scorers.common import check_study, count_note, done_generations, store_scores
from benchmark.scorers.segmentation import Pair, coco80_decision, score_methods


def collect_truth_pairs(store: db.Store, run: db.Run) -> tuple[list[Pair], int, int]:
    """Every (image, word) with a non-empty dataset mask; how many words were absent from their
    image; how many have no truth (they name no class of the dataset)."""
    pairs, absent, no_truth = [], 0, 0
    for g, prompt in done_generations(store, run):
        masks = {(m.word, m.occurrence): m for m in store.masks(g.id, source=TRUTH_SOURCE, latest_only=True)}
        void = masks.pop((VOID_WORD, 0), None)
        ignore = None if void is None else db.decode_mask(void)
        no_truth += sum(w not in {word for word, _ in masks} for w in prompt.words)
        for (word, occurrence), row in sorted(masks.items()):
            mask = db.decode_mask(row)
            if ignore is not None:
                mask = mask & ~ignore
            if not mask.any():
                absent += 1
                continue
            rater = row.rater_id if row.rater_id is not None else -1
            pairs.append(Pair(g.id, word, occurrence, {rater: mask}, coco80_decision(prompt.provenance, word), ignore))
    return pairs, absent, no_truth


def score_real_image(store: db.Store, workspace, run: db.Run, pipe=None, config=None) -> tuple[list, list[str]]:
    """mIoU-all and mIoU80 with intervals and n for every method stored on the run."""
    workspace = Path(workspace)
    check_study(run, STUDY)
    pairs, absent, no_truth = collect_truth_pairs(store, run)
    if not pairs:
        return [], [f"real images of run {run.name!r}: no dataset truth stored for its finished images"]
    scored = score_methods(store, workspace, run, pairs, {"truth": TRUTH_SOURCE}, study=STUDY)
    n_images = len({p.generation_id for p in pairs})
    methods = ", ".join(["daam", *scored.baselines])
    notes = [
        f"real images of run {run.name!r}: {len(pairs)} word masks in {n_images} images (dataset truth); "
        f"methods: {methods}",
        *scored.notes,
    ]
    notes += count_note("words", absent, "name a class absent from their image (empty truth) and are not scored")
    notes += count_note("words", no_truth, "name no class of the dataset (no truth) and are not scored")
    notes += count_note(
        "words", int(np.isnan(scored.curves).all(axis=1).sum()), "have no DAAM map and are not scored by DAAM"
    )
    return store_scores(store, run, scored.scores), notes + scored.trailing_notes
