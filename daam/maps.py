"""Per-image results: word maps, masks, overlays, PNG export, safe save/load."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from daam.aggregation import Resolution, normalise, upscale
from daam.words import PromptTokens, TokenSegment, Word, WordNotFoundError

if TYPE_CHECKING:
    import PIL.Image
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    ImageLike = PIL.Image.Image | np.ndarray  # RGB (or grey), uint8 or floats in [0, 1]

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
TAUS = (0.3, 0.4, 0.5)  # the paper's thresholds; 0.4 is its best
# Overlays: a perceptually uniform colour map (dark = low, bright yellow = high; readable in grey
# and by colour-blind readers, unlike jet), each pixel as opaque as its value times OVERLAY_ALPHA.
CMAP = "inferno"
OVERLAY_ALPHA = 0.85


@dataclass(frozen=True)
class WordMap:
    """One word's attribution map over the image.

    ``soft`` is ``float32 [H, W]`` in [0, 1] (min-max normalised after summing); ``raw`` is the
    unnormalised sum over heads, layers, steps and the word's tokens, upscaled to image size.
    """

    word: str
    token_indices: tuple[int, ...]
    soft: torch.Tensor
    raw: torch.Tensor

    def mask(self, tau: float = 0.4) -> torch.Tensor:
        """Binary map ``soft >= tau`` (the paper's I(D >= tau)); tau in [0, 1]."""
        if not 0.0 <= tau <= 1.0:
            raise ValueError(f"tau must lie in [0, 1], got {tau}")
        return self.soft >= tau

    def to_png(
        self, path: str | Path, image: ImageLike | None = None, alpha: float = OVERLAY_ALPHA, cmap: str = CMAP
    ) -> Path:
        """Write the heat map as an 8-bit grey PNG, or as an overlay on ``image`` when given
        (``overlay``: each pixel's opacity is ``alpha`` times its value)."""
        from PIL import Image

        path = Path(path)
        if image is None:
            Image.fromarray((self.soft.numpy() * 255).round().astype(np.uint8), mode="L").save(path)
        else:
            Image.fromarray(overlay(image, self.soft, alpha=alpha, cmap=cmap)).save(path)
        return path

    def plot(
        self,
        image: ImageLike | None = None,
        ax: Axes | None = None,
        alpha: float = OVERLAY_ALPHA,
        cmap: str = CMAP,
        title: str | None = None,
        colorbar: bool = False,
    ) -> Axes:
        """Draw the map (over ``image`` when given) on a matplotlib axis and return the axis.

        Over an image, each pixel's opacity is ``alpha`` times its value, so the image stays
        visible where the word draws little attention. ``colorbar`` adds the scale beside the axis.
        """
        plt = _pyplot()
        ax = ax or plt.gca()
        soft = self.soft.numpy()
        if image is not None:
            ax.imshow(_as_array(image), interpolation="nearest")
            ax.imshow(soft, cmap=cmap, alpha=np.clip(soft * alpha, 0, 1), vmin=0, vmax=1, interpolation="bilinear")
        else:
            ax.imshow(soft, cmap=cmap, vmin=0, vmax=1, interpolation="bilinear")
        ax.set_title(self.word if title is None else title)
        ax.axis("off")
        if colorbar:
            add_colorbar(ax, cmap)
        return ax


def _matplotlib() -> ModuleType:
    """matplotlib, imported on first use: plots and overlays are the only part of daam that needs it,
    so the light install (``pip install daam-bench``) leaves it out."""
    try:
        import matplotlib
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            "matplotlib is not installed (daam's plots and overlays need it): pip install 'daam-bench[plot]'",
            name="matplotlib",
        ) from e
    return matplotlib


def _pyplot() -> ModuleType:
    _matplotlib()
    import matplotlib.pyplot as plt

    return plt


def _as_array(image: ImageLike) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0, 1) * 255).round().astype(np.uint8)
    return arr[..., :3] if arr.ndim == 3 else np.stack([arr] * 3, -1)


