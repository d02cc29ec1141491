"""The ``real-image`` generation mode: a dataset's own photograph instead of a generated image.

For each claimed item the runner loads its sample by key (the split's ``samples`` hook reads the
dataset from the paths on the run's config), resizes the photograph to the model's working size
(the longer side the run's, the aspect ratio kept, each side a multiple of the pipeline's
factor) and stores it as the generation's image. The run's generation method and every
generation-time method of ``--methods`` then attribute it through one img2img pipeline on the
model's components (``Method.attribute(i2i, image, prompt, words, strength=, steps=,
guidance_scale=, seed=)``; maps come at the image's size), each saving one maps file and its
word-map rows. The sample's truth masks, resized alike, are stored as one annotation of the
"dataset" rater with mask source "dataset" (void pixels, where a dataset has them, as the mask
of ``VOID_WORD``), so scoring reads truth from the store, never the dataset again.

Order within one item, for resumption: image file, then the generation row's path and size
(still claimed), then the truth annotation (idempotent), then each method's maps and rows, then
"done". A crash anywhere leaves the item claimed or failed, and its retry repeats it whole.
"""

from __future__ import annotations

from pathlib import Path

STUDY = "real-image"  # the study whose annotations hold the truth
TRUTH_SOURCE = "dataset"  # mask source and rater kind of a dataset's own masks
DATASET_RATER = "dataset"
VOID_WORD = "<void>"  # the truth mask of pixels that count for no class (VOC's border)


def model_side(pipe, config) -> int:
    """The longer side of the images the run works at: the run's size, else the model's default."""
    sides = [v for v in (config.height, config.width) if v is not None]
    if sides:
        return max(sides)
    default = getattr(pipe, "default_sample_size", None)
    if default is None and getattr(pipe, "unet", None) is not None:
        default = getattr(pipe.unet.config, "sample_size", None)
    factor = getattr(pipe, "vae_scale_factor", None)
    if isinstance(default, (list, tuple)):
        default = max(default)
    if not isinstance(default, int) or not isinstance(factor, int):
        raise ValueError("the model states no default image size: pass --height and --width")
    return default * factor


def generation_spec_of(config):
    from benchmark.splits import spec

    return spec(config.split)


def method_options(split_spec, name: str, method) -> dict:
    """The options the split's spec gives ``name`` (``method_options``), checked against the
    parameters of the method's ``attribute`` so a typo in the spec is an error naming it."""
    import inspect

    options = dict(split_spec.method_options.get(name, {}))
    # named parameters only: what ``**settings`` would swallow could fail late, deep in the method
    named = {
        p.name
        for p in inspect.signature(method.attribute).parameters.values()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    } - {"pipe", "image", "prompt", "words"}
    unknown = sorted(set(options) - named)
    if unknown:
        raise ValueError(
            f"split {split_spec.info.name!r} gives method {name!r} option(s) {unknown} that its attribute() "
            f"does not name (it takes {sorted(named) or 'none'}; benchmark/splits/data/splits.yaml, method_options)"
        )
    return options


def _setup(pipe, store, config, generation) -> dict:
    """What every item of the run shares: the img2img pipeline, the samples, the methods, the rater."""
    import baselines  # noqa: F401  (registers the methods)
    import daam
    from benchmark.pipelines import quiet_loading
    from benchmark.runner import generation_method, split_options
    from benchmark.validate import pipeline_factor
    from core.registry import BASELINES

    with quiet_loading():  # building img2img imports pipelines whose notices a user cannot act on
        i2i = daam.img2img_pipeline(pipe)
    i2i.set_progress_bar_config(disable=True)
    methods = [(config.generation_method, generation_method(config))]
    for name in config.methods:
        cls = BASELINES.get(name)
        if cls.stage == "generation" and name not in dict(methods):
            methods.append((name, cls))
    options = {name: method_options(generation_spec_of(config), name, cls) for name, cls in methods}
    return {
        "i2i": i2i,
        "samples": generation.hook("samples")(split_options(config)),
        "methods": methods,
        "options": options,
        "rater": store.get_or_create_rater(DATASET_RATER, kind=TRUTH_SOURCE),
        "side": model_side(pipe, config),
        "factor": pipeline_factor(pipe) or 8,
        "strength": config.real_image_strength(),
    }


def generate_real_image(pipe, store, run, config, batch, prompts, workspace: Path, state: dict, generation) -> None:
    """The ``real-image`` generation mode (see the module's docstring), one item at a time."""
    if "real-image" not in state:
        state["real-image"] = _setup(pipe, store, config, generation)
    shared = state["real-image"]
    for g in batch:
        _attribute_one(store, run, config, g, prompts[g.prompt_id], Path(workspace), shared)


def _attribute_one(store, run, config, g, prompt, workspace: Path, shared: dict) -> None:
    import numpy as np
    from PIL import Image

    from benchmark.runner import store_maps, write_image
    from benchmark.splits.real import fit_size, sample_truth

    key = prompt.provenance.get("sample")
    sample = shared["samples"].get(str(key))
    if sample is None:
        raise ValueError(
            f"prompt {prompt.key!r} names sample {key!r}, which the dataset given to this run does not hold "
            "(was it made from another version of the files?)"
        )
    pixels = np.asarray(sample.image())
    h, w = fit_size(pixels.shape[0], pixels.shape[1], shared["side"], shared["factor"])
    image = Image.fromarray(pixels)
    if image.size != (w, h):
        image = image.resize((w, h), Image.Resampling.LANCZOS)
    truth, ignore = sample_truth(sample, prompt.provenance, prompt.words, (h, w))
    fields = write_image(workspace, run, g, image)
    # path and size first: the truth masks are checked against the size
    store.record_generation(run.id, g.prompt_id, g.image_index, status="claimed", **fields)
    masks = dict(truth)
    if ignore is not None and ignore.any():
        masks[VOID_WORD] = ignore
    store.add_annotation_with_masks(
        STUDY,
        f"{TRUTH_SOURCE}-{g.id}",
        shared["rater"],
        {"split": run.split, "sample": str(key), "categories": dict(prompt.provenance.get("categories") or {})},
        masks,
        mask_source=TRUTH_SOURCE,
        generation_id=g.id,
        prompt_id=g.prompt_id,
        parsed={"words": sorted(truth), "void": VOID_WORD in masks},
    )
    settings = {
        "strength": shared["strength"],
        "steps": config.steps,
        "guidance_scale": config.guidance,
        "seed": int(g.seed or 0),
    }
    for name, method in shared["methods"]:
        own = name == config.generation_method
        # --keep-detail: the run's own method keeps per-step sums for the time-step ablation
        detail = {"keep_steps": True} if own and config.keep_detail else {}
        own_options = shared["options"].get(name, {})
        maps = method.attribute(
            shared["i2i"], image, prompt.text, list(prompt.words), **settings, **detail, **own_options
        )
        if detail:
            maps = maps.trim_detail()  # the prompt's own tokens only, as the plain mode keeps them
        store_maps(store, run, g, prompt, maps, workspace, name, "" if own else f".{name}", every_word=not own)
    store.record_generation(run.id, g.prompt_id, g.image_index, status="done")
