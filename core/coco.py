"""COCO's 80 object classes and their synonyms: the one home of COCO class membership.

The table lives in ``core/data/coco_classes.yaml`` (80 class names in category-id order, and the
plain synonyms captions use for them). Three questions are asked of it, each answered here or
from here:

- ``is_coco_class(label)``: is a label (a stored class flag's word, a class name) one of the 80
  names? Exact after ``normalise_label``, also allowing a regular plural ("dogs", "buses");
  synonyms do not count, and callers pass lemmas for irregular plurals ("knives"). This is the
  metrics' fallback for mIoU-80 where a pair carries no class of its own.
- ``coco_class(word)``: which class does one prompt word name, without its sentence (the
  supervised baselines)? The word or a singular of it (``singular_candidates``) equals a class
  name or an alias.
- In a caption, with spaCy lemmas and multi-word heads: ``benchmark.splits.coco_classes`` builds
  its matcher from ``COCO80`` and ``ALIASES``.

"player" is no alias of person for any of them (see the data file).
"""

from __future__ import annotations

from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "coco_classes.yaml"


def _load() -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    import yaml

    with DATA_FILE.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    names = tuple(str(n) for n in data.get("classes") or ())
    if len(names) != 80 or len(set(names)) != 80:
        raise ValueError(f"{DATA_FILE} must list COCO's 80 distinct classes, found {len(set(names))}")
    aliases = {str(k): tuple(str(a) for a in v) for k, v in (data.get("aliases") or {}).items()}
    unknown = sorted(set(aliases) - set(names))
    if unknown:
        raise ValueError(f"{DATA_FILE}: aliases for unknown classes {unknown}")
    return names, aliases


# The 80 "things" of COCO 2014/2017 detection, in category-id order; class -> its aliases.
COCO80, ALIASES = _load()
_COCO80 = frozenset(COCO80)
# alias -> class, every alias naming exactly one class
SYNONYMS: dict[str, str] = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
# Plurals that stripping an ending cannot undo (for ``coco_class``, which has no lemmatiser).
IRREGULAR_PLURALS: dict[str, str] = {
    "men": "man",
    "women": "woman",
    "children": "child",
    "people": "people",
    "mice": "mouse",
    "knives": "knife",
    "skis": "skis",
    "scissors": "scissors",
    "sheep": "sheep",
    "buses": "bus",
}
_VOCABULARY = {c: c for c in COCO80} | SYNONYMS


def coco_class_names() -> tuple[str, ...]:
    """COCO's 80 class names, as in the instances annotations (``COCO80``)."""
    return COCO80


def normalise_label(label: str) -> str:
    """Lower case with single spaces, so "Hot  Dog" and "hot dog" are one label."""
    return " ".join(label.lower().split())


def is_coco_class(label: str, classes: frozenset[str] = _COCO80) -> bool:
    """Whether a label names one of COCO's 80 classes (names only, regular plurals allowed)."""
    word = normalise_label(label)
    if word in classes:
        return True
    for suffix in ("es", "s"):
        if word.endswith(suffix) and word[: -len(suffix)] in classes:
            return True
    return False


def singular_candidates(word: str) -> list[str]:
    """The word and its possible singulars, most literal first."""
    w = normalise_label(word)
    out = [w]
    if w in IRREGULAR_PLURALS:
        out.append(IRREGULAR_PLURALS[w])
    if w.endswith("ies"):
        out.append(w[:-3] + "y")
    if w.endswith("ves"):
        out += [w[:-3] + "f", w[:-3] + "fe"]
    if w.endswith("es"):
        out.append(w[:-2])
    if w.endswith("s") and not w.endswith("ss"):
        out.append(w[:-1])
    return list(dict.fromkeys(out))


def coco_class(word: str) -> str | None:
    """The COCO class one prompt word names, or None: the word or a singular of it equals a class
    name or an alias ("men" -> "person", "sofas" -> "couch"); no other inference ("puppy" is None)."""
    for candidate in singular_candidates(word):
        if candidate in _VOCABULARY:
            return _VOCABULARY[candidate]
    return None