def overlay(
    image: ImageLike, soft: torch.Tensor, alpha: float = OVERLAY_ALPHA, cmap: str = CMAP, by_value: bool = True
) -> np.ndarray:
    """Blend a colour-mapped heat map over an RGB image (uint8 result).

    With ``by_value`` (the default) each pixel's opacity is ``alpha * value``: the image shows
    through where the map is low, and the colour map's hot end covers it where the map is high.
    ``by_value=False`` blends every pixel at ``alpha`` (the original library's look, with "jet").
    """
    matplotlib = _matplotlib()
    base = _as_array(image).astype(np.float32)
    if base.shape[:2] != tuple(soft.shape):
        raise ValueError(f"image is {base.shape[1]}x{base.shape[0]} but the map is {soft.shape[1]}x{soft.shape[0]}")
    values = soft.numpy().astype(np.float32)
    heat = matplotlib.colormaps[cmap](values)[..., :3] * 255
    a = np.clip(values * alpha, 0, 1)[..., None] if by_value else alpha
    return (base * (1 - a) + heat * a).round().astype(np.uint8)


def add_colorbar(ax: Axes | list[Axes], cmap: str = CMAP, label: str = "attribution (0 to the word's maximum)") -> Any:
    """A colour bar for maps in [0, 1] beside ``ax`` (one axis or a grid's axes), ticks 0, 0.5, 1."""
    matplotlib = _matplotlib()
    _pyplot()
    mappable = matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(0, 1), cmap=cmap)
    fig = (ax[0] if isinstance(ax, list) else ax).figure
    bar = fig.colorbar(mappable, ax=ax, fraction=0.046, pad=0.04, ticks=[0, 0.5, 1])
    bar.ax.tick_params(labelsize=7)
    bar.set_label(label, fontsize=7)
    return bar


StepFilter = Iterable[int] | Callable[[int], bool] | None
LayerFilter = Iterable[str] | Callable[[str], bool] | None


def _accepts(selector, value) -> bool:
    if selector is None:
        return True
    if callable(selector):
        return bool(selector(value))
    return value in set(selector)


