"""Generalised attribution (paper 3.2, figure 3): mean opinion score per part-of-speech tag.

Raters judge how well a heat map reflects a word on a five-point scale (bad=1 .. excellent=5)
or flag the word as too abstract / the image as too poor. Following the paper: ratings of
excluded raters are dropped; an item (word-image pair) is dropped when any remaining rater
flags it too abstract; an item's score is the median of its raters' scores; the MOS of a tag is
the mean of its items' scores. The share fair-to-excellent counts individual ratings >= fair.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass

import numpy as np

from benchmark.stats import DEFAULT_RESAMPLES, DEFAULT_SEED, Estimate, mean_ci, ratio_ci

LIKERT: dict[str, int] = {"bad": 1, "poor": 2, "fair": 3, "good": 4, "excellent": 5}
FAIR = LIKERT["fair"]
TOO_ABSTRACT = "too_abstract"
IMAGE_TOO_POOR = "image_too_poor"
FLAGS = (TOO_ABSTRACT, IMAGE_TOO_POOR)
ALL_TAGS = "all"


@dataclass(frozen=True)
class LikertRating:
    """One rater's judgement of one item: a score 1-5, or a flag instead of a score."""

    item: Hashable
    rater: Hashable
    tag: str  # the word's part-of-speech tag
    score: int | None
    flag: str | None = None

    def __post_init__(self) -> None:
        if (self.score is None) == (self.flag is None):
            raise ValueError(f"rating of item {self.item!r} by {self.rater!r} needs exactly one of score and flag")
        if self.score is not None and (isinstance(self.score, bool) or self.score not in LIKERT.values()):
            raise ValueError(f"score must be an integer 1-5 (bad..excellent), got {self.score!r}")
        if self.flag is not None and self.flag not in FLAGS:
            raise ValueError(f"flag must be one of {FLAGS}, got {self.flag!r}")


@dataclass(frozen=True)
class ItemScore:
    """The kept ratings of one item reduced to its median."""

    item: Hashable
    tag: str
    median: float
    n_ratings: int
    n_fair_or_better: int


@dataclass(frozen=True)
class TagSummary:
    """MOS and share of ratings fair-to-excellent for one tag, intervals by bootstrap over items."""

    tag: str
    mos: Estimate
    share_fair_or_better: Estimate
    n_items_dropped: int  # flagged (see ``drop_flags``) or left without any score


def attention_failures(ratings: Iterable[LikertRating], check_items: Collection[Hashable]) -> set[Hashable]:
    """Raters who scored an attention-check item (e.g. a period) instead of flagging it.

    The paper removed workers who did not call punctuation too abstract or missing (A.2).
    """
    return {r.rater for r in ratings if r.item in check_items and r.flag is None}


def item_scores(
    ratings: Iterable[LikertRating],
    *,
    excluded_raters: Collection[Hashable] = (),
    drop_flags: Collection[str] = (TOO_ABSTRACT,),
) -> tuple[list[ItemScore], dict[str, int]]:
    """Per-item medians after exclusions, and per tag the number of items dropped."""
    unknown = set(drop_flags) - set(FLAGS)
    if unknown:
        raise ValueError(f"unknown flags in drop_flags: {sorted(unknown)} (known: {FLAGS})")
    by_item: dict[Hashable, list[LikertRating]] = defaultdict(list)
    for r in ratings:
        if r.rater not in excluded_raters:
            by_item[r.item].append(r)
    kept: list[ItemScore] = []
    dropped: dict[str, int] = defaultdict(int)
    for item, group in by_item.items():
        tags = {r.tag for r in group}
        if len(tags) != 1:
            raise ValueError(f"item {item!r} carries several tags: {sorted(tags)}")
        raters = [r.rater for r in group]
        if len(set(raters)) != len(raters):
            raise ValueError(f"item {item!r} has more than one rating from the same rater")
        tag = tags.pop()
        scores = [r.score for r in group if r.score is not None]
        if any(r.flag in drop_flags for r in group) or not scores:
            dropped[tag] += 1
            continue
        fair = sum(s >= FAIR for s in scores)
        kept.append(ItemScore(item, tag, float(np.median(scores)), len(scores), fair))
    return kept, dict(dropped)


def _summary(tag: str, items: list[ItemScore], dropped: int, n_resamples: int, rng) -> TagSummary:
    mos = mean_ci([i.median for i in items], n_resamples=n_resamples, rng=rng)
    if items:
        share = ratio_ci(
            [i.n_fair_or_better for i in items], [i.n_ratings for i in items], n_resamples=n_resamples, rng=rng
        )
    else:
        share = Estimate(float("nan"), None, None, 0)
    return TagSummary(tag, mos, share, dropped)


def mos_by_tag(
    ratings: Iterable[LikertRating],
    *,
    excluded_raters: Collection[Hashable] = (),
    drop_flags: Collection[str] = (TOO_ABSTRACT,),
    n_resamples: int = DEFAULT_RESAMPLES,
    rng: int | np.random.Generator = DEFAULT_SEED,
) -> dict[str, TagSummary]:
    """MOS (median over raters, then mean over items) and share >= fair, per tag and over all.

    ``n`` of ``mos`` counts items; the key ``"all"`` pools every tag.
    """
    items, dropped = item_scores(ratings, excluded_raters=excluded_raters, drop_flags=drop_flags)
    by_tag: dict[str, list[ItemScore]] = defaultdict(list)
    for i in items:
        by_tag[i.tag].append(i)
    tags = sorted(set(by_tag) | set(dropped))
    if ALL_TAGS in tags:
        raise ValueError(f"{ALL_TAGS!r} is reserved for the pooled summary; rename that tag")
    result = {t: _summary(t, by_tag.get(t, []), dropped.get(t, 0), n_resamples, rng) for t in tags}
    result[ALL_TAGS] = _summary(ALL_TAGS, items, sum(dropped.values()), n_resamples, rng)
    return result
