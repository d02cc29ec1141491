"""Generalised attribution (paper 3.2): word-prompt pairs over the commonest parts of speech.

Captions are parsed in seeded order, a chunk at a time, until each of the commonest coarse
(universal) spaCy tags has enough words; then N pairs are drawn per tag, each with its own
generation seed. Attention-check items ask raters about a punctuation mark, which is never
interpretable: raters who rate it are excluded (paper appendix A.2).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from benchmark.splits.base import SplitItem, SplitOptions
from benchmark.splits.catalogue import spec
from benchmark.splits.coco import Caption, load_captions, sample_captions
from benchmark.splits.errors import SplitError
from benchmark.splits.nlp import parse
from benchmark.splits.options import require_file
from benchmark.splits.seeds import item_seed, rng
from benchmark.splits.text import PromptWords, token_exact_word

SPLIT = "pos"


class NotEnoughWordsError(SplitError, ValueError):
    """The captions file has too few words of a common tag for the size asked."""


@dataclass(frozen=True)
class _Pair:
    caption: int  # index into the parsed captions
    token: int
    word: int  # DAAM word index; the token is exactly this word
    pos: str
    tag: str  # fine-grained tag (e.g. VBG, DT), kept for finer analyses


def _pairs(doc, words: PromptWords, ci: int) -> list[_Pair]:
    out = []
    for t in doc:
        w = token_exact_word(t, words)
        if w is not None and t.pos_ != "SPACE":
            out.append(_Pair(ci, t.i, w, t.pos_, t.tag_))
    return out


def _commonest(counts: Counter, k: int) -> list[str]:
    return [tag for tag, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def _parse_until_enough(
    options: SplitOptions, captions: list[Caption], n_tags: int, per_tag: int, chunk: int
) -> tuple[list[PromptWords], dict[str, list[_Pair]], list[str]]:
    """Parse chunk by chunk until the ``n_tags`` commonest tags each have ``per_tag`` pairs."""
    words: list[PromptWords] = []
    by_tag: dict[str, list[_Pair]] = {}
    counts: Counter = Counter()
    for start in range(0, len(captions), chunk):
        batch = captions[start : start + chunk]
        for doc, caption in zip(parse(options.spacy_model, [c.text for c in batch]), batch):
            pw = PromptWords.of(caption.text)
            words.append(pw)
            counts.update(t.pos_ for t in doc if t.pos_ != "SPACE")
            for pair in _pairs(doc, pw, len(words) - 1):
                by_tag.setdefault(pair.pos, []).append(pair)
        top = _commonest(counts, n_tags)
        if len(top) == n_tags and all(len(by_tag.get(tag, [])) >= per_tag for tag in top):
            return words, by_tag, top
    top = _commonest(counts, n_tags)
    if len(top) < n_tags:
        raise NotEnoughWordsError(
            f"split 'pos' needs {n_tags} POS tags but the captions ({len(captions)}) have only {len(top)}"
        )
    short = {tag: len(by_tag.get(tag, [])) for tag in top if len(by_tag.get(tag, [])) < per_tag}
    raise NotEnoughWordsError(
        f"split 'pos' asks for {per_tag} words per tag, but in {len(captions)} captions some of the "
        f"{n_tags} commonest tags have fewer: {short}; pass --size {min(short.values())} or fewer"
    )


def _item(caption: Caption, words: PromptWords, word: int, seed: int, key: str, **provenance) -> SplitItem:
    return SplitItem(
        key=key,
        text=words.text,
        words=(words.text_of(word),),
        seed=item_seed(seed, key),
        provenance={
            **provenance,
            "word_index": word,
            "occurrence": words.occurrence(word),
            "caption": caption.text,
            "caption_id": caption.id,
            "image_id": caption.image_id,
        },
    )


def _attention_checks(
    options: SplitOptions, captions: list[Caption], words: list[PromptWords], taken: set, n: int
) -> list[SplitItem]:
    """``n`` items targeting a punctuation mark, from distinct captions; "." is appended if none."""
    if n > len(words):
        raise NotEnoughWordsError(f"split 'pos' needs {n} attention checks but parsed only {len(words)} captions")
    stream = rng(options.seed, "pos-attention-checks")
    items = []
    for ci in stream.choice(len(words), size=n, replace=False):
        pw, caption = words[int(ci)], captions[int(ci)]
        marks = [
            i
            for i, (w, _, _) in enumerate(pw.words)
            if not w[0].isalnum() and w[0] != "_" and (int(ci), i) not in taken
        ]
        added = not marks
        if added:
            pw = PromptWords.of(caption.text + ".")
            marks = [len(pw.words) - 1]
        word = marks[int(stream.integers(len(marks)))]
        items.append(
            _item(
                caption,
                pw,
                word,
                options.seed,
                f"pos-check-{caption.id}-w{word}",
                pos="PUNCT",
                attention_check=True,
                punctuation_added=added,
            )
        )
    return items


def build_pos(options: SplitOptions) -> list[SplitItem]:
    info, params = spec(SPLIT).info, spec(SPLIT).params
    per_tag = options.size or info.default_size
    path = require_file(options, "coco_captions", SPLIT)
    captions = sample_captions(load_captions(path), None, rng(options.seed, "pos-sample"), SPLIT)
    words, by_tag, top = _parse_until_enough(
        options, captions, int(params["tags"]), per_tag, int(params["parse_chunk"])
    )
    pick = rng(options.seed, "pos-pick")
    items, taken = [], set()
    for rank, tag in enumerate(top):
        pool = by_tag[tag]
        for i in sorted(pick.choice(len(pool), size=per_tag, replace=False)):
            p = pool[int(i)]
            taken.add((p.caption, p.word))
            items.append(
                _item(
                    captions[p.caption],
                    words[p.caption],
                    p.word,
                    options.seed,
                    f"pos-{tag.lower()}-{captions[p.caption].id}-w{p.word}",
                    pos=tag,
                    tag=p.tag,
                    tag_rank=rank + 1,
                    token_index=p.token,
                    attention_check=False,
                )
            )
    n_checks = round(float(params["attention_check_share"]) * len(items))
    items += _attention_checks(options, captions, words, taken, n_checks)
    order = rng(options.seed, "pos-order").permutation(len(items))  # checks interleaved
    return [items[int(i)] for i in order]
