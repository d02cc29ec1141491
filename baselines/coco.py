"""COCO's 80 object classes and a simple, documented rule that maps a prompt word to one of them.

The paper's mIoU_80 restricts scoring to nouns among "the 80 COCO classes that the supervised
baselines were trained on". A word matches a class when its lower-cased form, or a singular of it
made by stripping a plural ending ("-s", "-es", "-ies" -> "-y", "-ves" -> "-f"/"-fe", or an
irregular plural such as "people"), equals the class name or one of the few synonyms below. The
synonyms are the everyday caption nouns for a class ("man" and "woman" for person, "sofa" for
couch, "table" for dining table); no other inference is made, so "puppy" is not a dog.
"""
from __future__ import annotations

from benchmark.metrics.coco import COCO80 as COCO_CLASSES  # one list of the 80 names

SYNONYMS: dict[str, str] = {
    **{w: "person" for w in ("man", "woman", "boy", "girl", "child", "kid", "baby", "guy", "lady",
                              "gentleman", "player", "people", "persons")},
    "bike": "bicycle", "motorbike": "motorcycle", "plane": "airplane", "aeroplane": "airplane",
    "jet": "airplane", "airliner": "airplane", "automobile": "car", "hydrant": "fire hydrant",
    "ski": "skis", "ball": "sports ball", "racket": "tennis racket", "racquet": "tennis racket",
    "wineglass": "wine glass", "mug": "cup", "doughnut": "donut", "hotdog": "hot dog",
    "sofa": "couch", "plant": "potted plant", "houseplant": "potted plant", "table": "dining table",
    "television": "tv", "phone": "cell phone", "cellphone": "cell phone", "smartphone": "cell phone",
    "fridge": "refrigerator", "teddy": "teddy bear", "hairdryer": "hair drier", "hair dryer": "hair drier",
    "scissor": "scissors", "necktie": "tie", "purse": "handbag", "luggage": "suitcase",
}

IRREGULAR_PLURALS: dict[str, str] = {
    "men": "man", "women": "woman", "children": "child", "people": "people", "mice": "mouse",
    "knives": "knife", "skis": "skis", "scissors": "scissors", "sheep": "sheep", "buses": "bus",
}

_VOCABULARY = {c: c for c in COCO_CLASSES} | SYNONYMS


def singular_candidates(word: str) -> list[str]:
    """The word and its possible singulars, most literal first."""
    w = " ".join(word.lower().split())
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
    """The COCO class a prompt word names, or None (see the module docstring for the rule)."""
    for candidate in singular_candidates(word):
        if candidate in _VOCABULARY:
            return _VOCABULARY[candidate]
    return None
