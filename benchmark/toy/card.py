"""The toy model's model card: data, recipe, time, loss curve and measured metrics.

The prose is ``MODEL_CARD.template.md`` (``string.Template``); every number put into it comes from
a file or a database row: the training log and config, the shipped weights' configs, the world's
and the sampler's constants, and a scored run of the shipped weights. Given a second model (the
unsupervised variant), the card shows both side by side.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from benchmark.results import ScoreRecord
from benchmark.toy.accuracy import DAAM_TAU

TEMPLATE = Path(__file__).parent / "MODEL_CARD.template.md"
_DAAM = f"DAAM-{DAAM_TAU:g}"
_OVAM = f"OVAM-{DAAM_TAU:g}"  # DAAM's open-vocabulary maps (vocabulary=), binarised at the same tau

TARGETS = (
    ("generation accuracy, single objects", ("model", "generation-accuracy", "1-object"), ">= 0.9"),
    ("generation accuracy, pairs", ("model", "generation-accuracy", "2-object"), ">= 0.6"),
    (
        "... single objects, held-out combinations only",
        ("model", "generation-accuracy", "1-object/held-out"),
        "reported",
    ),
    ("... pairs, held-out combinations only", ("model", "generation-accuracy", "2-object/held-out"), "reported"),
    (
        f"{_DAAM} mIoU, shape word (generated images)",
        (f"daam@{DAAM_TAU}", "mIoU", "shape"),
        ">= 0.5 and >= 2x best trivial",
    ),
    (f"{_DAAM} mIoU, colour word (generated images)", (f"daam@{DAAM_TAU}", "mIoU", "colour"), "reported"),
    (f"{_DAAM} mIoU, shape word (real renders)", (f"daam-render@{DAAM_TAU}", "mIoU", "render/shape"), "reported"),
    ("whole image, shape word (generated)", ("whole-image", "mIoU", "shape"), "reference"),
    ("centre disc, shape word (generated)", ("centre-disc", "mIoU", "shape"), "reference"),
    ("whole image, shape word (real renders)", ("whole-image", "mIoU", "render/shape"), "reference"),
    ("centre disc, shape word (real renders)", ("centre-disc", "mIoU", "render/shape"), "reference"),
    # open vocabulary (benchmark.scorers.shapes): one object per multi-object render left out of the caption
    (
        f"{_OVAM} mIoU, shape word left out of the caption (real renders)",
        (f"vocab-render@{DAAM_TAU}", "mIoU", "render-absent/shape"),
        "reported",
    ),
    (
        f"{_OVAM} mIoU, the same shape words named in the caption",
        (f"vocab-render@{DAAM_TAU}", "mIoU", "render-present/shape"),
        "reported",
    ),
    (
        f"{_DAAM} mIoU, the same shape words, the prompt's own maps",
        (f"daam-render@{DAAM_TAU}", "mIoU", "render-present/shape"),
        "reported",
    ),
    ("whole image, the same shape words", ("whole-image", "mIoU", "render-absent/shape"), "reference"),
)


@dataclass(frozen=True)
class CardModel:
    """One model on the card: its training folder (logs, config), shipped weights and stored scores."""

    name: str
    train_dir: Path
    weights_dir: Path
    scores: Sequence[ScoreRecord] = field(default_factory=tuple)  # score dicts are read into records

    def __post_init__(self) -> None:
        object.__setattr__(self, "scores", tuple(_record(s) for s in self.scores))


def _record(s) -> ScoreRecord:
    if isinstance(s, ScoreRecord):
        return s
    names = ScoreRecord.__dataclass_fields__
    fields = {k: v for k, v in dict(s).items() if k in names}
    return ScoreRecord(**{"study": "shapes", **fields})  # the card's scores are the toy study's


MAX_LOG_GAP_S = 600  # longer gaps between log lines are pauses (a session ended), not training


def training_hours(unet_log: list[dict]) -> float:
    """Time spent training: the gaps between consecutive loss lines, pauses and restarts left out."""
    total = 0.0
    for a, b in zip(unet_log, unet_log[1:]):
        dt = b["time"] - a["time"]
        if b["step"] > a["step"] and 0 < dt < MAX_LOG_GAP_S:
            total += dt
    return total / 3600


def read_log(train_dir: Path) -> list[dict]:
    path = Path(train_dir) / "log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _accuracy_curve(records: list[dict]) -> list[tuple[int, dict[str, float]]]:
    """(step, {subset: accuracy}) at the shipped sampling settings on the published split (seed 0),
    the newest record per step, by step."""
    from benchmark.toy.model import SAMPLING_GUIDANCE, SAMPLING_STEPS

    by_step = {
        r["step"]: {k: v["value"] for k, v in r["accuracy"].items()}
        for r in records
        if r.get("guidance") == SAMPLING_GUIDANCE
        and r.get("sampling_steps") == SAMPLING_STEPS
        and r.get("seed", 0) == 0
    }
    return sorted(by_step.items())


def plot_curves(
    log: list[dict],
    out: Path,
    accuracy: list[dict] | None = None,
    others: Sequence[tuple[str, list[dict], list[dict]]] = (),
) -> Path:
    """Losses, attention sharpness and generation accuracy by step; ``others``: (name, log, accuracy)
    of further models, drawn dashed beside the first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

    from benchmark.toy.model import SAMPLING_GUIDANCE, SAMPLING_STEPS

    # constrained layout keeps the legends below the panels clear of the tick labels; colour says
    # what a line is, its style which model (solid: the first, dashed: the others)
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(13, 4.4), sharex=True, layout="constrained")
    names = ["", *(name for name, _, _ in others)]
    runs = [(log, accuracy or [], "-"), *((lg, acc or [], "--") for _, lg, acc in others)]
    for i, (run_log, run_accuracy, style) in enumerate(runs):
        first = i == 0
        unet = [r for r in run_log if r.get("phase") == "unet"]
        evals = [r for r in run_log if r.get("phase") == "eval"]
        losses = (
            ("diffusion", "diffusion (MSE)", "C0"),
            ("token", "token grounding", "C1"),
            ("pixel", "pixel BCE", "C2"),
        )
        for key, label, colour in losses if first else losses[:1]:  # a variant's grounding terms may be unweighted
            a.plot(
                [r["step"] for r in unet],
                [r[key] for r in unet],
                label=label if first else None,
                lw=1,
                ls=style,
                color=colour,
            )
        b.plot([r["step"] for r in evals], [r["sharpness"] for r in evals], marker="o", ms=3, ls=style, color="C0")
        curve = _accuracy_curve(run_accuracy)
        subsets = (("1-object", "single objects", "C0"), ("2-object", "pairs", "C1"), ("3-object", "triples", "C2"))
        for subset, label, colour in subsets:
            points = [(step, v) for step, by in curve for s, v in by.items() if s == subset]
            if points:
                c.plot(*zip(*points), marker="o", ms=4, label=label if first else None, ls=style, color=colour)
    a.set_yscale("log")
    a.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    a.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))  # 0.05, not 5x10^-2
    a.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: ""))
    a.set_ylabel("loss (log scale)")
    a.set_title("training losses")
    b.axhline(1.0, color="grey", lw=0.8, ls=":", label="flat (1)")
    if others:  # flat attention (~1) and sharp (~20) on one axis
        b.set_yscale("log")
        b.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        b.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        b.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: ""))
    b.set_ylabel("attention in object / object's area" + (" (log)" if others else ""))
    b.set_title("attention sharpness (1 = flat)")
    for target in (0.9, 0.6):
        c.axhline(target, color="grey", lw=0.8, ls=":", label="targets" if target == 0.9 else None)
    c.set_ylim(0, 1.03)  # a point at 1 stays whole
    c.set_ylabel("share of images correct")
    c.set_title(f"generation accuracy (guidance {SAMPLING_GUIDANCE:g}, {SAMPLING_STEPS} steps)")
    thousands = FuncFormatter(lambda x, _: f"{x / 1000:g}k" if x else "0")
    for ax in (a, b, c):
        ax.set_xlabel("training step")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.xaxis.set_major_formatter(thousands)  # "12k", not "12000" running into its neighbour
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2, frameon=False)
    if others:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color="black", ls="-", label=f"{names[0] or 'toy'} (solid)")]
        handles += [Line2D([], [], color="black", ls="--", label=f"{n} (dashed)") for n in names[1:]]
        fig.legend(handles=handles, loc="outside upper center", fontsize=9, frameon=False, ncol=len(handles))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def read_config(train_dir: Path) -> dict:
    """The run's recorded settings (config.json), over the defaults for fields it predates."""
    from dataclasses import asdict

    from benchmark.toy.recipe import TrainConfig

    return {**asdict(TrainConfig()), **json.loads((Path(train_dir) / "config.json").read_text())}


