"""COCO-Gen and Unreal-Gen (paper 3.1): realistic and noun-swapped COCO captions to segment.

Both sample the same captions for the same seed and size. Unreal-Gen then permutes the nouns
over all prompts of the split (seeded), so the multiset of nouns is unchanged: the vocabulary
is held fixed while compositions become unlikely ("a giraffe riding a toaster").
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.splits.base import SplitItem, SplitOptions
from benchmark.splits.coco import sampled_captions
from benchmark.splits.coco_classes import class_matcher, token_forms
from benchmark.splits.nlp import parse
from benchmark.splits.nouns import Noun, caption_nouns, classes_by_word
from benchmark.splits.seeds import rng
from benchmark.splits.text import PromptWords, dedupe, token_exact_word

SAMPLE_STREAM = "coco-gen-sample"  # shared by both splits: the same captions
SWAP_STREAM = "unreal-gen-swap"


def build_coco_gen(options: SplitOptions) -> list[SplitItem]:
    captions = sampled_captions(options, "coco-gen", SAMPLE_STREAM, prefix_stable=True)
    matcher = class_matcher(options.spacy_model)
    items = []
    for caption, doc in zip(captions, parse(options.spacy_model, [c.text for c in captions])):
        words = PromptWords.of(caption.text)
        nouns = caption_nouns(doc, words)
        forms = token_forms(doc)
        classes = classes_by_word(nouns, [matcher.match(forms, n.token) for n in nouns])
        noun_words = dedupe(n.text for n in nouns)
        items.append(
            SplitItem(
                key=f"coco-{caption.id}",
                text=caption.text,
                words=noun_words,
                provenance={
                    "source": "coco",
                    "image_id": caption.image_id,
                    "caption_id": caption.id,
                    "nouns": list(noun_words),
                    "coco_classes": classes,
                },
            )
        )
    return items


@dataclass(frozen=True)
class _Slot:
    """A swappable noun: a whole DAAM word tagged NOUN, at token ``token`` of caption ``caption``."""

    caption: int
    token: int
    text: str  # as it will travel: a sentence-initial capital is dropped
    forms: tuple[str, str]


def _slots(docs, words: list[PromptWords]) -> list[_Slot]:
    slots = []
    for ci, (doc, pw) in enumerate(zip(docs, words)):
        for t in doc:
            if t.pos_ == "NOUN" and token_exact_word(t, pw) is not None:
                sentence_initial = t.is_sent_start and t.text[:1].isupper() and t.text[1:].islower()
                text = t.text.lower() if sentence_initial else t.text
                slots.append(_Slot(ci, t.i, text, (t.lower_, t.lemma_.lower())))
    return slots


def _place(text: str, original) -> str:
    """Capitalise a moved noun where the noun it replaces began a sentence with a capital."""
    if original.is_sent_start and original.text[:1].isupper():
        return text[:1].upper() + text[1:]
    return text


def _rewrite(doc, new_texts: dict[int, str]) -> tuple[str, dict[int, int]]:
    """The caption with tokens replaced; and each token's new start offset."""
    out, starts, offset = [], {}, 0
    for t in doc:
        starts[t.i] = offset
        piece = new_texts.get(t.i, t.text) + t.whitespace_
        out.append(piece)
        offset += len(piece)
    return "".join(out), starts


def build_unreal_gen(options: SplitOptions) -> list[SplitItem]:
    captions = sampled_captions(options, "unreal-gen", SAMPLE_STREAM)  # swaps span the split
    docs = parse(options.spacy_model, [c.text for c in captions])
    words = [PromptWords.of(c.text) for c in captions]
    slots = _slots(docs, words)
    moved = [slots[i] for i in rng(options.seed, SWAP_STREAM).permutation(len(slots))]
    arrivals: dict[int, list[tuple[_Slot, _Slot]]] = {}  # caption -> (slot, noun arriving there)
    for slot, noun in zip(slots, moved):
        arrivals.setdefault(slot.caption, []).append((slot, noun))

    matcher = class_matcher(options.spacy_model)
    items = []
    for ci, (caption, doc) in enumerate(zip(captions, docs)):
        pairs = arrivals.get(ci, [])
        new_texts = {slot.token: _place(noun.text, doc[slot.token]) for slot, noun in pairs}
        text, starts = _rewrite(doc, new_texts)
        new_words = PromptWords.of(text)
        forms = token_forms(doc)
        for slot, noun in pairs:
            forms[slot.token] = noun.forms
        nouns = [
            Noun(t.i, w, new_words.text_of(w))
            for t in doc
            if t.pos_ == "NOUN"
            if (w := new_words.containing(starts[t.i])) is not None
        ]
        noun_words = dedupe(n.text for n in nouns)
        items.append(
            SplitItem(
                key=f"unreal-{caption.id}",
                text=text,
                words=noun_words,
                provenance={
                    "source": "coco",
                    "image_id": caption.image_id,
                    "caption_id": caption.id,
                    "source_caption": caption.text,
                    "swaps": [
                        {"token_index": slot.token, "original": doc[slot.token].text, "new": new_texts[slot.token]}
                        for slot, _ in pairs
                    ],
                    "nouns": list(noun_words),
                    "coco_classes": classes_by_word(nouns, [matcher.match(forms, n.token) for n in nouns]),
                },
            )
        )
    return items
