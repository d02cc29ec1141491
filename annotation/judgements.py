"""From stored annotations to the paper's judgements: item scores, exclusions, presence labels.

Rules (paper 3.2, A.2 and 5.1):
- a rater who does not call an attention-check word (punctuation) "too abstract" or the image
  "too poor" fails the check and is excluded, with the reason recorded;
- a rated item is dropped when any rater calls its word too abstract; otherwise its score is
  the median of its raters' ratings ("image too poor" answers carry no rating);
- a presence image's label is its two most picked nouns, ties broken by submission order; the
  generation is correct when both prompt nouns are in the label.
Only the newest version of each valid annotation counts, and excluded raters never do.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import db

LABEL_SIZE = 2  # "the top two most commonly picked nouns"


# ----------------------------------------------------------------------------- pure rules
@dataclass(frozen=True)
class ItemOutcome:
    score: float | None  # median rating, None when dropped
    dropped: str | None  # why the item has no score
    n_ratings: int


def item_score(responses: Sequence[dict[str, Any]]) -> ItemOutcome:
    """Median of the ratings; dropped when any rater calls the word too abstract."""
    if any(r.get("flag") == "word_too_abstract" for r in responses):
        return ItemOutcome(None, "a rater called the word too abstract", 0)
    ratings = [r["rating"] for r in responses if r.get("rating") is not None]
    if not ratings:
        reason = "no ratings" if not responses else "every rater called the image too poor"
        return ItemOutcome(None, reason, 0)
    return ItemOutcome(float(statistics.median(ratings)), None, len(ratings))


def passes_attention_check(response: dict[str, Any]) -> bool:
    """On a punctuation target the only attentive answers are the two 'cannot rate' options."""
    return response.get("flag") in ("word_too_abstract", "image_too_poor")


def presence_label(submissions: Sequence[Sequence[str]], size: int = LABEL_SIZE) -> tuple[str, ...]:
    """The ``size`` most picked nouns; ties go to the noun picked first (submission order).

    ``submissions`` are the raters' picks in the order they were submitted, each in the order
    the rater gave them.
    """
    counts: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    position = 0
    for picks in submissions:
        for noun in dict.fromkeys(picks):
            counts[noun] = counts.get(noun, 0) + 1
            first_seen.setdefault(noun, position)
            position += 1
    ranked = sorted(counts, key=lambda n: (-counts[n], first_seen[n]))
    return tuple(ranked[:size])


# ----------------------------------------------------------------------------- stored annotations
# Which annotations count is a store query (db.current_annotations), so the scorers read it without
# importing this package; re-exported here for the annotation commands.
current_annotations = db.current_annotations
submission_order = db.submission_order


def attention_failures(annotations: Iterable[db.Annotation]) -> dict[int, list[str]]:
    """Rater id -> why they failed attention checks (only attention-check items count)."""
    failures: dict[int, list[str]] = {}
    for a in annotations:
        parsed = a.parsed or {}
        if parsed.get("attention_check") and not passes_attention_check(parsed):
            failures.setdefault(a.rater_id, []).append(
                f"rated the punctuation target {parsed.get('target')!r} as "
                f"{parsed.get('choice')!r} (generation {a.generation_id})"
            )
    return failures


def apply_attention_checks(store: db.Store, run_name: str) -> list[db.Rater]:
    """Exclude every rater who failed an attention check of this run; returns the newly excluded."""
    current = current_annotations(store, "rating", run_name, include_excluded=True)
    raters = {r.id: r for r in store.raters()}
    excluded = []
    for rater_id, reasons in attention_failures(current).items():
        rater = raters[rater_id]
        if rater.excluded:
            continue
        reason = f"failed {len(reasons)} attention check(s) in run {run_name!r}: " + "; ".join(reasons)
        excluded.append(store.set_rater_excluded(rater.name, True, reason))
    return excluded


@dataclass(frozen=True)
class RatedItem:
    generation_id: int
    prompt_id: int
    word: str
    pos: str | None
    score: float | None
    dropped: str | None
    raters: tuple[str, ...]


def rating_results(store: db.Store, run_name: str) -> list[RatedItem]:
    """One entry per rated word-image pair of a run (attention checks left out)."""
    names = {r.id: r.name for r in store.raters()}
    by_generation: dict[int, list[db.Annotation]] = {}
    for a in current_annotations(store, "rating", run_name):
        if not (a.parsed or {}).get("attention_check"):
            by_generation.setdefault(a.generation_id, []).append(a)
    items = []
    for generation_id, group in sorted(by_generation.items()):
        outcome = item_score([a.parsed for a in group])
        prompt = store.get_prompt(group[0].prompt_id)
        items.append(
            RatedItem(
                generation_id,
                prompt.id,
                str(group[0].parsed.get("target")),
                prompt.provenance.get("pos"),
                outcome.score,
                outcome.dropped,
                tuple(names[a.rater_id] for a in group),
            )
        )
    return items


@dataclass(frozen=True)
class PresenceItem:
    generation_id: int
    prompt_nouns: tuple[str, ...]
    label: tuple[str, ...]
    correct: bool
    raters: tuple[str, ...]


def presence_results(store: db.Store, run_name: str) -> list[PresenceItem]:
    """The label and correctness of every judged cohyponym image of a run."""
    names = {r.id: r.name for r in store.raters()}
    by_generation: dict[int, list[db.Annotation]] = {}
    for a in current_annotations(store, "presence", run_name):
        by_generation.setdefault(a.generation_id, []).append(a)
    items = []
    for generation_id, group in sorted(by_generation.items()):
        label = presence_label([a.parsed["nouns"] for a in group])  # already in submission order
        nouns = tuple(group[0].parsed["prompt_nouns"])
        items.append(
            PresenceItem(generation_id, nouns, label, set(nouns) <= set(label), tuple(names[a.rater_id] for a in group))
        )
    return items
