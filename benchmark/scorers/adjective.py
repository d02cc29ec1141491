"""Adjectival entanglement (paper 5.2, figures 8-9): how far an adjective spreads beyond its noun.

Every variant of a group shares the seed prompt's generation seed, so its image keeps the seed
image's layout and only the adjective changes: each variant image is compared with its group's
seed image (variant 0, same image index). Colour adjectives with a hue give "colour-spill" (share
of background pixels whose target-hue weight rose) and "colour-gain" (mean rise); every other
adjective, and colours without a hue (white, black, grey...), gives "attribute-spill"
(background change over object change). Scores are the generator's ("model"), per group and
over all groups; each pair's numbers are in details.

The object is the noun's region in both images (their union, in case it moved): per image, its
human masks (union over non-excluded raters), else its automatic mask, else the noun's DAAM map
at tau 0.4. Details say which source each pair used.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import db
from benchmark.metrics import COLOUR_HUES, attribute_spill, colour_spill
from benchmark.scorers.common import (
    DAAM,
    TAU,
    DaamMaps,
    ScoringError,
    check_study,
    count_note,
    done_generations,
    excluded_raters,
    human_masks,
    load_image,
    provenance_field,
    score,
    store_scores,
    word_mask,
)
from benchmark.stats import mean_ci

STUDY = "adjective"
MODEL = "model"
ALL = "all"


@dataclass(frozen=True)
class Variant:
    """One prompt of a group: which adjective, which noun, and whether it names a colour."""

    group: str
    index: int  # 0 is the seed prompt
    adjective: str
    noun: str
    is_colour: bool


def variant_of(prompt: db.Prompt) -> Variant:
    """From the adjective split's provenance, or the toy colour split's (colour + shape)."""
    p = prompt.provenance
    index = provenance_field(prompt, "variant")
    if not isinstance(index, int) or index < 0:
        raise ScoringError(f"prompt {prompt.key!r}: provenance variant must be an integer >= 0, got {index!r}")
    group = str(provenance_field(prompt, "group"))
    if "colour" in p and "shape" in p:  # toy world: every variant is a colour
        return Variant(group, index, str(p["colour"]), str(p["shape"]), True)
    return Variant(
        group,
        index,
        str(provenance_field(prompt, "adjective")),
        str(provenance_field(prompt, "noun")),
        bool(p.get("is_colour", False)),
    )


class ObjectMasks:
    """The noun's region in one image, from the best source stored."""

    def __init__(self, store: db.Store, maps: DaamMaps):
        self.store, self.maps, self.excluded = store, maps, excluded_raters(store)

    def get(self, generation_id: int, noun: str) -> tuple[np.ndarray | None, str]:
        human = [
            m
            for (word, occ), by_rater in human_masks(self.store, generation_id, self.excluded).items()
            if word.lower() == noun.lower() and occ == 0
            for m in by_rater.values()
        ]
        if human:
            return np.logical_or.reduce(human), "human"
        automatic = [
            m
            for m in self.store.masks(generation_id, source="automatic", latest_only=True)
            if m.word.lower() == noun.lower() and m.occurrence == 0
        ]
        if automatic:
            return db.decode_mask(automatic[-1]), "automatic"
        found = self.maps.get(generation_id)
        mask = None if found is None else word_mask(found, noun, 0, TAU)
        return mask, f"{DAAM}@{TAU}"


def _pair_result(seed_image: np.ndarray, image: np.ndarray, mask: np.ndarray, v: Variant) -> dict:
    hue = COLOUR_HUES.get(v.adjective.lower()) if v.is_colour else None
    if hue is not None:
        c = colour_spill(seed_image, image, mask, hue)
        return {
            "kind": "colour",
            "colour_spill": c.spill_fraction,
            "colour_gain": c.background_gain,
            "object_gain": c.object_gain,
            "target_hue": c.target_hue,
        }
    a = attribute_spill(seed_image, image, mask)
    return {
        "kind": "attribute",
        "attribute_spill": a.ratio,
        "background_change": a.background_change,
        "object_change": a.object_change,
        "colour_without_hue": v.is_colour,
    }


