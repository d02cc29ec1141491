"""One task per item of a study, built from the store.

Which prompts are items: segmentation, those whose provenance names their ``nouns`` (COCO-Gen,
Unreal-Gen, cohyponyms, a user's own prompts); rating, those of the ``pos`` split (``pos`` plus
one word, or an explicit ``target``); presence, cohyponym prompts (``cohyponym`` and ``nouns:
[X, Y]``) and a user's own prompts with one or two nouns (the paper's label is the two nouns most
picked, so a prompt of more nouns could never be judged correct).

Tasks carry a ``bench`` block (key, study, run, generation, prompt) so that pushing again adds
only missing tasks and ingest can tie every annotation back to the database.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import db
from annotation.interface import ONTOLOGY_NOUNS, StudyError, check_study, label_config
from annotation.workspace import Workspace, WorkspaceError

DAAM_METHOD = "daam"


@dataclass(frozen=True)
class Task:
    """One item of a study: the Label Studio task data plus what ingest checks against."""

    key: str  # "<study>/<run>/<generation id>", stable across pushes
    study: str
    run: str
    generation_id: int
    prompt_id: int
    image_path: str  # workspace-relative
    height: int | None
    width: int | None
    labels: tuple[str, ...]  # what a rater may pick: nouns (segmentation) or choices (presence)
    data: dict[str, Any] = field(repr=False)
    target: str | None = None  # rating: the word whose heat map is rated
    target_occurrence: int = 0
    attention_check: bool = False
    overlay_path: str | None = None  # rating: workspace-relative overlay PNG
    word_map_path: str | None = None  # rating: the maps file the overlay comes from
    prompt_nouns: tuple[str, ...] = ()  # presence: the two nouns of the prompt


@dataclass(frozen=True)
class TaskSet:
    study: str
    run: db.Run
    tasks: tuple[Task, ...]
    skipped: tuple[str, ...]  # items that cannot be shown, with the reason
    choices: tuple[str, ...] = ()  # presence: the project's choices
    finished: int = 0  # the run's finished generations, items or not

    def by_key(self) -> dict[str, Task]:
        return {t.key: t for t in self.tasks}

    def check_not_empty(self) -> None:
        """A StudyError saying why there is nothing to annotate, when there is nothing."""
        if self.tasks:
            return
        why = (
            f"run {self.run.name!r} has no finished images (see `bench runs`)"
            if self.finished == 0
            else f"none of the {self.finished} finished images of run {self.run.name!r} is a {self.study} item "
            f"({STUDY_ITEMS[self.study]})"
        )
        skipped = f"; first skipped: {self.skipped[0]}" if self.skipped else ""
        raise StudyError(f"nothing to annotate for the {self.study} study: {why}{skipped}")

    @property
    def label_config(self) -> str:
        return label_config(self.study, self.choices)


def local_files_url(document_root: Path) -> Callable[[Path], str]:
    """Image URLs served by Label Studio's local-files storage (no copies, no base64)."""
    root = Path(document_root).resolve()

    def url(path: Path) -> str:
        try:
            relative = path.resolve().relative_to(root).as_posix()
        except ValueError:
            raise WorkspaceError(
                f"{path} is outside the Label Studio document root {root}; pass the server's document root"
            ) from None
        return f"/data/local-files/?d={quote(relative, safe='/')}"

    return url


# ----------------------------------------------------------------------------- task builders
def build_tasks(
    store: db.Store, study: str, run_name: str, workspace: Workspace, url_for: Callable[[Path], str] | None = None
) -> TaskSet:
    """Every task of ``study`` for the finished generations of a run (nothing is rendered)."""
    check_study(study)
    run = store.get_run(run_name)
    url_for = url_for or local_files_url(workspace.root)
    prompts: dict[int, db.Prompt] = {}
    tasks: list[Task] = []
    skipped: list[str] = []
    items = []
    for generation in store.generations(run.id, status="done"):
        prompt = prompts.get(generation.prompt_id)
        if prompt is None:
            prompt = prompts[generation.prompt_id] = store.get_prompt(generation.prompt_id)
        items.append((generation, prompt))
    choices: tuple[str, ...] = ()
    if study == "presence":
        choices = presence_choices(_presence_nouns(p) or () for _, p in items)
    for generation, prompt in items:
        try:
            task = _BUILDERS[study](store, run, generation, prompt, workspace, url_for, choices)
        except StudyError as exc:
            skipped.append(f"generation {generation.id} (prompt {prompt.key!r}): {exc}")
            continue
        if task is not None:
            tasks.append(task)
    return TaskSet(study, run, tuple(tasks), tuple(skipped), choices, finished=len(items))


