"""Cohyponym entanglement (paper 5.1, figure 6): "a(n) X and a(n) Y", cohyponyms or not.

Always (no humans needed): the IoU of the two nouns' DAAM maps at tau 0.4, averaged per
cohyponymy ("mIoU", method "daam@0.4"). A noun's map is its head word's ("dog" of "hot dog").

Once presence judgements are stored: an image is correct when both prompt nouns are among its
label, the two nouns the raters picked most (ties to the earlier submission). Then generation
accuracy per group with Fisher's exact test between them ("fisher-p", odds ratio in details),
mIoU per cohyponymy x correctness cell, accuracy per overlap bucket (<=0.4, 0.4-0.6, >=0.6;
also per group), and the raters' agreement (nominal alpha over image x noun units).
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

import db
from benchmark.metrics import (
    accuracy_by_overlap,
    consensus_objects,
    generation_accuracy,
    generation_correct,
    iou,
    mean_iou,
    miou_by_group,
)
from benchmark.scorers.common import (
    DAAM,
    TAU,
    DaamMaps,
    ScoringError,
    check_study,
    count_note,
    current_annotations,
    done_generations,
    provenance_field,
    score,
    store_scores,
    value_score,
    word_mask,
)
from benchmark.stats import krippendorff_alpha

STUDY = "cohyponym"
METHOD = f"{DAAM}@{TAU}"
MODEL = "model"  # scores of the generator itself (its accuracy), not of an attribution method
PRESENCE = "presence"


def head_words(text: str, nouns: list[str], words_for: dict[str, str]) -> list[tuple[str, int]]:
    """(word, occurrence) of each noun's head word in the prompt text.

    The first noun is found from the left, the second from the right, so "a hot dog and a dog"
    gives ("dog", 0) and ("dog", 1).
    """
    from daam.words import split_words

    words = split_words(text)
    found = [text.lower().find(nouns[0].lower()), text.lower().rfind(nouns[1].lower())]
    out = []
    for noun, start in zip(nouns, found):
        head = words_for.get(noun, noun.split()[-1])
        if start < 0:
            raise ScoringError(f"noun {noun!r} is not in the prompt {text!r}")
        at = start + len(noun) - len(head)
        before = [w for w, s, _ in words if s < at]
        out.append((head, sum(w.lower() == head.lower() for w in before)))
    return out


def _item(prompt: db.Prompt) -> tuple[list[str], bool, dict[str, str]]:
    nouns = provenance_field(prompt, "nouns")
    cohyponym = provenance_field(prompt, "cohyponym")
    if not (isinstance(nouns, list) and len(nouns) == 2 and all(isinstance(n, str) for n in nouns)):
        raise ScoringError(f"prompt {prompt.key!r}: provenance nouns must be two strings, got {nouns!r}")
    if not isinstance(cohyponym, bool):
        raise ScoringError(f"prompt {prompt.key!r}: provenance cohyponym must be true or false, got {cohyponym!r}")
    words_for = prompt.provenance.get("words_for") or {}
    return nouns, cohyponym, words_for if isinstance(words_for, dict) else {}


def _labels(store: db.Store, run: db.Run) -> dict[int, list[list[str]]]:
    """Each judged generation's presence picks, one list per rater in submission order."""
    picks: dict[int, list[list[str]]] = defaultdict(list)
    for a in current_annotations(store, PRESENCE, run):
        nouns = (a.parsed or {}).get("nouns")
        if not isinstance(nouns, list):
            raise ScoringError(f"presence annotation {a.external_id!r} has no parsed 'nouns' list: {a.parsed!r}")
        picks[a.generation_id].append([str(n) for n in nouns])
    return picks


def _agreement(store: db.Store, run: db.Run, nouns_of: dict[int, list[str]]) -> tuple[list[dict], list[str]]:
    """Nominal alpha over (image, noun) units: did each rater pick the noun."""
    from benchmark.splits.ontology import ontology

    annotations = current_annotations(store, PRESENCE, run)
    choices = list(ontology().nouns)
    choices += sorted({n for nouns in nouns_of.values() for n in nouns} - set(choices))
    raters = sorted({a.rater_id for a in annotations})
    images = sorted({a.generation_id for a in annotations})
    matrix = np.full((len(raters), len(images) * len(choices)), np.nan)
    for a in annotations:
        picked = set(a.parsed["nouns"])
        row, base = raters.index(a.rater_id), images.index(a.generation_id) * len(choices)
        matrix[row, base : base + len(choices)] = [float(c in picked) for c in choices]
    try:
        alpha = krippendorff_alpha(matrix, "nominal")
    except ValueError as exc:
        return [], [f"presence agreement not scored: {exc}"]
    pairable = int(((~np.isnan(matrix)).sum(axis=0) >= 2).sum())
    return [
        value_score(
            STUDY,
            "human",
            "krippendorff-alpha",
            PRESENCE,
            alpha,
            pairable,
            {"level": "nominal", "units": "image x noun", "n_raters": len(raters)},
        )
    ], []


