"""Visuosyntactic analysis (paper 4, table 2): overlap of head and dependent DAAM maps.

Each item of the syntax split is one head-dependent pair of a caption; its generation's maps of
the two words (occurrences from provenance), binarised at tau 0.4, give one pair's IoU, IoD and
IoH, pooled per relation into mIoU, mIoD, mIoH and mIoD - mIoH. Needs no humans.

The two baselines are computed once per generated caption image (items of a caption share the
prompt text and seed, so their images are one): "baseline:all-arcs" pools every arc of the
caption (provenance ``arcs``, word indices), "baseline:unrelated" every pair of traced words
joined by no arc, in random orientation. Toy-world relation prompts (``shapes-relation``) carry
one arc and no parse, so they get relation rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import db
from benchmark.metrics import (
    Arc,
    OverlapAccumulator,
    ParsedMaps,
    arc_pairs,
    pair_overlap,
    unrelated_pairs,
)
from benchmark.metrics.syntax import summarise_overlaps
from benchmark.scorers.common import (
    DAAM,
    TAU,
    DaamMaps,
    ScoringError,
    check_study,
    count_note,
    done_generations,
    provenance_field,
    score,
    store_scores,
    word_mask,
)
from benchmark.stats import DEFAULT_SEED

STUDY = "syntax"
METHOD = f"{DAAM}@{TAU}"
UNRELATED_SUBSET, ALL_ARCS_SUBSET = "baseline:unrelated", "baseline:all-arcs"


@dataclass(frozen=True)
class HeadDependent:
    relation: str
    head: tuple[str, int]  # (word, occurrence)
    dependent: tuple[str, int]
    rank: int | None  # the relation's frequency rank in the split, where the split records it


def _word(prompt: db.Prompt, role: str) -> tuple[str, int]:
    value = provenance_field(prompt, role)
    if isinstance(value, dict) and isinstance(value.get("text"), str) and isinstance(value.get("occurrence"), int):
        return value["text"], value["occurrence"]
    raise ScoringError(f"prompt {prompt.key!r}: provenance {role!r} must be {{text, occurrence, ...}}, got {value!r}")


def head_dependent(prompt: db.Prompt) -> HeadDependent:
    """The pair an item asks about, from the syntax split's or the toy relation split's provenance."""
    p = prompt.provenance
    if isinstance(p.get("head"), str) and isinstance(p.get("dependent"), str):  # toy: shape words, head first
        head, dep = p["head"], p["dependent"]
        relation = provenance_field(prompt, "dependency")
        return HeadDependent(str(relation), (head, 0), (dep, int(head.lower() == dep.lower())), None)
    rank = p.get("relation_rank")
    return HeadDependent(
        str(provenance_field(prompt, "relation")),
        _word(prompt, "head"),
        _word(prompt, "dependent"),
        rank if isinstance(rank, int) else None,
    )


def _arcs(prompt: db.Prompt) -> list[Arc] | None:
    raw = prompt.provenance.get("arcs")
    if raw is None:
        return None
    try:
        return [Arc(dependent=int(d), head=int(h), relation=str(r)) for h, d, r in raw]
    except (TypeError, ValueError):
        raise ScoringError(
            f"prompt {prompt.key!r}: provenance arcs must be [head, dependent, relation] triples, got {raw!r}"
        ) from None


def _all_word_masks(maps) -> dict[int, np.ndarray]:
    """Every traced word's binary map, by its index among the prompt's words."""
    return {w.index: word_mask(maps, w.text, w.occurrence) for w in maps.prompt_words()}


def score_syntax(store: db.Store, workspace, run: db.Run, pipe=None, config=None) -> tuple[list[dict], list[str]]:
    """Table 2 for one run: per relation and for both baselines, mIoU, mIoD, mIoH, mIoD - mIoH."""
    check_study(run, STUDY)
    maps_of = DaamMaps(store, Path(workspace))
    relations = OverlapAccumulator()
    ranks: dict[str, int] = {}
    every_arc, unrelated = [], []
    rng = np.random.default_rng(DEFAULT_SEED)
    seen_images: set[tuple[str, int | None, int]] = set()
    no_maps = untraced = no_parse = 0
    for g, prompt in done_generations(store, run):
        pair = head_dependent(prompt)
        maps = maps_of.get(g.id)
        if maps is None:
            no_maps += 1
            continue
        dep, head = word_mask(maps, *pair.dependent), word_mask(maps, *pair.head)
        if dep is None or head is None:
            untraced += 1
        else:
            relations.update(pair.relation, dep, head)
            if pair.rank is not None:
                ranks[pair.relation] = pair.rank
        image = (prompt.text, g.seed, g.image_index)
        if image in seen_images:
            continue
        seen_images.add(image)
        arcs = _arcs(prompt)
        if arcs is None:
            no_parse += 1
            continue
        parsed = ParsedMaps(_all_word_masks(maps), arcs)
        every_arc += [pair_overlap(d, h, f"{rel} maps") for rel, d, h in arc_pairs(parsed)]
        unrelated += [
            pair_overlap(parsed.mask(a), parsed.mask(b), "unrelated word maps")
            for a, b in unrelated_pairs(parsed.indices, parsed.arcs, rng)
        ]
    rows = relations.compute()
    if every_arc:
        rows[ALL_ARCS_SUBSET] = summarise_overlaps(every_arc, ALL_ARCS_SUBSET)
    if unrelated:
        rows[UNRELATED_SUBSET] = summarise_overlaps(unrelated, UNRELATED_SUBSET)
    scores = []
    for subset, row in rows.items():
        details = {"tau": TAU, "n_pairs": row.n_pairs}
        if subset in ranks:
            details["relation_rank"] = ranks[subset]
        for metric, estimate in (("mIoU", row.miou), ("mIoD", row.miod), ("mIoH", row.mioh), ("mIoD-mIoH", row.delta)):
            scores.append(score(STUDY, METHOD, metric, subset, estimate, details))
    n_pairs = sum(len(c) for c in relations.counts.values())
    notes = [
        (
            f"syntax of run {run.name!r}: {n_pairs} head-dependent pairs over {len(relations.counts)} "
            f"relations; baselines: {len(every_arc)} arcs, {len(unrelated)} unrelated pairs in "
            f"{len(seen_images)} images"
        )
    ]
    notes += count_note("generations", no_maps, "have no DAAM maps and are not scored")
    notes += count_note("pairs", untraced, "name a word the text encoder cut off and are not scored")
    notes += count_note("images", no_parse, "carry no dependency arcs (toy prompts): no baselines for them")
    return store_scores(store, run, scores), notes
