"""``bench perf --peers``: our tracing beside attention-map-diffusers on the same tiny pipelines.

One run, one process: each pipeline (tiny SD, SD3, FLUX.1 from ``benchmark/tiny.py``, 20 steps)
generates untraced, traced by ``daam.trace`` and captured by attention-map-diffusers 1.0.0
(``AttentionCapture(relations="image->text", layers="all", timesteps="all", heads="mean",
mode="exact")``: every layer and step, as DAAM sums them) in rotating order, and we report CPU
time ratios against untraced (median over rounds, with the spread) and whether each library left
the image bitwise unchanged. attention-map-diffusers is not a dependency: install it apart
(``pip install --no-deps --target .peers/amd attention-map-diffusers==1.0.0``) and point
``--peer-path`` (or ``PYTHONPATH``) there. castorini/daam pins diffusers 0.21 and needs its own
environment; it is not measured here.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

FAMILIES = ("sd", "sd3", "flux")


@dataclass
class PeerRow:
    family: str
    size: int
    steps: int
    untraced_cpu_s: list[float] = field(default_factory=list)
    ours_cpu_s: list[float] = field(default_factory=list)
    amd_cpu_s: list[float] = field(default_factory=list)
    ours_ratio: float = float("nan")  # median per-round ratio against untraced
    amd_ratio: float = float("nan")
    ours_spread: tuple[float, float] = (float("nan"), float("nan"))
    amd_spread: tuple[float, float] = (float("nan"), float("nan"))
    ours_bitwise: bool | None = None
    amd_bitwise: bool | None = None
    amd_error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _build(family: str, root: Path):
    import benchmark.tiny as tiny
    from benchmark.toy.tokenizer import build_clip_tokenizer

    clip, t5 = root / "clip", root / "t5"
    if not clip.exists():
        build_clip_tokenizer(clip)
        tiny.build_t5_tokenizer(t5)
    path = root / family
    if family == "sd":
        return tiny.load("StableDiffusionPipeline", tiny.build_sd(path, clip)), 64
    if family == "sd3":
        return tiny.load("StableDiffusion3Pipeline", tiny.build_sd3(path, clip, t5)), 64
    if family == "flux":
        return tiny.load("FluxPipeline", tiny.build_flux(path, clip, t5)), 64
    raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")


def _ratios(values: list[float], base: list[float]) -> tuple[float, tuple[float, float]]:
    pairs = [v / b for v, b in zip(values, base)]
    if not pairs:
        return float("nan"), (float("nan"), float("nan"))
    return round(statistics.median(pairs), 4), (round(min(pairs), 4), round(max(pairs), 4))


def measure_peers(families=FAMILIES, rounds: int = 4, steps: int = 20, peer_path: str | None = None,
                  progress=print) -> list[PeerRow]:
    import numpy as np
    import torch

    import daam

    if peer_path:
        sys.path.insert(0, str(peer_path))
    try:
        import attention_map_diffusers as amd
    except ImportError:
        amd = None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in families:
            pipe, size = _build(family, Path(tmp))
            row = PeerRow(family, size, steps)
            kw = dict(prompt="a dog and a cat on a sofa", num_inference_steps=steps, height=size, width=size,
                      output_type="np")
            ref = None

            def run(mode: str):
                g = torch.Generator().manual_seed(0)
                t0 = time.process_time()
                if mode == "ours":
                    with daam.trace(pipe):
                        out = pipe(generator=g, **kw).images
                elif mode == "amd":
                    with amd.AttentionCapture(pipe, relations="image->text", layers="all", timesteps="all",
                                              heads="mean", mode="exact"):
                        out = pipe(generator=g, **kw).images
                else:
                    out = pipe(generator=g, **kw).images
                return time.process_time() - t0, out

            with torch.inference_mode():
                run("untraced")  # warm-up
                modes = ["untraced", "ours"] + (["amd"] if amd is not None else [])
                for r in range(rounds):
                    order = modes[r % len(modes):] + modes[: r % len(modes)]  # rotate who goes first
                    for mode in order:
                        try:
                            seconds, out = run(mode)
                        except Exception as e:  # a peer that refuses a pipeline is a finding, not a crash
                            row.amd_error = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                            modes = [m for m in modes if m != "amd"]
                            continue
                        if mode == "untraced":
                            ref = out if ref is None else ref
                            row.untraced_cpu_s.append(round(seconds, 3))
                        else:
                            getattr(row, f"{mode}_cpu_s").append(round(seconds, 3))
                            same = ref is not None and bool(np.array_equal(ref, out))
                            prev = getattr(row, f"{mode}_bitwise")
                            setattr(row, f"{mode}_bitwise", same if prev is None else prev and same)
                        progress(f"{family} round {r + 1}/{rounds} {mode}: {seconds:.2f} s CPU")
            row.ours_ratio, row.ours_spread = _ratios(row.ours_cpu_s, row.untraced_cpu_s)
            row.amd_ratio, row.amd_spread = _ratios(row.amd_cpu_s, row.untraced_cpu_s)
            if amd is None:
                row.amd_error = "attention_map_diffusers is not importable (see --peer-path)"
            rows.append(row)
    return rows


def format_rows(rows: list[PeerRow]) -> str:
    lines = ["| pipeline | steps | ours / untraced (spread) | image unchanged | attention-map-diffusers / untraced "
             "(spread) | image unchanged |", "|---|---|---|---|---|---|"]
    for r in rows:
        amd = (f"{r.amd_ratio:.3f} ({r.amd_spread[0]:.3f}-{r.amd_spread[1]:.3f})" if r.amd_cpu_s
               else f"- ({r.amd_error})")
        lines.append(f"| tiny {r.family} {r.size} px | {r.steps} | {r.ours_ratio:.3f} ({r.ours_spread[0]:.3f}-"
                     f"{r.ours_spread[1]:.3f}) | {r.ours_bitwise} | {amd} | {r.amd_bitwise if r.amd_cpu_s else '-'} |")
    return "\n".join(lines)