def architecture(weights_dir: Path) -> dict:
    """The Model section's facts, read from the shipped pipeline's own configs."""

    def read(part: str) -> dict:
        return json.loads((Path(weights_dir) / part / "config.json").read_text())

    unet, vae, text = read("unet"), read("vae"), read("text_encoder")
    latent = unet["sample_size"]
    cross = [f"{latent >> i}x{latent >> i}" for i, block in enumerate(unet["down_block_types"]) if "CrossAttn" in block]
    where = " and ".join(cross) + (" plus the mid block" if "CrossAttn" in (unet.get("mid_block_type") or "") else "")
    return {
        "size": vae["sample_size"],
        "vae_blocks": len(vae["block_out_channels"]),
        "latent_factor": vae["sample_size"] // latent,
        "latent_size": latent,
        "latent_channels": vae["latent_channels"],
        "unet_channels": str(tuple(unet["block_out_channels"])),
        "cross_attention": where,
        "text_layers": text["num_hidden_layers"] or "no",
        "text_width": text["hidden_size"],
        "vocab": f"{text['vocab_size']:,}",
    }


def machine_summary(log: list[dict], cfg: dict) -> str:
    """What the run trained on, from the ``machine`` lines train() logs at every (re)start."""
    seen: list[str] = []
    for r in log:
        if r.get("phase") != "machine":
            continue
        if r.get("device") == "cuda":
            text = f"a {r['gpu']} GPU" if r.get("gpu") else "a CUDA GPU"
        else:
            threads = r.get("threads")
            text = f"{threads} CPU thread{'s' if threads != 1 else ''}" + (
                f" ({r['cpu_count']}-core machine)" if r.get("cpu_count") else ""
            )
        if text not in seen:
            seen.append(text)
    if not seen:
        return f"device {cfg['device']!r} with {cfg['threads']} thread(s) (config.json; the machine was not logged)"
    return " and ".join(seen)