@dataclass
class GenerationMaps:
    """The DAAM maps of one generated image.

    ``sums[(h, w)]`` holds ``[n_tokens, h, w]`` at each layer's native size; ``detail`` holds the
    optional per-step / per-layer / per-head parts (see ``daam.aggregation.Accumulator``).
    """

    prompt: str | None
    image_index: int  # position in the pipeline call's output
    prompt_index: int  # which prompt of the call
    image_size: Resolution  # (H, W)
    tokens: PromptTokens | None
    sums: dict[Resolution, torch.Tensor]
    layer_resolutions: dict[str, Resolution]
    n_steps: int
    detail: dict[tuple[int | None, str], torch.Tensor] = field(default_factory=dict)
    detail_heads: bool = False
    # Text segments (SD3: CLIP then T5); empty means one segment, ``tokens``, at column 0.
    segments: tuple[TokenSegment, ...] = ()
    # The size the pipeline generated at when it resized its output to ``image_size`` (PixArt's
    # resolution binning); maps then follow the same resize-and-crop.
    generated_size: Resolution | None = None
    # Open-vocabulary entries (``daam.trace(pipe, vocabulary=...)``) and their sums,
    # ``vocabulary_sums[res]`` of shape ``[len(vocabulary), h, w]`` (one map per entry).
    vocabulary: tuple[str, ...] = ()
    vocabulary_sums: dict[Resolution, torch.Tensor] = field(default_factory=dict)
    # What made the vocabulary maps: "ovam" (UNet cross-attention), "ovam-joint" (side streams
    # through a joint DiT), "conceptattention-output" or "conceptattention-cross" (the entries are
    # ConceptAttention's concepts); None without a vocabulary.
    vocabulary_method: str | None = None

    # -- words -------------------------------------------------------------------------
    @property
    def encoders(self) -> list[str]:
        """Names of the text segments the maps cover (e.g. ["clip", "t5"] for SD3)."""
        return [s.name for s in self._segments()]

    def _segments(self) -> tuple[TokenSegment, ...]:
        if self.segments:
            return self.segments
        return (TokenSegment("text", 0, self.tokens),) if self.tokens is not None else ()

    def _words(self) -> list[Word]:
        """The prompt's words (first segment that keeps each), in prompt order."""
        by_index: dict[int, Word] = {}
        for seg in self._segments():
            for w in seg.tokens.words:
                by_index.setdefault(w.index, w)
        return [by_index[i] for i in sorted(by_index)]

    @property
    def words(self) -> list[str]:
        return [w.text for w in self._words()]

    def prompt_words(self) -> list[Word]:
        """The prompt's words in order, each with its token columns in every segment that keeps it."""
        return [self.find_word(w.text, w.occurrence) for w in self._words()]

    @property
    def cut_words(self) -> tuple[str, ...]:
        """Words no text segment kept (cut by every encoder's limit)."""
        kept = {w.text.lower() for w in self._words()}
        cut = [c for seg in self._segments() for c in seg.tokens.cut_words if c.lower() not in kept]
        return tuple(dict.fromkeys(cut))

    def find_word(self, word: str, occurrence: int = 0, encoder: str | None = None) -> Word:
        """The word with its token columns in every segment that carries it (or ``encoder``'s)."""
        if self.tokens is None:
            raise WordNotFoundError(
                "this generation was traced from prompt embeddings, not text: ask for token indices"
            )
        segs = self._segments()
        if encoder is not None:
            segs = tuple(s for s in segs if s.name == encoder)
            if not segs:
                raise ValueError(f"no text segment {encoder!r}; these maps cover: {', '.join(self.encoders)}")
        found, first_error = [], None
        for seg in segs:
            try:
                found.append((seg, seg.tokens.find(word, occurrence)))
            except WordNotFoundError as e:
                first_error = first_error or e
        if not found:
            raise first_error
        w = found[0][1]
        columns = tuple(seg.start + t for seg, hit in found for t in hit.tokens)
        return dataclasses.replace(w, tokens=columns)

    # -- maps --------------------------------------------------------------------------
    def word_map(
        self,
        word: str | int | Iterable[int],
        occurrence: int = 0,
        *,
        steps: StepFilter = None,
        layers: LayerFilter = None,
        resolutions: Iterable[Resolution | int] | None = None,
        heads: Iterable[int] | None = None,
        encoder: str | None = None,
        source: str | None = None,
    ) -> WordMap:
        """The map of a word (its sub-tokens merged by summation), or of token index(es).

        A vocabulary entry (traced with ``vocabulary=``) or a concept (``daam.concept_attention``)
        has its own map, from its own text encoding; a word that is both in the prompt and in the
        vocabulary needs ``source="prompt"`` or ``source="vocabulary"`` (``source="concepts"``
        says the same for concept maps and checks that they are ConceptAttention's).

        A word's map sums its tokens in every text segment that carries it (SD3: CLIP and T5);
        ``encoder="t5"`` restricts it to one segment. ``steps``, ``layers``, ``resolutions`` and
        ``heads`` restrict what is summed (the paper's ablation); steps, layers and heads need the
        matching detail kept at trace time.
        """
        if source not in (None, "prompt", "vocabulary", "concepts"):
            raise ValueError(f"source must be 'prompt', 'vocabulary' or 'concepts', got {source!r}")
        if source == "concepts":
            if not (self.vocabulary_method or "").startswith("conceptattention"):
                raise WordNotFoundError(
                    "these maps hold no ConceptAttention concepts"
                    + (f" (their vocabulary is {self.vocabulary_method}'s)" if self.vocabulary else "")
                )
            source = "vocabulary"
        if source is not None and not isinstance(word, str):
            raise ValueError("source= applies to words, not token indices")
        if isinstance(word, str) and source != "prompt":
            entry = self._vocabulary_index(word)
            if source == "vocabulary" and entry is None:
                raise WordNotFoundError(
                    f"{word!r} is not in the vocabulary; vocabulary: {', '.join(self.vocabulary) or '(none traced)'}"
                )
            if entry is not None:
                if source is None and self._in_prompt(word, occurrence, encoder):
                    raise ValueError(
                        f"{word!r} is both a word of the prompt and a vocabulary entry: say which map is meant, "
                        f"word_map({word!r}, source='prompt') or word_map({word!r}, source='vocabulary')"
                    )
                return self._vocabulary_map(entry, steps, layers, resolutions, heads)
        if isinstance(word, str):
            w = self.find_word(word, occurrence, encoder)
            label, idx = w.text, w.tokens
        else:
            idx = (word,) if isinstance(word, int) else tuple(word)
            n_tok = next(iter(self.sums.values())).shape[0]
            bad = [i for i in idx if not 0 <= i < n_tok]
            if bad:
                raise IndexError(f"token index {bad} out of range: the text encoder has {n_tok} positions")
            label = f"token{'s' if len(idx) > 1 else ''} {','.join(map(str, idx))}"
        raw = self._raw(list(idx), steps, layers, resolutions, heads)
        return WordMap(label, tuple(idx), normalise(raw), raw)

    def _vocabulary_index(self, word: str) -> int | None:
        from daam.vocabulary import normalise_entry

        wanted = normalise_entry(word)
        return next((i for i, e in enumerate(self.vocabulary) if normalise_entry(e) == wanted), None)

    def _in_prompt(self, word: str, occurrence: int, encoder: str | None) -> bool:
        if self.tokens is None:
            return False
        try:
            self.find_word(word, occurrence, encoder)
        except WordNotFoundError:
            return False
        return True

    def _vocabulary_map(self, entry: int, steps, layers, resolutions, heads) -> WordMap:
        if steps is not None or layers is not None or heads is not None:
            raise ValueError("vocabulary maps keep no detail: steps, layers and heads cannot be selected")
        res_ok = None
        if resolutions is not None:
            res_ok = {(r, r) if isinstance(r, int) else tuple(r) for r in resolutions}
        raw = self._to_image(
            {res: maps[entry] for res, maps in self.vocabulary_sums.items() if res_ok is None or res in res_ok}
        )
        return WordMap(self.vocabulary[entry], (), normalise(raw), raw)

    def token_map(self, index: int) -> WordMap:
        return self.word_map(index)

    def _raw(self, idx, steps, layers, resolutions, heads) -> torch.Tensor:
        res_ok = None
        if resolutions is not None:
            wanted = {(r, r) if isinstance(r, int) else tuple(r) for r in resolutions}
            res_ok = wanted
            unknown = wanted - set(self.sums)
            if unknown:
                raise ValueError(f"no layers at {sorted(unknown)}; this model has {sorted(self.sums)}")
        if steps is None and layers is None and heads is None:
            return self._to_image(
                {res: maps[idx].sum(0) for res, maps in self.sums.items() if res_ok is None or res in res_ok}
            )
        if not self.detail:
            raise ValueError(
                "selecting steps, layers or heads needs the detail kept at trace time: "
                "daam.trace(pipe, keep_steps=True, keep_layers=True, keep_heads=True)"
            )
        kept_steps = any(s is not None for s, _ in self.detail)
        kept_layers = any(name in self.layer_resolutions for _, name in self.detail)
        if steps is not None and not kept_steps:
            raise ValueError("steps were not kept: trace with keep_steps=True")
        if layers is not None and not kept_layers:
            raise ValueError("layers were not kept: trace with keep_layers=True")
        if heads is not None and not self.detail_heads:
            raise ValueError("heads were not kept: trace with keep_heads=True")
        if layers is not None and not callable(layers):
            unknown = set(layers) - set(self.layer_resolutions)
            if unknown:
                raise ValueError(f"unknown layers {sorted(unknown)}; traced layers: {sorted(self.layer_resolutions)}")
        n_detail = next(iter(self.detail.values())).shape[1]
        if max(idx) >= n_detail:
            raise IndexError(
                f"token index {max(idx)} has no detail: the detail was trimmed to the prompt's "
                f"{n_detail} tokens (GenerationMaps.trim_detail)"
            )
        native: dict[Resolution, torch.Tensor] = {}  # selected parts summed at native size
        for (step, name), maps in self.detail.items():
            res = self.layer_resolutions[name] if name in self.layer_resolutions else _parse_res(name)
            if step is not None and not _accepts(steps, step):
                continue
            if name in self.layer_resolutions and not _accepts(layers, name):
                continue
            if res_ok is not None and res not in res_ok:
                continue
            part = (maps if heads is None else maps[list(heads)])[:, idx].sum((0, 1))
            native[res] = native[res] + part if res in native else part.clone()
        return self._to_image(native)

    def _to_image(self, native: dict[Resolution, torch.Tensor]) -> torch.Tensor:
        """Sum maps given at native sizes at image size (upscaling is linear: one per resolution)."""
        size = self.generated_size or self.image_size
        total = torch.zeros(size, dtype=torch.float32)
        for part in native.values():
            total += upscale(part, size)
        if tuple(size) != tuple(self.image_size):  # the pipeline's own resize-and-crop of its output
            from diffusers.image_processor import PixArtImageProcessor

            h, w = self.image_size
            total = PixArtImageProcessor.resize_and_crop_tensor(total[None, None], w, h)[0, 0]
        return total

    def trim_detail(self) -> GenerationMaps:
        """A copy whose detail keeps only the prompt's own tokens (start to end token).

        Padding positions carry no word, and a 77-token encoder pads most prompts to 5-8 times
        their length, so trimming shrinks stored detail as much. Sums are kept whole.
        """
        if not self.detail or self.tokens is None:
            return self
        n = max(seg.start + len(seg.tokens.token_ids) for seg in self._segments())
        detail = {key: t[:, :n].clone() for key, t in self.detail.items()}
        return dataclasses.replace(self, detail=detail)

    def masks(self, tau: float = 0.4) -> dict[str, torch.Tensor]:
        """Binary maps of every word of the prompt (first occurrence of each)."""
        out = {}
        for w in self._words():
            out.setdefault(w.text.lower(), self.word_map(w.text, w.occurrence).mask(tau))
        return out

    def export_pngs(self, folder: str | Path, image: ImageLike | None = None) -> list[Path]:
        """One PNG per word (``<index>-<word>.png``): grey heat maps, or overlays on ``image``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for w in self._words():
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in w.text)
            paths.append(self.word_map(w.text, w.occurrence).to_png(folder / f"{w.index:02d}-{safe}.png", image))
        return paths

    def plot(
        self,
        image: ImageLike,
        words: Iterable[str] | None = None,
        cols: int = 4,
        figsize_per: float = 2.5,
        cmap: str = CMAP,
    ) -> Figure:
        """A grid: the image itself, then one overlay per word, with one colour bar; returns the figure."""
        plt = _pyplot()
        names = list(words) if words is not None else self.words
        panels = 1 + len(names)
        cols = max(1, min(cols, panels))
        rows = -(-panels // cols)
        fig, axes = plt.subplots(
            rows, cols, figsize=(cols * figsize_per + 0.8, rows * figsize_per + 0.4), squeeze=False
        )
        for ax in axes.flat:
            ax.axis("off")
        axes.flat[0].imshow(_as_array(image), interpolation="nearest")
        axes.flat[0].set_title("image")
        for ax, name in zip(axes.flat[1:], names):
            self.word_map(name).plot(image, ax=ax, cmap=cmap)
        fig.suptitle(self.prompt or "")
        fig.tight_layout()
        add_colorbar(list(axes.flat), cmap)
        return fig

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in list(self.sums.values()) + list(self.detail.values()))

    # -- persistence (safetensors + JSON metadata; no pickle) ------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``path`` (a .safetensors file whose header carries the JSON metadata)."""
        import os
        import secrets

        from safetensors.torch import save

        path = Path(path)
        tensors = {f"sum/{h}x{w}": t.contiguous() for (h, w), t in self.sums.items()}
        tensors.update({f"vocab/{h}x{w}": t.contiguous() for (h, w), t in self.vocabulary_sums.items()})
        detail_keys = []
        for i, ((step, name), t) in enumerate(self.detail.items()):
            tensors[f"detail/{i}"] = t.contiguous()
            detail_keys.append([step, name])
        meta = {
            "format": FORMAT_VERSION,
            "prompt": self.prompt,
            "image_index": self.image_index,
            "prompt_index": self.prompt_index,
            "image_size": list(self.image_size),
            "n_steps": self.n_steps,
            "layer_resolutions": {k: list(v) for k, v in self.layer_resolutions.items()},
            "detail_keys": detail_keys,
            "detail_heads": self.detail_heads,
            "tokens": _tokens_meta(self.tokens),
            "segments": [[seg.name, seg.start, _tokens_meta(seg.tokens)] for seg in self.segments],
            "generated_size": list(self.generated_size) if self.generated_size else None,
            "vocabulary": list(self.vocabulary),
            "vocabulary_method": self.vocabulary_method,
        }
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")  # one per writer
        # safetensors' save_file creates its file 0600; writing its bytes ourselves honours the
        # umask, so maps are as readable as the images beside them
        data = save(tensors, metadata={"daam": json.dumps(meta)})
        try:
            with open(tmp, "xb") as f:
                f.write(data)
            tmp.replace(path)  # never leave a half-written file under the final name
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path) -> GenerationMaps:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            if "daam" not in header:
                raise ValueError(f"{path} is not a daam maps file (no 'daam' metadata)")
            meta = json.loads(header["daam"])
            if meta.get("format") not in READABLE_FORMATS:
                raise ValueError(f"{path}: unsupported maps format {meta.get('format')!r}")
            sums = {_parse_res(k.split("/", 1)[1]): f.get_tensor(k) for k in f.keys() if k.startswith("sum/")}
            vocab = {_parse_res(k.split("/", 1)[1]): f.get_tensor(k) for k in f.keys() if k.startswith("vocab/")}
            detail = {(step, name): f.get_tensor(f"detail/{i}") for i, (step, name) in enumerate(meta["detail_keys"])}
        tokens = _tokens_from_meta(meta["prompt"], meta["tokens"])
        segments = tuple(
            TokenSegment(name, start, _tokens_from_meta(meta["prompt"], tok))
            for name, start, tok in meta.get("segments", [])
        )
        return cls(
            prompt=meta["prompt"],
            image_index=meta["image_index"],
            prompt_index=meta["prompt_index"],
            image_size=tuple(meta["image_size"]),
            tokens=tokens,
            sums=sums,
            layer_resolutions={k: tuple(v) for k, v in meta["layer_resolutions"].items()},
            n_steps=meta["n_steps"],
            detail=detail,
            detail_heads=meta["detail_heads"],
            segments=segments,
            generated_size=tuple(meta["generated_size"]) if meta.get("generated_size") else None,
            vocabulary=tuple(meta.get("vocabulary", ())),
            vocabulary_sums=vocab,
            vocabulary_method=meta.get("vocabulary_method", "ovam" if meta.get("vocabulary") else None),
        )


def _tokens_meta(tokens: PromptTokens | None) -> dict[str, Any] | None:
    if tokens is None:
        return None
    return {
        "token_ids": list(tokens.token_ids),
        "token_spans": [list(s) for s in tokens.token_spans],
        "words": [[w.text, w.start, w.end, w.index, w.occurrence, list(w.tokens)] for w in tokens.words],
        "cut_words": list(tokens.cut_words),
        "position": tokens.position,
    }


def _tokens_from_meta(prompt: str, tok: dict[str, Any] | None) -> PromptTokens | None:
    if tok is None:
        return None
    words = tuple(Word(t, s, e, i, o, tuple(ix)) for t, s, e, i, o, ix in tok["words"])
    return PromptTokens(
        prompt,
        tuple(tok["token_ids"]),
        tuple(tuple(s) for s in tok["token_spans"]),
        words,
        tuple(tok["cut_words"]),
        position=tok.get("position", 0),
    )


def _parse_res(text: str) -> Resolution:
    h, w = text.split("x")
    return int(h), int(w)
