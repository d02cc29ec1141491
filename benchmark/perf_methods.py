"""``bench perf --methods``: what each attribution method costs beside plain generation.

One architecture at its real width (``benchmark.perf.build_arch``, random weights), the same
generation run plain and under each method in rotating order within one process (round r starts
with the r-th method), CPU time per run. Each method's cost is the median over rounds of its
time divided by the same round's plain time. Methods:

* ``daam``: ``daam.trace(pipe)``;
* ``daam-vocabulary``: ``daam.trace(pipe, vocabulary=VOCABULARY)`` (OVAM; four entries);
* ``conceptattention`` / ``conceptattention-cross``: ``daam.concept_attention(pipe, CONCEPTS,
  space="output" | "cross")`` (joint-attention DiTs only).

A method the architecture does not support is listed with the reason, not timed. Separately,
``daam.attribute`` (denoise mode: encode, noise to ``strength``, denoise while tracing) is timed
per image beside a plain generation of the same step count, and every method's trace state is
read after 1 and after 2 steps on the same architecture: per image it must not grow with steps.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import asdict, dataclass, field

VOCABULARY = ("hat", "wooden floor", "sky", "person")
CONCEPTS = ("dog", "cat", "car", "tree", "sky", "background")
METHODS = ("daam", "daam-vocabulary", "conceptattention", "conceptattention-cross")


@dataclass
class MethodCost:
    method: str
    cpu_s: list[float] = field(default_factory=list)
    ratio_median: float | None = None  # median over rounds of method / plain CPU time
    ratio_spread: tuple[float, float] | None = None
    state_bytes_by_steps: dict[int, int] = field(default_factory=dict)  # steps -> trace state per image
    image_unchanged: bool | None = None  # the output equals the plain run's, bit for bit
    max_abs_diff: float | None = None  # largest |output - plain output| over rounds (0 when bitwise equal)
    unsupported: str | None = None


@dataclass
class MethodsPerf:
    arch: str
    denoiser: str
    steps: int
    rounds: int
    threads: int
    plain_cpu_s: list[float]
    methods: list[MethodCost]
    # the plain runs against the first plain run: 0 when the machine's kernels are bitwise repeatable
    # (at large widths a BLAS may not be, e.g. with memory alignment; then compare methods to this)
    plain_max_abs_diff: float = 0.0
    attribute_cpu_s: list[float] = field(default_factory=list)  # daam.attribute per image
    attribute_plain_cpu_s: list[float] = field(default_factory=list)  # plain generation, same steps
    attribute_strength: float = 0.5
    attribute_steps: int = 0  # inference steps of the schedule (the plain run's too)
    attribute_image: tuple[int, int] | None = None  # (H, W) of the attributed image
    attribute_denoised_steps: int = 0
    attribute_error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _tracer(method: str, pipe):
    import daam

    if method == "plain":
        return contextlib.nullcontext()
    if method == "daam":
        return daam.trace(pipe)
    if method == "daam-vocabulary":
        return daam.trace(pipe, vocabulary=list(VOCABULARY))
    if method in ("conceptattention", "conceptattention-cross"):
        concept_attention = getattr(daam, "concept_attention", None)
        if concept_attention is None:
            raise NotImplementedError("this version of daam has no concept_attention")
        return concept_attention(pipe, list(CONCEPTS), space="cross" if method.endswith("-cross") else "output")
    raise ValueError(f"unknown method {method!r}; choose from plain, {', '.join(METHODS)}")


def _state(tc) -> int | None:
    nbytes = getattr(tc, "state_nbytes", None)
    return int(nbytes()) if callable(nbytes) else None


def measure_methods(
    arch: str = "sd2",
    methods=METHODS,
    steps: int = 1,
    rounds: int = 3,
    threads: int | None = None,
    depth: int = 1,
    strength: float = 0.5,
    progress=print,
    pipeline=None,
) -> MethodsPerf:
    """``pipeline``: an already built ``(pipe, call kwargs, description)`` instead of ``arch``'s (tests)."""
    import tempfile

    import numpy as np
    import torch

    import daam
    from benchmark.perf import build_arch

    if threads:
        torch.set_num_threads(threads)
    if pipeline is not None:
        pipe, kw, what = pipeline
    else:
        with tempfile.TemporaryDirectory() as tmp:
            pipe, kw, what, _, _ = build_arch(arch, tmp, depth)
    pipe.set_progress_bar_config(disable=True)
    kw = {**kw, "num_inference_steps": steps, "output_type": "latent"}
    costs = {m: MethodCost(m) for m in methods}
    plain: list[float] = []
    reference = None
    plain_drift = 0.0

    def run(method: str, n_steps: int = steps):
        t0 = time.process_time()
        tc = _tracer(method, pipe)
        with tc:
            out = pipe(**{**kw, "num_inference_steps": n_steps}).images
        return time.process_time() - t0, out, (tc if method != "plain" else None)

    with torch.inference_mode():
        run("plain", 1)  # warm-up: allocator, kernels
        live = ["plain"]
        for m in methods:  # which methods this architecture supports, and their state after 1 and 2 steps
            try:
                for n in (1, 2):
                    _, _, tc = run(m, n)
                    costs[m].state_bytes_by_steps[n] = _state(tc)
                live.append(m)
            except (NotImplementedError, daam.UnsupportedPipelineError) as e:
                costs[m].unsupported = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                progress(f"{arch}: {m} not supported ({costs[m].unsupported})")
        for r in range(rounds):
            order = live[r % len(live) :] + live[: r % len(live)]
            for m in order:
                seconds, out, _ = run(m)
                if m == "plain":
                    plain.append(round(seconds, 3))
                    if reference is None:
                        reference = out
                    else:
                        plain_drift = max(plain_drift, float((out.float() - reference.float()).abs().max()))
                else:
                    costs[m].cpu_s.append(round(seconds, 3))
                    same = reference is not None and bool(torch.equal(out, reference))
                    prev = costs[m].image_unchanged
                    costs[m].image_unchanged = same if prev is None else prev and same
                    if reference is not None:
                        diff = float((out.float() - reference.float()).abs().max())
                        costs[m].max_abs_diff = max(costs[m].max_abs_diff or 0.0, diff)
                progress(f"{arch} round {r + 1}/{rounds} {m}: {seconds:.1f} s CPU")
        for c in costs.values():
            if c.cpu_s and len(plain) == len(c.cpu_s):
                pairs = [t / p for t, p in zip(c.cpu_s, plain)]
                c.ratio_median = round(statistics.median(pairs), 4)
                c.ratio_spread = (round(min(pairs), 4), round(max(pairs), 4))
        result = MethodsPerf(
            arch, what, steps, rounds, torch.get_num_threads(), plain, list(costs.values()), plain_drift
        )
        result.attribute_strength = strength
        try:  # daam.attribute per image, beside a plain generation of the same step count
            i2i = daam.img2img_pipeline(pipe)
            i2i.set_progress_bar_config(disable=True)
            # an image whose latents, by the VAE's own downsampling, have the generation's latent grid
            # (the harness's stand-in VAEs downsample less than the factor the pipeline claims)
            own = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
            claimed = int(getattr(pipe, "vae_scale_factor", own))
            h, w = kw["height"] // claimed * own, kw["width"] // claimed * own
            image = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
            result.attribute_image = (h, w)
            extra = {k: v for k, v in kw.items() if k in ("max_sequence_length",)}
            a_steps = max(steps, round(1 / strength))  # at least one denoised step
            result.attribute_steps = a_steps
            result.attribute_denoised_steps = int(a_steps * strength)
            for r in range(rounds):
                for mode in ("attribute", "plain") if r % 2 == 0 else ("plain", "attribute"):
                    t0 = time.process_time()
                    if mode == "attribute":
                        daam.attribute(
                            i2i,
                            image,
                            kw["prompt"],
                            strength=strength,
                            steps=a_steps,
                            guidance_scale=kw.get("guidance_scale"),
                            pipeline_kwargs=extra,
                        )
                        result.attribute_cpu_s.append(round(time.process_time() - t0, 3))
                    else:
                        pipe(**{**kw, "num_inference_steps": a_steps})
                        result.attribute_plain_cpu_s.append(round(time.process_time() - t0, 3))
                    progress(f"{arch} attribute round {r + 1}/{rounds} {mode}: {time.process_time() - t0:.1f} s CPU")
        except (NotImplementedError, daam.UnsupportedPipelineError, ValueError) as e:
            result.attribute_error = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    return result