def presence_choices(prompt_nouns: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """The ontology's nouns, then any prompt noun the ontology lacks (so it can be picked)."""
    out = list(ONTOLOGY_NOUNS)
    for nouns in prompt_nouns:
        out.extend(n for n in nouns if n not in out)
    return tuple(out)


def _base(
    study: str,
    run: db.Run,
    generation: db.Generation,
    prompt: db.Prompt,
    workspace: Workspace,
    url_for: Callable[[Path], str],
) -> tuple[str, dict[str, Any], int, int]:
    """Key, task data and (height, width) shared by every study."""
    if not generation.image_path:
        raise StudyError("the generation has no image")
    image = workspace.file(generation.image_path)
    if not image.exists():
        raise StudyError(f"image file {image} is missing")
    height, width = generation.height, generation.width
    if height is None or width is None:
        from PIL import Image

        with Image.open(image) as opened:
            width, height = opened.size
    key = f"{study}/{run.name}/{generation.id}"
    data = {
        "image": url_for(image),
        "bench": {"key": key, "study": study, "run": run.name, "generation_id": generation.id, "prompt_id": prompt.id},
    }
    return key, data, height, width


def _unique(words: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for w in words:
        if isinstance(w, str) and w.strip():
            seen.setdefault(w.strip().lower(), w.strip())
    return tuple(seen.values())


def rating_target(prompt: db.Prompt) -> tuple[str, int] | None:
    """(word, occurrence) a rating item asks about, or None for prompts of other studies.

    The ``pos`` split stores its one word in ``words`` with ``pos`` and ``occurrence`` in the
    provenance; an explicit ``target`` (and ``target_occurrence``) works as well.
    """
    provenance = prompt.provenance
    if "target" in provenance:
        word = provenance["target"]
        occurrence = provenance.get("target_occurrence", provenance.get("occurrence", 0))
    elif "pos" in provenance and len(prompt.words) == 1:
        word, occurrence = prompt.words[0], provenance.get("occurrence", 0)
    else:
        return None
    if not isinstance(word, str) or not word.strip():
        raise StudyError(f"the rated word must be a non-empty string, got {word!r}")
    if not isinstance(occurrence, int) or isinstance(occurrence, bool) or occurrence < 0:
        raise StudyError(f"the rated word's occurrence must be an integer >= 0, got {occurrence!r}")
    return word, occurrence


def _segmentation(store, run, generation, prompt, workspace, url_for, _choices) -> Task | None:
    nouns = prompt.provenance.get("nouns")
    if not isinstance(nouns, list) or rating_target(prompt) is not None:
        return None  # only prompts whose split names their nouns are segmented
    nouns = _unique(nouns)
    if not nouns:
        raise StudyError("the prompt has no nouns to segment")
    key, data, height, width = _base("segmentation", run, generation, prompt, workspace, url_for)
    data.update(prompt=prompt.text, nouns=[{"value": n} for n in nouns])
    return Task(
        key, "segmentation", run.name, generation.id, prompt.id, generation.image_path, height, width, nouns, data
    )


def _rating(store, run, generation, prompt, workspace, url_for, _choices) -> Task | None:
    found = rating_target(prompt)
    if found is None:
        return None  # not a rating item
    target, occurrence = found
    span = word_span(prompt.text, target, occurrence)
    maps = store.word_maps(generation.id, method=DAAM_METHOD)
    if not maps:
        raise StudyError("no DAAM word maps are stored for this generation")
    chosen = next(
        (m for m in maps if m.word.lower() == target.lower() and m.occurrence == occurrence), maps[0]
    )  # one file holds every word
    key, data, height, width = _base("rating", run, generation, prompt, workspace, url_for)
    overlay = f"overlays/rating/{_slug(run.name)}/{generation.id}.png"
    data.update(
        overlay=url_for(workspace.root / overlay),
        prompt=prompt.text,
        word=target,
        prompt_html=highlight(prompt.text, span),
    )
    return Task(
        key,
        "rating",
        run.name,
        generation.id,
        prompt.id,
        generation.image_path,
        height,
        width,
        (),
        data,
        target=target,
        target_occurrence=occurrence,
        attention_check=bool(prompt.provenance.get("attention_check", False)),
        overlay_path=overlay,
        word_map_path=chosen.path,
    )


def _presence_nouns(prompt: db.Prompt) -> tuple[str, ...] | None:
    """The two nouns of a cohyponym prompt (the split marks them with ``cohyponym``), or the one or
    two nouns of a user's own prompt."""
    nouns = prompt.provenance.get("nouns")
    if not isinstance(nouns, list):
        return None
    if "cohyponym" in prompt.provenance:
        return tuple(nouns)
    if prompt.split == USER_PROMPTS_SPLIT and 1 <= len(_unique(nouns)) <= PRESENCE_MAX_NOUNS:
        return _unique(nouns)
    return None


def _presence(store, run, generation, prompt, workspace, url_for, choices) -> Task | None:
    nouns = _presence_nouns(prompt)
    if nouns is None:
        return None  # not a cohyponym prompt
    if "cohyponym" in prompt.provenance and (
        len(nouns) != 2 or not all(isinstance(n, str) and n.strip() for n in nouns)
    ):
        raise StudyError(f"a cohyponym prompt needs provenance nouns [X, Y], got {nouns!r}")
    key, data, height, width = _base("presence", run, generation, prompt, workspace, url_for)
    return Task(
        key,
        "presence",
        run.name,
        generation.id,
        prompt.id,
        generation.image_path,
        height,
        width,
        choices,
        data,
        prompt_nouns=nouns,
    )


_BUILDERS = {"segmentation": _segmentation, "rating": _rating, "presence": _presence}
# what makes a prompt an item of each study, for the error that finds none
STUDY_ITEMS = {
    "segmentation": "prompts whose split names their nouns: coco-gen, unreal-gen, cohyponym, your own prompts",
    "rating": "prompts of the pos split",
    "presence": "cohyponym prompts, or your own prompts with one or two nouns",
}
USER_PROMPTS_SPLIT = "prompts"  # the catalogue's split of a user's own prompts file
PRESENCE_MAX_NOUNS = 2  # a presence label is the two nouns most picked (annotation.judgements)


def word_span(prompt: str, word: str, occurrence: int = 0) -> tuple[int, int]:
    """Character span of the ``occurrence``-th ``word`` (case-insensitive), as DAAM splits words."""
    from daam.words import split_words

    matches = [(s, e) for text, s, e in split_words(prompt) if text.lower() == word.strip().lower()]
    if len(matches) <= occurrence:
        raise StudyError(f"target {word!r} (occurrence {occurrence}) is not a word of {prompt!r}")
    return matches[occurrence]


TARGET_STYLE = "font-weight: bold; text-decoration: underline; text-decoration-thickness: 2px"


def highlight(prompt: str, span: tuple[int, int]) -> str:
    """The prompt as HTML with the target word bold and underlined.

    The paper's interface showed it in red; our heat map's hot end (inferno) is red and yellow, so
    a red word would read as part of the heat map: the word is marked by weight and underline only.
    """
    start, end = span
    return (
        f'<p style="font-size: 1.3em">{html.escape(prompt[:start])}'
        f'<span style="{TARGET_STYLE}">{html.escape(prompt[start:end])}</span>'
        f"{html.escape(prompt[end:])}</p>"
    )


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
