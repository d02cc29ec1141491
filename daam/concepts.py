"""``daam.concept_attention``: ConceptAttention (Helbling et al., ICML 2025) beside DAAM.

ConceptAttention asks a joint-attention DiT where each of a set of *concepts* (words that need
not be in the prompt: "dog", "grass", "sky") lies in the image. The concepts travel through the
joint blocks as one side stream (``daam.streams``): one token per concept (the first token of
its own T5 encoding, as the paper's code takes it; the LLM encoding's on Qwen-Image and FLUX.2),
passed through the text embedder (``context_embedder``) and then
each joint block's text-side weights, attending to the image's keys and to each other (never to
the prompt), while the image attends to the prompt only and is unchanged. Its maps at a layer:

* ``space="output"`` (the paper's method): o_x, the image tokens' attention output (heads
  merged, before the output projection) of the generation's own joint attention, and o_c, the
  concepts' attention output; a pixel's map over concepts is ``softmax_c(o_x o_c^T)``.
* ``space="cross"`` (the paper's cross-attention baseline): ``softmax_c(q_x k_c^T / sqrt(d))``
  per head, image queries against concept keys, summed over heads.

Maps are summed over the selected layers and steps (each layer's map sums to 1 over concepts at
every pixel before that) and stored as the maps' vocabulary: ``word_map("dog")`` resolves a
concept, ``source="concepts"`` when the word is also in the prompt. The prompt's own DAAM maps are
traced as by ``daam.trace``.

One difference from the paper's code, on purpose: the concept tokens are modulated with the
block's own ``temb`` (the timestep and the prompt's pooled embedding), exactly as the prompt's
text is, where the paper's code builds a second ``temb`` from a zero pooled vector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from daam.streams import SPACES, SideStreams, check_supported, default_concept_layers
from daam.trace import TraceError, _frozen, trace
from daam.vocabulary import check_vocabulary

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline

ConceptLayers = str | int | Iterable[str | int] | Callable[[str], bool] | None


class concept_attention(trace):
    """Trace ConceptAttention maps of ``concepts`` (and the prompt's DAAM maps) while generating.

    >>> with daam.concept_attention(pipe, ["dog", "grass", "sky"]) as ca:
    ...     pipe("a dog on a lawn", generator=g)
    >>> ca.results()[0].word_map("sky").mask(0.4)

    ``space``: ``"output"`` (ConceptAttention) or ``"cross"`` (its cross-attention variant).
    ``layers``: the joint layers whose concept maps are summed, as names
    (``"transformer_blocks.12.attn"``), joint-block indices, or a predicate on the name; by default
    :func:`daam.streams.default_concept_layers` (FLUX.1: double-stream blocks 10-17 of 19, the
    paper's; other depths at the same relative place). ``steps``: the steps whose concept maps are
    summed (indices from 0 or a predicate; all by default). The concepts' side stream runs through
    every joint block either way. ``prompt_layers``/``prompt_steps`` select the prompt's DAAM maps
    (``daam.trace``'s ``layers``/``steps``); other ``trace_options`` go to ``daam.trace``.
    Supported: the families with side streams (:func:`daam.streams.supported_families`: SD3/SD3.5,
    FLUX.1, Chroma, Qwen-Image, FLUX.2 [dev]/[klein], Z-Image's single-stream main layers); others
    raise NotImplementedError.
    """

    def __init__(
        self,
        pipe: DiffusionPipeline,
        concepts: Iterable[str],
        *,
        space: str = "output",
        layers: ConceptLayers = None,
        steps=None,
        prompt_layers=None,
        prompt_steps=None,
        **trace_options,
    ) -> None:
        if "vocabulary" in trace_options:
            raise TypeError("concept_attention takes concepts, not a vocabulary (trace one or the other)")
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {space!r}")
        concepts = check_vocabulary(concepts)
        if not concepts:
            raise ValueError("concept_attention needs at least one concept")
        super().__init__(pipe, layers=prompt_layers, steps=prompt_steps, **trace_options)
        check_supported(self.adapter, "ConceptAttention")
        self.concepts = concepts
        self.space = space
        side = SideStreams(self.adapter, concepts, space, None, _frozen(steps))
        side.layers = frozenset(self._concept_layers(layers, list(side.joint)))
        self._side = side

    @staticmethod
    def _concept_layers(layers: ConceptLayers, joint: list[str]) -> list[str]:
        if layers is None:
            return [joint[i] for i in default_concept_layers(len(joint))]
        if callable(layers):
            chosen = [n for n in joint if layers(n)]
        else:
            items = [layers] if isinstance(layers, (str, int)) else list(layers)
            chosen = []
            for item in items:
                if isinstance(item, int) and not isinstance(item, bool):
                    if not 0 <= item < len(joint):
                        raise TraceError(f"joint block {item} does not exist: the model has {len(joint)} joint blocks")
                    chosen.append(joint[item])
                elif item in joint:
                    chosen.append(item)
                else:
                    raise TraceError(
                        f"{item!r} is not a joint (double-stream) layer; concept maps come from: {', '.join(joint)}"
                    )
        if not chosen:
            raise TraceError(f"the layers predicate selects none of the {len(joint)} joint layers")
        return chosen
