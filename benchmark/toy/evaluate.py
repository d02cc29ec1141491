"""Generation accuracy and DAAM mIoU of a toy checkpoint: the training curve, the guidance choice.

``bench toy eval`` exports the EMA weights of the newest checkpoint (``state.pt``, written
atomically, so a training job can keep running), generates the `shapes` split at each guidance
scale asked for while tracing, asks the automatic annotator whether every requested object is
there, and scores each found object's word maps at tau ``DAAM_TAU`` (0.4) against its mask. No files, no
database: the cheap check that tells whether more training still helps.
Each result is appended to ``<train dir>/accuracy.jsonl``; the model card draws the curve.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ACCURACY_LOG = "accuracy.jsonl"


def accuracy_by_subset(
    pipe, items, guidance: float, steps: int, batch_size: int = 64, progress: bool = True
) -> tuple[dict[str, dict], dict[str, dict]]:
    """Generation accuracy per subset, and DAAM mIoU at ``DAAM_TAU`` per word kind, with 95% intervals.

    Accuracy is `bench run`'s rule (``benchmark.toy.accuracy``: the share of images showing every
    requested object, per subset, Wilson intervals). The images are traced, and each present
    object's colour and shape word maps are scored at ``DAAM_TAU`` against the annotator's mask
    (``shape``, ``colour``; bootstrap intervals): the cheap form of the `shapes` scores. Each item
    is generated from its own seed, so batching changes nothing.
    """
    import torch
    from tqdm import tqdm

    import daam
    from benchmark.metrics.overlap import iou
    from benchmark.metrics.segmentation import mean_iou
    from benchmark.toy import accuracy as rule
    from benchmark.toy.annotate import annotate
    from benchmark.toy.splits import scene_from_provenance

    outcomes: list[rule.Outcome] = []
    ious: dict[str, list[float]] = defaultdict(list)
    bar = tqdm(total=len(items), desc=f"guidance {guidance:g}", unit="img", disable=not progress)
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        generators = [torch.Generator().manual_seed(int(it.seed)) for it in chunk]
        with daam.trace(pipe) as tc:
            images = pipe(
                [it.text for it in chunk],
                num_inference_steps=steps,
                guidance_scale=guidance,
                generator=generators,
                output_type="np",
            ).images
        for it, image, maps in zip(chunk, images, tc.results()):
            scene = scene_from_provenance(it.provenance)
            found = annotate((image * 255).round().astype(np.uint8), scene.words())
            outcomes.append(rule.Outcome(found.all_present, len(scene.objects), bool(it.provenance.get("held_out"))))
            for word, occurrence, mask in found.word_masks():
                soft = maps.word_map(word, occurrence).soft.numpy()
                ious[rule.word_kind(word)].append(iou(soft >= rule.DAAM_TAU, mask))
        bar.update(len(chunk))
    bar.close()
    accuracy = {
        subset: {"value": est.value, "ci_low": est.ci_low, "ci_high": est.ci_high, "n": est.n}
        for subset, est in rule.accuracy_by_subset(outcomes).items()
    }
    miou = {}
    for kind, values in sorted(ious.items()):
        est = mean_iou(values, n_resamples=1000)
        miou[kind] = {"value": est.value, "ci_low": est.ci_low, "ci_high": est.ci_high, "n": est.n}
    return accuracy, miou


def evaluate_checkpoint(
    train_dir: str | Path,
    guidances=(5.0,),
    size: int | None = None,
    steps: int | Sequence[int] | None = None,
    seed: int = 0,
    progress: bool = True,
    weights: str | Path | None = None,
) -> list[dict]:
    """Accuracy of the newest checkpoint's EMA weights at each guidance and number of sampling steps;
    appended to accuracy.jsonl.

    ``seed`` is the `shapes` split's seed: tune sampling settings on another seed than the
    published scores' (0), so the reported numbers are not chosen on their own items.
    ``weights``: an exported pipeline folder (``bench toy export``, the shipped weights) to
    evaluate instead of the newest checkpoint; its ``training_step.txt`` names the step.
    """
    import torch

    from benchmark.pipelines import load_pipeline
    from benchmark.splits import build_split
    from benchmark.splits.base import SplitOptions
    from benchmark.toy.export import export
    from benchmark.toy.model import SAMPLING_STEPS

    train_dir = Path(train_dir)
    if weights is not None and not (Path(weights) / "training_step.txt").is_file():
        raise FileNotFoundError(f"{weights} is not an exported toy pipeline (no training_step.txt)")
    if weights is None and not (train_dir / "state.pt").is_file():
        raise FileNotFoundError(f"no training state in {train_dir} (expected state.pt): run `bench toy train` first")
    step_list = [steps] if isinstance(steps, int) else list(steps or [SAMPLING_STEPS])
    items = build_split("shapes", SplitOptions(seed=seed, size=size))
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(weights) if weights is not None else export(train_dir, Path(tmp) / "pipeline")
        step = int((weights / "training_step.txt").read_text())
        pipe = load_pipeline(str(weights), scheduler=None, device="cpu", dtype="fp32")
        pipe.set_progress_bar_config(disable=True)
        for n_steps in step_list:
            for guidance in guidances:
                started = time.time()
                with torch.inference_mode():
                    subsets, miou = accuracy_by_subset(pipe, items, float(guidance), n_steps, progress=progress)
                records.append(
                    append_accuracy(
                        train_dir,
                        step,
                        float(guidance),
                        n_steps,
                        len(items),
                        seed,
                        time.time() - started,
                        subsets,
                        miou,
                        by="bench toy eval",
                    )
                )
    return records


def append_accuracy(
    train_dir: str | Path,
    step: int,
    guidance: float,
    steps: int,
    split_size: int,
    seed: int,
    seconds: float,
    subsets: dict,
    miou: dict,
    by: str,
) -> dict:
    """Append one evaluation to ``<train_dir>/accuracy.jsonl`` and return it."""
    record = {
        "step": step,
        "guidance": guidance,
        "sampling_steps": steps,
        "split_size": split_size,
        "seed": seed,
        "seconds": round(seconds, 1),
        "by": by,
        "accuracy": subsets,
        "daam_miou": miou,
    }
    with open(Path(train_dir) / ACCURACY_LOG, "a") as f:
        f.write(json.dumps(record) + "\n")
    return record


def read_accuracy(train_dir: str | Path) -> list[dict]:
    path = Path(train_dir) / ACCURACY_LOG
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def format_records(records: list[dict]) -> str:
    """A plain table: step, guidance, then accuracy for single objects, pairs, triples and all."""
    cols = ("1-object", "2-object", "3-object", "2-object/held-out", "all")
    kinds = ("shape", "colour")
    lines = [
        "step    guidance  steps  seed  "
        + "  ".join(f"{c:>17}" for c in cols)
        + "  "
        + "  ".join(f"{'DAAM-0.4 ' + k:>17}" for k in kinds)
    ]
    for r in records:
        cells = []
        for c in cols:
            a = r["accuracy"].get(c)
            cells.append(f"{a['value']:.3f} (n={a['n']:>3})".rjust(17) if a else "-".rjust(17))
        for k in kinds:
            m = r.get("daam_miou", {}).get(k)
            cells.append(f"{m['value']:.3f} (n={m['n']:>3})".rjust(17) if m else "-".rjust(17))
        lines.append(f"{r['step']:<7} {r['guidance']:<9g} {r['sampling_steps']:<6} {r['seed']:<5} " + "  ".join(cells))
    return "\n".join(lines)
