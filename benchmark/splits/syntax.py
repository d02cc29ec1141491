"""Visuosyntactic analysis (paper 4): head-dependent word pairs of common dependency relations.

One item per (caption, pair) for the commonest relations over the sampled captions; every item
of a caption shares one generation seed, so a runner can generate each caption once and read
both words' maps from it. Each item also keeps every arc of its caption, which is what the
paper's two baselines need: unrelated word pairs (no arc) and all head-dependent pairs.
"""

from __future__ import annotations

from collections import Counter

from benchmark.splits.base import SplitItem, SplitOptions
from benchmark.splits.catalogue import spec
from benchmark.splits.coco import sampled_captions
from benchmark.splits.nlp import parse
from benchmark.splits.seeds import item_seed
from benchmark.splits.text import PromptWords, token_exact_word

SPLIT = "syntax"
ROOT = "ROOT"  # spaCy's label for the sentence root, whose head is itself: not a relation


def commonest_relations(docs, k: int) -> list[str]:
    counts = Counter(t.dep_ for doc in docs for t in doc if t.dep_ != ROOT and not t.is_space)
    return [rel for rel, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def word_arcs(doc, words: PromptWords) -> list[tuple[int, int, str]]:
    """(head word, dependent word, relation) for arcs whose tokens are both whole DAAM words."""
    arcs = []
    for t in doc:
        if t.dep_ == ROOT or t.is_space:
            continue
        dep, head = token_exact_word(t, words), token_exact_word(t.head, words)
        if dep is not None and head is not None:
            arcs.append((head, dep, t.dep_))
    return arcs


def build_syntax(options: SplitOptions) -> list[SplitItem]:
    captions = sampled_captions(options, SPLIT, "syntax-sample")
    docs = parse(options.spacy_model, [c.text for c in captions])
    relations = commonest_relations(docs, int(spec(SPLIT).params["relations"]))
    rank = {rel: i + 1 for i, rel in enumerate(relations)}
    items = []
    for caption, doc in zip(captions, docs):
        words = PromptWords.of(caption.text)
        arcs = word_arcs(doc, words)
        seed = item_seed(options.seed, f"syntax-{caption.id}")
        for head, dep, rel in arcs:
            head_text, dep_text = words.text_of(head), words.text_of(dep)
            if rel not in rank or head_text.lower() == dep_text.lower():
                continue  # same-text pairs would ask DAAM for one word twice
            items.append(
                SplitItem(
                    key=f"syntax-{caption.id}-w{dep}",  # a dependent has exactly one head
                    text=caption.text,
                    words=(head_text, dep_text),
                    seed=seed,
                    provenance={
                        "relation": rel,
                        "relation_rank": rank[rel],
                        "head": {"text": head_text, "index": head, "occurrence": words.occurrence(head)},
                        "dependent": {"text": dep_text, "index": dep, "occurrence": words.occurrence(dep)},
                        "arcs": [[h, d, r] for h, d, r in arcs],  # word indices: [head, dependent, relation]
                        "words": [w for w, _, _ in words.words],
                        "caption_id": caption.id,
                        "image_id": caption.image_id,
                    },
                )
            )
    return items