def _finite_mean(values: list[float]):
    arr = np.asarray(values, dtype=np.float64)
    return mean_ci(arr[np.isfinite(arr)])


def _sources(pairs: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for p in pairs:
        counts[p["mask_source"]] += 1
    return dict(counts)


def _group_scores(subset: str, pairs: list[dict]) -> list[dict]:
    out = []
    colour = [p for p in pairs if p["kind"] == "colour"]
    attribute = [p for p in pairs if p["kind"] == "attribute"]
    if colour:
        details = {
            "mask_sources": _sources(colour),
            "pairs": colour,
            "mean_object_gain": float(np.mean([p["object_gain"] for p in colour])),
        }
        for metric, key in (("colour-spill", "colour_spill"), ("colour-gain", "colour_gain")):
            out.append(score(STUDY, MODEL, metric, subset, _finite_mean([p[key] for p in colour]), details))
    if attribute:
        ratios = [p["attribute_spill"] for p in attribute]
        details = {
            "mask_sources": _sources(attribute),
            "pairs": attribute,
            "n_undefined": sum(not math.isfinite(r) for r in ratios),
            "mean_background_change": float(np.mean([p["background_change"] for p in attribute])),
            "mean_object_change": float(np.mean([p["object_change"] for p in attribute])),
        }
        out.append(score(STUDY, MODEL, "attribute-spill", subset, _finite_mean(ratios), details))
    return out


def score_adjective(store: db.Store, workspace, run: db.Run, pipe=None, config=None) -> tuple[list[dict], list[str]]:
    """Colour and attribute spill of every variant image against its group's seed image."""
    workspace = Path(workspace)
    check_study(run, STUDY)
    objects = ObjectMasks(store, DaamMaps(store, workspace))
    items = [(g, variant_of(prompt)) for g, prompt in done_generations(store, run)]
    seeds = {(v.group, g.image_index): g for g, v in items if v.index == 0}
    pairs: dict[str, list[dict]] = defaultdict(list)
    no_seed = no_mask = 0
    unmeasurable: list[str] = []
    for g, v in items:
        if v.index == 0:
            continue
        seed = seeds.get((v.group, g.image_index))
        if seed is None:
            no_seed += 1
            continue
        masks = [objects.get(seed.id, v.noun), objects.get(g.id, v.noun)]
        if any(m is None or not m.any() for m, _ in masks):
            no_mask += 1
            continue
        seed_image, image = load_image(workspace, seed), load_image(workspace, g)
        mask = masks[0][0] | masks[1][0]
        if mask.shape != image.shape[:2] or seed_image.shape != image.shape:
            raise ScoringError(
                f"generation {g.id} ({image.shape[:2]}), its seed image {seed.id} "
                f"({seed_image.shape[:2]}) and the {v.noun!r} mask ({mask.shape}) differ in size"
            )
        try:
            measured = _pair_result(seed_image, image, mask, v)
        except ValueError as exc:  # e.g. the object (grown by the margin) covers the whole image
            unmeasurable.append(f"generation {g.id} ({v.adjective} {v.noun}): {exc}")
            continue
        pairs[v.group].append(
            {
                "generation_id": g.id,
                "seed_generation_id": seed.id,
                "group": v.group,
                "adjective": v.adjective,
                "noun": v.noun,
                "mask_source": "+".join(sorted({s for _, s in masks})),
                **measured,
            }
        )
    every = [p for group in pairs.values() for p in group]
    scores = _group_scores(ALL, every)
    for group, members in sorted(pairs.items()):
        scores += _group_scores(f"group:{group}", members)
    notes = [
        (
            f"adjective study of run {run.name!r}: {len(every)} variant images compared with their seed "
            f"image in {len(pairs)} groups"
        )
    ]
    notes += count_note("variant images", no_seed, "have no finished seed image and are not scored")
    notes += count_note(
        "variant images", no_mask, "have no (non-empty) mask or DAAM map of their noun and are not scored"
    )
    notes += [f"not scored: {why}" for why in unmeasurable]
    return store_scores(store, run, scores), notes
