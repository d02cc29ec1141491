"""Generalised attribution (paper 3.2, figure 3): mean opinion score of DAAM maps per POS tag.

Raters judged the DAAM heat map of one word per image on the five-point scale. Following the
paper: excluded raters (failed attention checks) are dropped; an item is dropped when any rater
calls its word too abstract; an item's score is the median of its raters'; the MOS of a tag is
the mean over its items ("MOS"), beside the share of ratings fair or better
("share-fair-or-better"), both per tag and over all tags ("all"). Attention-check items
(punctuation) only serve to exclude raters. The raters' agreement is Krippendorff's ordinal
alpha over the ratings of the items ("krippendorff-alpha", method "human").
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

import db
from benchmark.metrics import LikertRating, mos_by_tag
from benchmark.scorers.common import (
    DAAM,
    ScoringError,
    check_study,
    count_note,
    current_annotations,
    score,
    store_scores,
    value_score,
)
from benchmark.stats import krippendorff_alpha

STUDY = "rating"
HUMAN = "human"
FLAGS = {"word_too_abstract": "too_abstract", "image_too_poor": "image_too_poor"}  # parsed -> metrics names


def _rating(a: db.Annotation, tag: str) -> LikertRating:
    parsed = a.parsed or {}
    rating, flag = parsed.get("rating"), parsed.get("flag")
    if flag is not None and flag not in FLAGS:
        raise ScoringError(f"rating annotation {a.external_id!r} has unknown flag {flag!r} (known: {', '.join(FLAGS)})")
    if (rating is None) == (flag is None):
        raise ScoringError(f"rating annotation {a.external_id!r} needs exactly one of a rating and a flag: {parsed!r}")
    return LikertRating(
        item=a.generation_id, rater=a.rater_id, tag=tag, score=rating, flag=None if flag is None else FLAGS[flag]
    )


def _items(store: db.Store, run: db.Run) -> tuple[list[LikertRating], int]:
    """Every counted rating of a non-check item (excluded raters included), and the checks skipped."""
    prompts: dict[int, db.Prompt] = {}
    ratings, checks = [], 0
    for a in current_annotations(store, STUDY, run, include_excluded=True):
        if a.prompt_id not in prompts:
            prompts[a.prompt_id] = store.get_prompt(a.prompt_id)
        prompt = prompts[a.prompt_id]
        if prompt.provenance.get("attention_check") or (a.parsed or {}).get("attention_check"):
            checks += 1
            continue
        tag = prompt.provenance.get("pos")
        if not isinstance(tag, str) or not tag:
            raise ScoringError(f"prompt {prompt.key!r} has no provenance 'pos' tag to group its ratings by")
        ratings.append(_rating(a, tag))
    return ratings, checks


def _agreement(ratings: list[LikertRating], excluded: set[int]) -> tuple[list[dict], list[str]]:
    cells = [(r.rater, r.item, r.score) for r in ratings if r.score is not None and r.rater not in excluded]
    raters = sorted({c[0] for c in cells})
    items = sorted({c[1] for c in cells})
    matrix = np.full((len(raters), len(items)), np.nan)
    for rater, item, value in cells:
        matrix[raters.index(rater), items.index(item)] = value
    try:
        alpha = krippendorff_alpha(matrix, "ordinal")
    except ValueError as exc:
        return [], [f"rating agreement not scored: {exc}"]
    pairable = int(((~np.isnan(matrix)).sum(axis=0) >= 2).sum())
    return [
        value_score(
            STUDY,
            HUMAN,
            "krippendorff-alpha",
            "all",
            alpha,
            pairable,
            {"level": "ordinal", "units": "word-image items", "n_raters": len(raters)},
        )
    ], []


def score_rating(store: db.Store, workspace, run: db.Run, pipe=None, config=None) -> tuple[list[dict], list[str]]:
    """Figure 3 for one run: MOS and share fair-or-better per POS tag, and the raters' agreement."""
    check_study(run, STUDY)
    ratings, checks = _items(store, run)
    if not ratings:
        return [], [
            (
                f"rating study of run {run.name!r}: no ratings stored yet; scores follow "
                "`bench annotate pull` of the rating study"
            )
        ]
    excluded = {r.id for r in store.raters() if r.excluded}
    summaries = mos_by_tag(ratings, excluded_raters=excluded)
    scores = []
    for tag, s in summaries.items():
        details = {"n_items_dropped": s.n_items_dropped}
        scores.append(score(STUDY, DAAM, "MOS", tag, s.mos, details))
        scores.append(score(STUDY, DAAM, "share-fair-or-better", tag, s.share_fair_or_better, details))
    agreement, notes = _agreement(ratings, excluded)
    scores += agreement
    kept = [r for r in ratings if r.rater not in excluded]
    by_rater: dict[int, int] = defaultdict(int)
    for r in ratings:
        by_rater[r.rater] += 1
    notes.insert(
        0,
        f"rating study of run {run.name!r}: {len(kept)} ratings of "
        f"{len({r.item for r in kept})} items by {len({r.rater for r in kept})} rater(s); "
        f"{summaries['all'].mos.n} items scored, {summaries['all'].n_items_dropped} dropped",
    )
    notes += count_note(
        "ratings", sum(n for rater, n in by_rater.items() if rater in excluded), "by excluded raters were left out"
    )
    notes += count_note("attention-check answers", checks, "served only to exclude raters")
    return store_scores(store, run, scores), notes
