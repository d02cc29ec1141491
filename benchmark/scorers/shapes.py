"""Scoring the toy world without humans.

Two paths, both against exact ground truth:
* generated images: the automatic annotator finds each requested object (stored as masks with
  source "automatic"); DAAM's word maps are scored against them, and generation accuracy is the
  share of images showing every requested object (the analogue of the paper's cohyponym study);
* real renders: the exact scene of each prompt is rendered, noised and denoised through the
  model (img2img) while tracing, and DAAM is scored against the renderer's exact masks. This is
  attribution of an existing image.
* open vocabulary on real renders: each render of two or more objects is attributed a second time
  with a caption that leaves one object out (``world.without_object``) and that object's shape and
  colour words as vocabulary entries (``daam.attribute(..., vocabulary=...)``, OVAM). Their maps
  are scored against the left-out object's exact mask ("vocab-render@tau" on "render-absent/...");
  the control is the same words as vocabulary entries under the full caption ("render-present/...")
  beside the prompt's own maps of them ("daam-render@tau" on "render-present/..."), same objects.
Trivial references (whole image, a centred disc as large as the mean object) are scored the
same way, so DAAM's numbers have a floor to beat.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.metrics.overlap import iou as _iou
from benchmark.metrics.segmentation import PAPER_TAUS, SWEEP_TAUS, iou_by_tau, tau_curve
from benchmark.results import ABSENT_SUBSET, PRESENT_SUBSET, ScoreRecord
from benchmark.toy.accuracy import Outcome, accuracy_by_subset
from benchmark.toy.accuracy import word_kind as _word_kind
from core.thresholds import BEST_TAU

STUDY = "shapes"
RENDER_STRENGTH = 0.6  # how far real renders are noised before denoising (img2img strength)
RENDER_LIMIT = 64  # real renders scored per run (each is one img2img generation)
N_EXAMPLES = 5  # best and worst generated (word, image) pairs kept for the report's gallery
VOCAB_METHOD = "vocab-render"  # open-vocabulary (OVAM) maps on real renders, scored as "vocab-render@tau"


def _score_pairs(
    pairs: list[dict],
    method_prefix: str,
    subset_prefix: str = "",
    *,
    groups: bool = True,
    references: bool = True,
) -> list[ScoreRecord]:
    """mIoU per method and subset from per-(word, image) records with soft DAAM maps.

    Subsets are the word kind and, with ``groups``, held-out/seen and the object count.
    ``references``: also score the whole image and the centre disc on the same pairs (leave them
    out when another call already scores them on these pairs and subsets).
    """
    from baselines.trivial import CentreDisc
    from benchmark.metrics.segmentation import mean_iou
    from benchmark.scorers.common import ranked_examples

    if not pairs:
        return []
    area = float(np.mean([p["truth"].mean() for p in pairs if p["kind"] == "shape"] or [0.1]))
    disc_model = CentreDisc.for_mean_area(max(area, 1e-3))
    by: dict[tuple[str, str], list[float]] = defaultdict(list)
    sweep: dict[str, list[np.ndarray]] = defaultdict(list)
    examples: dict[str, list[dict]] = defaultdict(list)  # kind -> generated pairs at the best tau
    for p in pairs:
        truth = p["truth"]
        h, w = truth.shape
        subsets = [p["kind"]]
        if groups:
            subsets += [f"{p['kind']}/{'held-out' if p['held_out'] else 'seen'}", f"{p['kind']}/{p['n']}-object"]
        curve = iou_by_tau(p["soft"], truth, SWEEP_TAUS)
        sweep[p["kind"]].append(curve)
        disc = disc_model.predict(np.zeros((h, w, 3), np.uint8), "", ["x"]).maps["x"] > 0.5
        for sub in subsets:
            for tau in PAPER_TAUS:
                by[(f"{method_prefix}@{tau}", sub)].append(_iou(p["soft"] >= tau, truth))
            if references:  # per path, on the path's own pairs
                by[("whole-image", sub)].append(_iou(np.ones_like(truth), truth))
                by[("centre-disc", sub)].append(_iou(disc, truth))
        if "generation_id" in p:  # generated images only: a render has no stored image or maps
            examples[p["kind"]].append(
                {
                    "generation_id": p["generation_id"],
                    "word": p["word"],
                    "occurrence": p["occurrence"],
                    "iou": float(_iou(p["soft"] >= BEST_TAU, truth)),
                }
            )
    scores = []
    for (method, sub), values in sorted(by.items()):
        est = mean_iou(values, n_resamples=1000)
        details = {"disc_radius": disc_model.radius} if method == "centre-disc" else {}
        if method == f"{method_prefix}@{BEST_TAU}" and examples.get(sub):  # one gallery per word kind
            details["examples"] = ranked_examples(examples[sub], "iou", N_EXAMPLES)
        scores.append(
            ScoreRecord(
                STUDY,
                method,
                "mIoU",
                subset_prefix + sub,
                est.value,
                est.ci_low,
                est.ci_high,
                est.n,
                details,
            )
        )
    for kind, curves in sweep.items():
        arr = np.nanmean(np.stack(curves), 0)
        best = int(np.nanargmax(arr))
        # per-tau intervals (bootstrap over pairs), so the report can draw the sweep's band
        estimates = tau_curve(np.stack(curves), SWEEP_TAUS).estimates
        scores.append(
            ScoreRecord(
                STUDY,
                method_prefix,
                "mIoU-sweep",
                subset_prefix + kind,
                float(arr[best]),
                estimates[best].ci_low,
                estimates[best].ci_high,
                len(curves),
                {
                    "taus": list(SWEEP_TAUS),
                    "miou": [float(x) for x in arr],
                    "ci_low": [e.ci_low for e in estimates],
                    "ci_high": [e.ci_high for e in estimates],
                    "best_tau": SWEEP_TAUS[best],
                },
            )
        )
    return scores


def _accuracy(outcomes: list[Outcome]) -> list[ScoreRecord]:
    return [
        ScoreRecord(STUDY, "model", "generation-accuracy", sub, est.value, est.ci_low, est.ci_high, est.n)
        for sub, est in accuracy_by_subset(outcomes).items()
    ]


def score_shapes(store, workspace, run, pipe=None, config=None) -> tuple[list[ScoreRecord], list[str]]:
    from PIL import Image
    from tqdm import tqdm

    import daam
    from benchmark.toy.annotate import annotate
    from benchmark.toy.splits import scene_from_provenance

    workspace = Path(workspace)
    pairs, accuracy, notes = [], [], []
    missing = 0
    quiet = config is not None and not getattr(config, "progress", True)
    for g in tqdm(store.generations(run.id, "done"), desc=f"scoring {run.name}", unit="img", disable=quiet):
        prompt = store.get_prompt(g.prompt_id)
        scene = scene_from_provenance(prompt.provenance)
        image = np.asarray(Image.open(workspace / g.image_path).convert("RGB"))
        found = annotate(image, scene.words())
        held_out = bool(prompt.provenance.get("held_out", False))
        accuracy.append(Outcome(found.all_present, len(scene.objects), held_out))
        stored = {(m.word, m.occurrence) for m in store.masks(g.id, source="automatic")}
        maps_rows = store.word_maps(g.id)
        if not maps_rows:
            continue
        maps = daam.load(workspace / maps_rows[0].path)
        for word, occurrence, mask in found.word_masks():
            if (word, occurrence) not in stored:
                store.add_mask(g.id, word, occurrence, mask, source="automatic")
            soft = maps.word_map(word, occurrence).soft.numpy()
            pairs.append(
                {
                    "soft": soft,
                    "truth": mask,
                    "kind": _word_kind(word),
                    "held_out": held_out,
                    "n": len(scene.objects),
                    "generation_id": g.id,
                    "word": word,
                    "occurrence": occurrence,
                }
            )
        missing += sum(not o.present for o in found.objects)
    if missing:
        notes.append(f"{missing} requested object(s) were not generated: their words have no mask and are not scored")
    scores = _accuracy(accuracy) + _score_pairs(pairs, "daam")
    if pipe is not None and config is not None:
        model = pipe if hasattr(pipe, "components") else pipe()  # a pipeline or a loader of one
        rendered = _render_pairs(store, run, model, config)
        from benchmark.metrics.ablation import ablation_scores

        shape = [p["ablation"] for p in rendered.pairs if p["kind"] == "shape"]
        scores += _score_pairs(rendered.pairs, "daam-render", "render/") + ablation_scores(
            shape, STUDY, "daam-render", "render/shape/"
        )
        scores += _score_pairs(rendered.absent, VOCAB_METHOD, ABSENT_SUBSET, groups=False)
        scores += _score_pairs(rendered.present, VOCAB_METHOD, PRESENT_SUBSET, groups=False)
        scores += _score_pairs(rendered.present_prompt, "daam-render", PRESENT_SUBSET, groups=False, references=False)
        notes += rendered.notes
    from benchmark.scorers.common import store_scores

    return store_scores(store, run, scores), notes


@dataclass
class RenderedPairs:
    """Per-(word, render) records of the real-render path, one list per scored comparison."""

    pairs: list[dict] = field(default_factory=list)  # the prompt's own maps, every render
    # renders of two or more objects, one object left out of the second caption (the same object in all three):
    absent: list[dict] = field(default_factory=list)  # vocabulary maps of its words, caption without it
    present: list[dict] = field(default_factory=list)  # vocabulary maps of its words, full caption
    present_prompt: list[dict] = field(default_factory=list)  # the prompt's own maps of its words, full caption
    notes: list[str] = field(default_factory=list)


def left_out(scene, k: int):
    """What the ``k``-th multi-object render leaves out of its second caption: the object's index
    (in turn, so first, second and third objects, both list positions and both relation roles, are
    all left out), the scene without it (``world.without_object``) and the object's words that
    caption does not name, shape first: its absent words (a word another object shares stays named)."""
    from benchmark.toy.world import without_object

    omit = k % len(scene.objects)
    rest = without_object(scene, omit)
    named = {w for pair in rest.words() for w in pair}
    obj = scene.objects[omit]
    return omit, rest, [w for w in (obj.shape, obj.colour) if w not in named]


def _render_pairs(store, run, pipe, config) -> RenderedPairs:
    """DAAM on real renders noised and denoised through the model, against exact masks; and open-
    vocabulary maps of an object's words with and without them in the caption (module docstring)."""
    from PIL import Image
    from tqdm import tqdm

    import daam
    from benchmark.metrics.ablation import ablation_ious
    from benchmark.pipelines import quiet_loading
    from benchmark.toy.splits import scene_from_provenance
    from benchmark.toy.world import render

    # one img2img pipeline on the model's components for all renders (no safety checker)
    with quiet_loading():  # building img2img imports pipelines whose notices a user cannot act on
        i2i = daam.img2img_pipeline(pipe)
    i2i.set_progress_bar_config(disable=True)
    seen, todo = set(), []
    for g in store.generations(run.id, "done"):
        if g.prompt_id in seen or len(seen) >= RENDER_LIMIT:
            continue
        seen.add(g.prompt_id)
        todo.append(g)
    out = RenderedPairs()
    still_named = 0  # left-out words another object of the scene still names (not absent: not scored)
    multi = 0
    quiet = not getattr(config, "progress", True)
    for g in tqdm(todo, desc=f"tracing real renders of {run.name}", unit="img", disable=quiet):
        prompt = store.get_prompt(g.prompt_id)
        scene = scene_from_provenance(prompt.provenance)
        image, masks = render(scene)
        n = len(scene.objects)
        omit, rest, absent = left_out(scene, multi) if n >= 2 else (None, None, [])
        multi += n >= 2
        still_named += 2 * (omit is not None) - len(absent)
        vocabulary = absent or None  # the same entries in both calls
        common = dict(
            strength=RENDER_STRENGTH,
            steps=config.steps,
            guidance_scale=config.guidance,
            seed=int(g.seed or 0),
        )
        picture = Image.fromarray(image)
        held_out = bool(prompt.provenance.get("held_out", False))
        # keep_steps: per-step sums (by resolution) for the ablation; the vocabulary changes neither
        # the image nor the prompt words' maps (it is only observed beside them)
        maps = daam.attribute(i2i, picture, scene.caption, keep_steps=True, vocabulary=vocabulary, **common)
        counts: dict[str, int] = defaultdict(int)
        for i, (obj, mask) in enumerate(zip(scene.objects, masks)):
            for word in (obj.colour, obj.shape):
                occ = counts[word]
                counts[word] += 1
                if not mask.any():
                    continue
                base = {"truth": mask, "kind": _word_kind(word), "n": n, "held_out": held_out}
                soft = maps.word_map(word, occ, source="prompt").soft.numpy()
                out.pairs.append(
                    {**base, "soft": soft, "ablation": ablation_ious(maps, word, occ, [mask], source="prompt")}
                )
                if i == omit and word in absent:  # the absent path's pairs, under the full caption
                    out.present_prompt.append({**base, "soft": soft})
                    out.present.append({**base, "soft": maps.word_map(word, source="vocabulary").soft.numpy()})
        if not absent or not masks[omit].any():
            continue
        absent_maps = daam.attribute(i2i, picture, rest.caption, vocabulary=absent, **common)
        for word in absent:
            out.absent.append(
                {
                    "soft": absent_maps.word_map(word, source="vocabulary").soft.numpy(),
                    "truth": masks[omit],
                    "kind": _word_kind(word),
                    "n": n,
                    "held_out": held_out,
                }
            )
    if still_named:
        out.notes.append(
            f"{still_named} left-out word(s) are also another object's word in their scene: not absent from "
            "the caption, so not scored as absent vocabulary"
        )
    return out