def _judged_scores(ious: np.ndarray, cohyponym: np.ndarray, correct: np.ndarray) -> list[dict]:
    """Accuracy and Fisher's test over every judged image; overlap analyses over those with maps."""
    acc = generation_accuracy(list(cohyponym), list(correct))
    fisher = acc.fisher
    scores = [
        score(STUDY, MODEL, "generation-accuracy", "cohyponym", acc.cohyponym),
        score(STUDY, MODEL, "generation-accuracy", "non-cohyponym", acc.non_cohyponym),
        value_score(
            STUDY,
            MODEL,
            "fisher-p",
            "all",
            fisher.p_value,
            int(np.sum(fisher.table)),
            {
                "odds_ratio": fisher.odds_ratio if math.isfinite(fisher.odds_ratio) else None,
                "table": [list(r) for r in fisher.table],
                "rows": ["cohyponym", "non-cohyponym"],
                "columns": ["correct", "incorrect"],
                "alternative": fisher.alternative,
            },
        ),
    ]
    for subset, estimate in miou_by_group(ious, list(cohyponym), list(correct)).items():
        if "/" in subset:  # the per-group means over every image are stored already
            scores.append(score(STUDY, METHOD, "mIoU", subset, estimate, {"tau": TAU}))
    for subset, estimate in accuracy_by_overlap(ious, list(correct), list(cohyponym)).items():
        scores.append(
            score(
                STUDY,
                MODEL,
                "generation-accuracy",
                subset,
                estimate,
                {"overlap": f"IoU of the two nouns' maps at tau {TAU}"},
            )
        )
    return scores


def score_cohyponym(store: db.Store, workspace, run: db.Run, pipe=None, config=None) -> tuple[list[dict], list[str]]:
    """Overlap of the two nouns' maps by cohyponymy; with presence judgements, accuracy and tests."""
    check_study(run, STUDY)
    maps_of = DaamMaps(store, Path(workspace))
    picks = _labels(store, run)
    ious, coh, correct = [], [], []  # per image; IoU NaN where it has no maps
    nouns_of: dict[int, list[str]] = {}
    no_maps = untraced = 0
    for g, prompt in done_generations(store, run):
        nouns, cohyponym, words_for = _item(prompt)
        nouns_of[g.id] = nouns
        coh.append(cohyponym)
        correct.append(generation_correct(nouns, consensus_objects(picks[g.id])) if g.id in picks else None)
        maps = maps_of.get(g.id)
        masks = [] if maps is None else [word_mask(maps, w, o) for w, o in head_words(prompt.text, nouns, words_for)]
        no_maps += maps is None
        untraced += any(m is None for m in masks)
        ious.append(iou(*masks) if masks and all(m is not None for m in masks) else math.nan)
    ious_arr, coh_arr = np.array(ious, dtype=np.float64), np.array(coh, dtype=bool)
    scores = [
        score(STUDY, METHOD, "mIoU", name, mean_iou(ious_arr[coh_arr == flag]), {"tau": TAU})
        for name, flag in (("cohyponym", True), ("non-cohyponym", False))
    ]
    notes = [
        (
            f"cohyponym study of run {run.name!r}: {len(ious)} images, "
            f"{int((~np.isnan(ious_arr)).sum())} with an overlap of both nouns' maps"
        )
    ]
    judged = np.array([c is not None for c in correct], dtype=bool)
    if judged.any():
        ok = np.array([c for c in correct if c is not None], dtype=bool)
        scores += _judged_scores(ious_arr[judged], coh_arr[judged], ok)
        agreement, agreement_notes = _agreement(store, run, nouns_of)
        scores += agreement
        notes.append(f"{int(judged.sum())} images have presence judgements ({int(ok.sum())} correct)")
        notes += agreement_notes
    else:
        notes.append(
            "no presence judgements yet: generation accuracy follows `bench annotate pull` of the presence study"
        )
    notes += count_note("generations", no_maps, "have no DAAM maps and are not scored")
    notes += count_note("images", untraced, "name a noun the text encoder cut off and are not scored")
    return store_scores(store, run, scores), notes
