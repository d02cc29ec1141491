"""Example galleries: the best and worst items a scorer stored in ``details["examples"]``, and a
sample of generations for every run whose scores store no examples (a prompts run, a run not yet
scored), so every report shows maps.

Each example shows the generated image, the DAAM overlay drawn from the stored maps file and the
stored masks of that word; a sample item shows the image and the overlay of each of its words.
Overlays are ``daam.overlay`` (inferno, each pixel as opaque as its value) with a colour bar. Drawing pictures from stored files is rendering; no IoU is computed
here (the one shown is the scorer's). A file that cannot be read leaves a note on its item
instead of failing the whole report.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.report.document import Gallery, GalleryItem, Panel, Section
from benchmark.report.formatting import slug
from benchmark.report.stored import ReportError, StoredResults
from benchmark.report.tables import subset_order
from db import NotFoundError, Score, Store, decode_mask

MAX_PER_RANK = 4  # items shown per rank (best / worst) of each score
SAMPLE_SIZE = 6  # done generations shown for a run without examples (its first ones)
SAMPLE_WORDS = 6  # word maps shown per sample item
THUMBNAIL = 256  # longest side of a picture in the report, in pixels
RANKS = ("best", "worst")


def png_bytes(array: np.ndarray, nearest: bool = False) -> bytes:
    """A uint8 RGB / grey or boolean array as PNG bytes, shrunk to the thumbnail size."""
    from PIL import Image

    data = array.astype(np.uint8) * 255 if array.dtype == bool else array
    image = Image.fromarray(data)
    image.thumbnail((THUMBNAIL, THUMBNAIL), Image.Resampling.NEAREST if nearest else Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _examples(score: Score, rank: str) -> list[dict[str, Any]]:
    where = f"score {score.id} ({score.study} / {score.method} / {score.metric} / {score.subset})"
    items = score.details["examples"].get(rank, [])
    if not isinstance(items, list):
        raise ReportError(f"{where}: examples[{rank!r}] must be a list, got {type(items).__name__}")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ReportError(f"{where}: examples[{rank!r}][{i}] must be an object, got {item!r}")
        gid, word, occ, iou = item.get("generation_id"), item.get("word"), item.get("occurrence", 0), item.get("iou")
        if not isinstance(gid, int) or isinstance(gid, bool):
            raise ReportError(f"{where}: examples[{rank!r}][{i}] needs an integer 'generation_id', got {gid!r}")
        if not isinstance(word, str) or not word:
            raise ReportError(f"{where}: examples[{rank!r}][{i}] needs a non-empty 'word', got {word!r}")
        if not isinstance(occ, int) or isinstance(occ, bool) or occ < 0:
            raise ReportError(f"{where}: examples[{rank!r}][{i}] 'occurrence' must be an integer >= 0, got {occ!r}")
        if iou is not None and (not isinstance(iou, (int, float)) or isinstance(iou, bool)):
            raise ReportError(f"{where}: examples[{rank!r}][{i}] 'iou' must be a number, got {iou!r}")
    return items


class _ItemBuilder:
    """Reads images, maps files and masks of gallery items; maps files are loaded once each."""

    def __init__(self, store: Store, workspace: Path) -> None:
        self.store, self.workspace = store, workspace
        self._maps: dict[str, Any] = {}

    def build(self, rank: str, run_id: int, example: dict[str, Any]) -> GalleryItem:
        gid, word = example["generation_id"], example["word"]
        occurrence, iou = example.get("occurrence", 0), example.get("iou")
        iou = None if iou is None else float(iou)
        try:
            generation = self.store.get_generation(gid)
        except NotFoundError:
            return GalleryItem(rank, "", word, occurrence, iou, gid, (), (f"generation {gid} is not in the store",))
        problems: list[str] = []
        if generation.run_id != run_id:
            problems.append(f"generation {gid} belongs to run id {generation.run_id}, not to this score's run")
        prompt = self.store.get_prompt(generation.prompt_id).text
        panels: list[Panel] = []
        image = self._image(generation.image_path, problems)
        if image is not None:
            panels.append(Panel("image", png_bytes(image)))
        heat = self._heat_map(generation.id, word, occurrence, image, problems)
        if heat is not None:
            panels.append(Panel("DAAM overlay" if image is not None else "DAAM heat map", png_bytes(heat)))
        for mask in self.store.masks(generation.id, word=word, occurrence=occurrence, latest_only=True):
            label = " ".join(
                x
                for x in (
                    "mask:",
                    mask.source,
                    mask.method or "",
                    f"rater {mask.rater_id}" if mask.rater_id is not None else "",
                )
                if x
            )
            panels.append(Panel(label, png_bytes(decode_mask(mask), nearest=True)))
        return GalleryItem(rank, prompt, word, occurrence, iou, gid, tuple(panels), tuple(problems))

    def _image(self, image_path: str | None, problems: list[str]) -> np.ndarray | None:
        from PIL import Image

        if not image_path:
            problems.append("the generation has no stored image")
            return None
        try:
            with Image.open(self.workspace / image_path) as image:
                return np.asarray(image.convert("RGB"))
        except OSError as e:
            problems.append(f"image {image_path} could not be read: {e}")
            return None

    def sample(self, generation: Any) -> GalleryItem | None:
        """A generation's image and its words' overlays; None when it has no stored maps."""
        from benchmark.quicklook import STOP_WORDS

        rows = self.store.word_maps(generation.id)
        if not rows:
            return None
        words: dict[tuple[str, int], None] = {}
        for r in sorted(rows, key=lambda r: r.method != "daam"):  # DAAM's own rows first
            if r.word.lower() not in STOP_WORDS and any(c.isalnum() for c in r.word):
                words.setdefault((r.word, r.occurrence), None)
        chosen = list(words)[:SAMPLE_WORDS] or [(rows[0].word, rows[0].occurrence)]
        problems: list[str] = []
        prompt = self.store.get_prompt(generation.prompt_id).text
        image = self._image(generation.image_path, problems)
        panels = [Panel("image", png_bytes(image))] if image is not None else []
        for word, occurrence in chosen:
            heat = self._heat_map(generation.id, word, occurrence, image, problems, rows)
            if heat is not None:
                panels.append(Panel(f"DAAM: {word}", png_bytes(heat)))
        label = ", ".join(w for w, _ in chosen)
        return GalleryItem("sample", prompt, label, 0, None, generation.id, tuple(panels), tuple(problems))

    def _heat_map(
        self,
        generation_id: int,
        word: str,
        occurrence: int,
        image: np.ndarray | None,
        problems: list[str],
        rows: list[Any] | None = None,
    ) -> np.ndarray | None:
        rows = self.store.word_maps(generation_id) if rows is None else rows
        if not rows:
            problems.append("no word maps are stored for this generation")
            return None
        same = [r for r in rows if r.word.lower() == word.lower() and r.occurrence == occurrence]
        row = next((r for r in same if r.method == "daam"), None) or (same or rows)[0]
        try:
            maps = self._load(row.path)
            soft = maps.word_map(word, occurrence).soft
        except (OSError, ValueError, KeyError) as e:  # missing file, not a maps file, word not in the prompt
            problems.append(f"maps file {row.path}: {e}")
            return None
        if image is None:
            return (soft.numpy() * 255).round().astype(np.uint8)
        import daam

        if image.shape[:2] != tuple(soft.shape):
            from PIL import Image

            image = np.asarray(Image.fromarray(image).resize((soft.shape[1], soft.shape[0])))
        return daam.overlay(image, soft)

    def _load(self, path: str) -> Any:
        if path not in self._maps:
            import daam

            self._maps[path] = daam.load(self.workspace / path)
        return self._maps[path]


def colour_bar(stops: int = 11) -> tuple[str, ...]:
    """The overlays' colour map (``daam.maps.CMAP``) from 0 to 1 as hex colours, for the colour bar."""
    import matplotlib

    from daam.maps import CMAP

    cmap = matplotlib.colormaps[CMAP]
    return tuple(matplotlib.colors.to_hex(cmap(i / (stops - 1))) for i in range(stops))