def _step(weights_dir: Path) -> int:
    path = Path(weights_dir) / "training_step.txt"
    return int(path.read_text()) if path.exists() else 0


def _training_lines(model: CardModel, prefix: str) -> list[str]:
    log = read_log(model.train_dir)
    cfg = read_config(model.train_dir)
    hours = training_hours([r for r in log if r.get("phase") == "unet"])
    evals = [r for r in log if r.get("phase") == "eval"]
    sharpness = ", ".join(f"{r['step']}: {r['sharpness']:.1f}" for r in evals[-6:])
    return [
        (
            f"- {prefix}{_step(model.weights_dir)} UNet steps of {cfg['steps']} planned, {hours:.1f} h of training "
            f"on {machine_summary(log, cfg)}"
        ),
        (
            f"- {prefix}attention sharpness (a word's attention mass inside its object / the object's area fraction; "
            f"1 = flat): {sharpness}"
        ),
    ]


def _row(cells: Sequence[str]) -> str:
    return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"


def _metrics_table(models: Sequence[CardModel]) -> str:
    if len(models) == 1:
        header = ["measure", "value", "95% CI", "target"]
    else:
        header = ["measure", *(c for m in models for c in (f"`{m.name}`", "95% CI")), "target"]
    lines = [_row(header), "|" + "---|" * len(header)]
    by = [{s.key: s for s in m.scores} for m in models]
    for label, key, target in TARGETS:
        cells = [label]
        for scores in by:
            s = scores.get(key)
            if s is None:
                cells += ["-", ""]
                continue
            ci = f"[{s.ci_low:.2f}, {s.ci_high:.2f}]" if s.has_interval() else ""
            cells += [f"{s.value:.3f}", f"{ci} n={s.n}"]
        lines.append(_row([*cells, target]))
    return "\n".join(lines)


