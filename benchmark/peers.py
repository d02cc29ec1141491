"""``bench perf --peers``: our tracing beside attention-map-diffusers on the same tiny pipelines.

One run, one process: each pipeline (tiny SD, SD3, FLUX.1 from ``benchmark/tiny.py``, 20 steps)
generates untraced, traced by ``daam.trace`` and captured by attention-map-diffusers 1.0.0
(``AttentionCapture(relations="image->text", layers="all", timesteps="all", heads="mean",
mode="exact")``: every layer and step, as DAAM sums them) in rotating order, and we report CPU
time ratios against untraced (median over rounds, with the spread) and whether each library left
the image bitwise unchanged. attention-map-diffusers is not a dependency: install it apart
(``pip install --no-deps --target .peers/amd attention-map-diffusers==1.0.0``) and point
``--peer-path`` (or ``PYTHONPATH``) there. castorini/daam 0.2.0 pins diffusers 0.21 and needs an
environment of its own (``make peers`` builds both under ``.peers/``): with ``--castorini-python``
it is timed by ``benchmark/peers_castorini.py`` in that environment on a tiny SD at 512 px (it
hard-codes a 64x64 latent), beside ours on the same configuration here.
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
class CastoriniRow:
    ours_ratio: float
    ours_spread: tuple[float, float]
    theirs_ratio: float
    theirs_spread: tuple[float, float]
    theirs_bitwise: bool
    ours_bitwise: bool
    steps: int
    detail: dict

    def to_dict(self) -> dict:
        return asdict(self)


def measure_castorini(python: str, rounds: int = 4, steps: int = 20, progress=print) -> CastoriniRow:
    """castorini/daam in its own environment and ours here, on a tiny SD at 512 px."""
    import json
    import subprocess

    import numpy as np
    import torch

    import benchmark.tiny as tiny
    import daam
    from benchmark.toy.tokenizer import build_clip_tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        build_clip_tokenizer(Path(tmp) / "clip")
        script = Path(__file__).with_name("peers_castorini.py")
        progress(f"castorini/daam: {rounds} rounds in {python}")
        done = subprocess.run(
            [python, str(script), str(Path(tmp) / "clip"), str(rounds), str(steps)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"castorini/daam run failed: {done.stderr.strip().splitlines()[-1]}")
        theirs = json.loads(done.stdout.strip().splitlines()[-1])
        pipe = tiny.load("StableDiffusionPipeline", tiny.build_sd(Path(tmp) / "sd", Path(tmp) / "clip"))
    kw = dict(prompt="a dog and a cat on a sofa", num_inference_steps=steps, height=512, width=512, output_type="np")
    untraced, traced, same, ref = [], [], True, None
    with torch.inference_mode():
        for r in range(rounds + 1):
            for mode in ("untraced", "traced") if r % 2 == 0 else ("traced", "untraced"):
                g = torch.Generator().manual_seed(0)
                t0 = time.process_time()
                if mode == "traced":
                    with daam.trace(pipe) as tc:
                        out = pipe(generator=g, **kw).images
                    tc.results()[0].word_map("dog")
                else:
                    out = pipe(generator=g, **kw).images
                seconds = time.process_time() - t0
                if r == 0:
                    ref = out if mode == "untraced" else ref
                    continue  # warm-up round
                (traced if mode == "traced" else untraced).append(round(seconds, 3))
                same = same and (mode == "untraced" or bool(np.array_equal(ref, out)))
                progress(f"ours sd 512 px round {r}/{rounds} {mode}: {seconds:.2f} s CPU")
    ours_ratio, ours_spread = _ratios(traced, untraced)
    theirs_ratio, theirs_spread = _ratios(theirs["traced_cpu_s"], theirs["untraced_cpu_s"])
    return CastoriniRow(
        ours_ratio,
        ours_spread,
        theirs_ratio,
        theirs_spread,
        theirs["bitwise"],
        same,
        steps,
        {"theirs": theirs, "ours": {"untraced_cpu_s": untraced, "traced_cpu_s": traced}},
    )


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


def measure_peers(
    families=FAMILIES, rounds: int = 4, steps: int = 20, peer_path: str | None = None, progress=print
) -> list[PeerRow]:
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
            kw = dict(
                prompt="a dog and a cat on a sofa", num_inference_steps=steps, height=size, width=size, output_type="np"
            )
            ref = None

            def run(mode: str, pipe=pipe, kw=kw):  # bind this round's pipeline
                g = torch.Generator().manual_seed(0)
                t0 = time.process_time()
                if mode == "ours":
                    with daam.trace(pipe):
                        out = pipe(generator=g, **kw).images
                elif mode == "amd":
                    with amd.AttentionCapture(
                        pipe, relations="image->text", layers="all", timesteps="all", heads="mean", mode="exact"
                    ):
                        out = pipe(generator=g, **kw).images
                else:
                    out = pipe(generator=g, **kw).images
                return time.process_time() - t0, out

            with torch.inference_mode():
                run("untraced")  # warm-up
                modes = ["untraced", "ours"] + (["amd"] if amd is not None else [])
                for r in range(rounds):
                    order = modes[r % len(modes) :] + modes[: r % len(modes)]  # rotate who goes first
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


def format_castorini(row: CastoriniRow) -> str:
    return (
        f"| tiny sd 512 px | {row.steps} | castorini/daam 0.2.0: {row.theirs_ratio:.3f} ({row.theirs_spread[0]:.3f}-"
        f"{row.theirs_spread[1]:.3f}), image unchanged {row.theirs_bitwise} | ours: {row.ours_ratio:.3f} "
        f"({row.ours_spread[0]:.3f}-{row.ours_spread[1]:.3f}), image unchanged {row.ours_bitwise} |"
    )


def format_rows(rows: list[PeerRow]) -> str:
    lines = [
        "| pipeline | steps | ours / untraced (spread) | image unchanged | attention-map-diffusers / untraced "
        "(spread) | image unchanged |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        amd = (
            f"{r.amd_ratio:.3f} ({r.amd_spread[0]:.3f}-{r.amd_spread[1]:.3f})" if r.amd_cpu_s else f"- ({r.amd_error})"
        )
        lines.append(
            f"| tiny {r.family} {r.size} px | {r.steps} | {r.ours_ratio:.3f} ({r.ours_spread[0]:.3f}-"
            f"{r.ours_spread[1]:.3f}) | {r.ours_bitwise} | {amd} | {r.amd_bitwise if r.amd_cpu_s else '-'} |"
        )
    return "\n".join(lines)
