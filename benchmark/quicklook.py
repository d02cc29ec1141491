"""``daam "a dog and a cat on a sofa"``: one image, one heat-map overlay per word and a grid.

The quick look the original library's users know: generate one image while tracing, write the
image, an overlay figure per word (image beside the word's heat map, with a colour bar), a grid
of all of them and the maps file (``daam.load``), then print where. With no ``--model`` it runs
the shipped toy model, so it works offline on any machine. ``python -m daam`` is the same command
(daam/__main__.py); this module lives in the benchmark because it uses its pipelines and named
models, and ``daam`` itself stays a pure library.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

TOY = "toy"
# Words without a picture of their own: articles, conjunctions, prepositions, pronouns, auxiliaries.
STOP_WORDS = frozenset(
    """a an the and or but nor of on in at to with by for from into onto over under above below
    beside behind near next up down off out as is are was were be been being it its this that these
    those there here he she they them his her their we you i my your our some any each every very
    while has have had do does did not no so than then too""".split()
)


class QuickLookError(ValueError):
    """Input the user must fix (an empty prompt, a word not in it): one line, exit code 2."""


@dataclass
class QuickLook:
    """What one quick look wrote."""

    folder: Path
    image: Path
    grid: Path
    maps: Path
    overlays: dict[str, Path] = field(default_factory=dict)  # word -> its overlay figure
    settings: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="daam",
        description="Generate one image while tracing it and write a heat-map overlay per word, a grid and the maps.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("prompt", help='the prompt, e.g. "a dog and a cat on a sofa"')
    p.add_argument(
        "--model",
        default=None,
        help="a diffusers pipeline folder, a hub id (cached) or a named model; default: the shipped toy model",
    )
    p.add_argument("--words", nargs="+", default=None, help="words to map (default: every word but stop-words)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: daam-output/<prompt>)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the generation")
    p.add_argument("--steps", type=int, default=None, help="denoising steps (default: the model's)")
    p.add_argument("--guidance", type=float, default=None, help="guidance scale (default: the model's)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    return p


def _prompt_words(prompt: str) -> list[str]:
    from daam.words import split_words

    return [text for text, _, _ in split_words(prompt)]


def check_input(prompt: str, words: list[str] | None, steps: int | None) -> None:
    """Fail before any model loads on what the user can fix at once."""
    if not prompt.strip():
        raise QuickLookError('the prompt is empty: give one, e.g. daam "a dog and a cat on a sofa"')
    if steps is not None and steps < 1:
        raise QuickLookError(f"--steps must be at least 1, got {steps}")
    if words:
        known = {w.lower() for w in _prompt_words(prompt)}
        unknown = [w for w in words if w.lower() not in known]
        if unknown:
            raise QuickLookError(
                f"{', '.join(repr(w) for w in unknown)} not in the prompt; its words: {', '.join(_prompt_words(prompt))}"
            )


def default_words(maps) -> list[str]:
    """Every word of the prompt that has a map, less stop-words and punctuation (first occurrence each)."""
    seen, out = set(), []
    for word in maps.words:
        key = word.lower()
        if key in seen or key in STOP_WORDS or not any(c.isalnum() for c in word):
            continue
        seen.add(key)
        out.append(word)
    return out or [w for w in maps.words if any(c.isalnum() for c in w)][:1]


def _model_settings(model: str | None) -> tuple[str, dict[str, object], list[str]]:
    """The pipeline folder or hub id, the settings passed to the pipeline, and what to tell the user."""
    from benchmark.settings import resolve_model
    from benchmark.splits.catalogue import catalogue
    from benchmark.toy.shipped import NAMED_MODELS

    name = TOY if model is None else model
    path, note = resolve_model(name, None)
    if path is None:
        raise QuickLookError(f"model {name!r} is not shipped in this installation: pass --model ID_OR_PATH")
    notes = [note] if note else []
    toys = [m.weights.resolve() for m in NAMED_MODELS.values() if m.shipped()]
    is_toy = name in NAMED_MODELS or (Path(path).is_dir() and Path(path).resolve() in toys)
    if not is_toy:
        return path, {}, notes
    # the toy models' own run settings are those of the splits made for them (the `toy` preset)
    d = next(s.defaults for s in catalogue().values() if s.defaults.model == TOY)
    settings = {"num_inference_steps": d.steps, "guidance_scale": d.guidance, "height": d.height, "width": d.width}
    if model is None:
        notes.append(
            f"no --model: the shipped toy model (32 px coloured shapes), {d.steps} steps, guidance {d.guidance}; "
            'it draws circles, squares, triangles and stars in six colours (try "a red circle and a blue square"); '
            "--model ID_OR_PATH for another"
        )
    return path, {k: v for k, v in settings.items() if v is not None}, notes


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "prompt"


def quick_look(
    prompt: str,
    model: str | None = None,
    words: list[str] | None = None,
    out: Path | None = None,
    seed: int = 0,
    steps: int | None = None,
    guidance: float | None = None,
    device: str = "auto",
) -> QuickLook:
    check_input(prompt, words, steps)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    import daam
    from benchmark.pipelines import load_pipeline

    path, settings, notes = _model_settings(model)
    if steps is not None:
        settings["num_inference_steps"] = steps
    if guidance is not None:
        settings["guidance_scale"] = guidance
    pipe = load_pipeline(path, scheduler=None, device=device)
    with daam.trace(pipe) as tc:
        image = pipe(prompt, generator=torch.Generator().manual_seed(seed), **settings).images[0]
    maps = tc.results()[0]
    if words:
        for w in words:  # a word the tokenizer cut (past its length limit) has no map
            maps.find_word(w)
    chosen = list(words) if words else default_words(maps)
    folder = Path(out) if out is not None else Path("daam-output") / _slug(prompt)
    folder.mkdir(parents=True, exist_ok=True)
    result = QuickLook(
        folder, folder / "image.png", folder / "grid.png", folder / "maps.safetensors", settings=settings, notes=notes
    )
    image.save(result.image)
    maps.save(result.maps)
    for i, word in enumerate(chosen, 1):
        fig = maps.plot(image, words=[word], cols=2, figsize_per=3.0)
        result.overlays[word] = folder / f"overlay-{i:02d}-{_slug(word)}.png"
        fig.savefig(result.overlays[word], dpi=120)
        plt.close(fig)
    fig = maps.plot(image, words=chosen, cols=min(1 + len(chosen), 6))  # one row for most prompts
    fig.savefig(result.grid, dpi=120)
    plt.close(fig)
    return result


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = quick_look(
            args.prompt, args.model, args.words, args.out, args.seed, args.steps, args.guidance, args.device
        )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # one line for what the user can fix; a full trace otherwise
        from benchmark.errors import user_error_message

        message = str(e).strip().splitlines()[0] if isinstance(e, QuickLookError) else user_error_message(e)
        if message is None:
            from daam import WordNotFoundError

            if not isinstance(e, WordNotFoundError):
                raise
            message = str(e).strip().splitlines()[0]
        print(f"daam: error: {message}", file=sys.stderr)
        return 2
    for note in result.notes:
        print(note)
    print(f"image:    {result.image}")
    for word, path in result.overlays.items():
        print(f"overlay:  {path}  ({word})")
    print(f"grid:     {result.grid}")
    print(f"maps:     {result.maps}  (daam.load)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