def _checkpoint_table(records: list[dict]) -> list[str]:
    def cell(d: dict, k: str) -> str:
        return f"{d[k]['value']:.3f} (n={d[k]['n']})" if k in d else "-"

    rows = [
        (
            f"| step | guidance | sampling steps | split seed | single | pairs | pairs, held-out | triples | "
            f"{_DAAM} shape | {_DAAM} colour |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(records, key=lambda r: (r["step"], r.get("seed", 0), r["sampling_steps"], r["guidance"])):
        a, m = r["accuracy"], r.get("daam_miou", {})
        rows.append(
            f"| {r['step']} | {r['guidance']:g} | {r['sampling_steps']} | {r['seed']} | "
            f"{cell(a, '1-object')} | {cell(a, '2-object')} | "
            f"{cell(a, '2-object/held-out')} | {cell(a, '3-object')} | {cell(m, 'shape')} | "
            f"{cell(m, 'colour')} |"
        )
    return rows


def _checkpoints(models: Sequence[CardModel]) -> str:
    from benchmark.toy.evaluate import read_accuracy

    tables = [(m.name, read_accuracy(m.train_dir)) for m in models]
    if not any(records for _, records in tables):
        return ""
    lines = [
        "",
        "## Generation accuracy by checkpoint (`bench toy eval`)",
        "",
        "The first items of the `shapes` split generated from each checkpoint's EMA weights, judged",
        f"by the automatic annotator, with {_DAAM} mIoU of the words of the objects found. Rows on",
        "the split's seed 1 (other captions and seeds than the published metrics') show how the",
        "sampling settings were chosen.",
        "",
    ]
    for name, records in tables:
        if len(models) > 1:
            lines += [f"### `{name}`", ""]
        lines += [*(_checkpoint_table(records) if records else ["(no evaluations logged)"]), ""]
    return "\n".join(lines)


def _comparison(models: Sequence[CardModel]) -> str:
    """The paragraph naming the further columns and how their recipe differs (from config.json)."""
    if len(models) < 2:
        return ""
    from benchmark.toy.recipe import RECIPE_FIELDS
    from benchmark.toy.shipped import NAMED_MODELS

    base = read_config(models[0].train_dir)
    lines = [""]
    for m in models[1:]:
        cfg = read_config(m.train_dir)
        changes = ", ".join(f"{k} {cfg[k]}" for k in RECIPE_FIELDS if cfg[k] != base[k]) or "no recipe change"
        about = f": {NAMED_MODELS[m.name].about}" if m.name in NAMED_MODELS else ""
        lines.append(
            f"**Second column: `{m.name}`** (`{_shown(m.train_dir)}`){about}. Same data, architecture, VAE and "
            f"schedule as `{models[0].name}`; recipe differences: {changes}. Both are scored on the same "
            "items."
        )
    return "\n".join(lines) + "\n"


def _shown(path: Path) -> str:
    """A path as the card shows it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path(__file__).resolve().parents[2]))
    except ValueError:
        return str(path)


def render_model_card(models: Sequence[CardModel], curve_name: str) -> str:
    """The card's Markdown; the first model is the main one (recipe, architecture), the others are columns."""
    from benchmark.scorers.shapes import RENDER_STRENGTH
    from benchmark.toy.model import SAMPLING_GUIDANCE, SAMPLING_STEPS
    from benchmark.toy.world import (
        COLOURS,
        HELD_OUT,
        SHAPES,
        WORLD_VERSION,
        SceneSampler,
    )

    main = models[0]
    cfg = read_config(main.train_dir)
    sampler = SceneSampler()
    training = []
    for m in models:
        training += _training_lines(m, f"`{m.name}`: " if len(models) > 1 else "")
    facts = dict(
        **architecture(main.weights_dir),
        **cfg,
        comparison=_comparison(models),
        world_version=WORLD_VERSION,
        n_colours=len(COLOURS),
        colours=", ".join(COLOURS),
        n_shapes=len(SHAPES),
        shapes=", ".join(SHAPES),
        objects=f"{min(sampler.n_objects)}-{max(sampler.n_objects)}",
        texture=f"{sampler.texture_prob * 100:g}",
        held_out=", ".join(f"{c} {s}" for c, s in sorted(HELD_OUT)),
        sampling_steps=SAMPLING_STEPS,
        guidance=f"{SAMPLING_GUIDANCE:g}",
        training="\n".join(training),
        curves=f"../../docs/images/{curve_name}",
        metrics=_metrics_table(models),
        render_strength=RENDER_STRENGTH,
        checkpoints=_checkpoints(models),
    )
    return Template(TEMPLATE.read_text()).substitute(facts).rstrip("\n") + "\n"


def write_model_card(
    train_dir,
    weights_dir,
    scores: list[dict],
    out: Path,
    curve: Path,
    name: str = "toy",
    others: Sequence[CardModel] = (),
) -> Path:
    """Write the card for one model (``train_dir``, ``weights_dir``, its ``scores``) and the curves
    figure; ``others`` add columns (e.g. the unsupervised variant scored on the same items)."""
    from benchmark.toy.evaluate import read_accuracy

    models = [CardModel(name, Path(train_dir), Path(weights_dir), scores), *others]
    plot_curves(
        read_log(Path(train_dir)),
        curve,
        read_accuracy(train_dir),
        others=[(m.name, read_log(m.train_dir), read_accuracy(m.train_dir)) for m in others],
    )
    out.write_text(render_model_card(models, curve.name))
    return out