def _samples(store: Store, results: StoredResults, builder: _ItemBuilder, skip: set[int]) -> list[Gallery]:
    """The first done generations of each run not in ``skip``, with their words' overlays."""
    out = []
    for view in results.views:
        if view.run.id in skip:
            continue
        items = []
        for generation in store.generations(view.run.id, "done"):
            item = builder.sample(generation)
            if item is not None:
                items.append(item)
            if len(items) >= SAMPLE_SIZE:
                break
        if items:
            name = f"{view.label} / sample of {len(items)} generations"
            out.append(Gallery(slug(name), name, tuple(items), colour_bar()))
    return out


def galleries(store: Store, workspace: str | Path, results: StoredResults) -> Section:
    key, title = "galleries", "Galleries: word maps of the best, worst and sample items"
    intro = (
        "Items the scorers picked as their best and worst, with the image, the DAAM overlay and the stored masks; "
        "for a run whose scores store no such items, a sample of its generations with each word's overlay. "
        "Overlays use the inferno colour map, each pixel as opaque as its value: the image shows through where "
        "the word draws little attention (colour bar: 0 to the word's maximum)."
    )
    sources = [s for s in results.scores if isinstance(s.details.get("examples"), dict)]
    sources.sort(key=lambda s: (results.run_order(s.run_id), s.study, s.method, s.metric, subset_order(s.subset)))
    builder = _ItemBuilder(store, Path(workspace))
    out = []
    for s in sources:
        items = tuple(
            builder.build(rank, s.run_id, example) for rank in RANKS for example in _examples(s, rank)[:MAX_PER_RANK]
        )
        if items:
            name = f"{results.label(s.run_id)} / {s.study} / {s.method} / {s.metric} / {s.subset}"
            out.append(Gallery(slug(name), name, items, colour_bar()))
    out += _samples(store, results, builder, {s.run_id for s in sources})
    if not out:
        note = (
            "No scores of the selected runs store example items, and their runs hold no done generations with maps."
            if not sources
            else "The stored example lists of the selected runs are empty."
        )
        return Section(key, title, intro, empty_note=note)
    return Section(key, title, intro, galleries=tuple(out))