def format_methods(result: MethodsPerf) -> str:
    lines = [
        f"{result.arch} ({result.denoiser}), {result.steps} step(s), {result.rounds} rotating rounds, "
        f"{result.threads} thread(s); plain: {', '.join(f'{s:.1f}' for s in result.plain_cpu_s)} s CPU",
        f"plain runs against the first plain run: max |difference| {result.plain_max_abs_diff:.3g}",
        "method | CPU s | / plain, median (spread) | image unchanged (max abs diff) | state per image after 1 / 2 steps",
    ]
    for c in result.methods:
        if c.unsupported:
            lines.append(f"{c.method} | not supported: {c.unsupported}")
            continue
        lo, hi = c.ratio_spread or (float("nan"), float("nan"))
        states = " / ".join(
            "n/a" if c.state_bytes_by_steps.get(n) is None else f"{c.state_bytes_by_steps[n] / 2**20:.3f} MiB"
            for n in (1, 2)
        )
        lines.append(
            f"{c.method} | {', '.join(f'{s:.1f}' for s in c.cpu_s)} | {c.ratio_median:.3f} ({lo:.3f}-{hi:.3f}) | "
            f"{'yes' if c.image_unchanged else 'no'} ({c.max_abs_diff or 0:.3g}) | {states}"
        )
    if result.attribute_error:
        lines.append(f"daam.attribute: not supported: {result.attribute_error}")
    elif result.attribute_cpu_s:
        a, p = statistics.median(result.attribute_cpu_s), statistics.median(result.attribute_plain_cpu_s)
        lines.append(
            f"daam.attribute (strength {result.attribute_strength}, {result.attribute_denoised_steps} of "
            f"{result.attribute_steps} steps denoised): {a:.1f} s CPU per image (median), plain generation {p:.1f} s, "
            f"ratio {a / p:.3f}"
        )
    return "\n".join(lines)
