"""Open-vocabulary maps (OVAM, Marcos-Manchon et al., CVPR 2024): words that are not in the prompt.

Each vocabulary entry is encoded on its own, by the pipeline's own prompt encoder (e.g. "wooden
floor" -> [SOT, wooden, floor, EOT, padding]). At every traced cross-attention layer the
generation's image queries (the conditional rows) attend to that entry's keys, projected by the
layer's own ``to_k``, with the layer's head split and scale: ``softmax(Q K_entry^T / sqrt(d))``,
the softmax over the entry's own token sequence, as OVAM defines its attribution prompt's map.
The entry's map sums the columns of its own tokens (start, end and padding tokens excluded).
None of this feeds back into the layer: the image is the one generated without a vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch

from daam.adapters import UNetAdapter, cross_attention_probs


def normalise_entry(word: str) -> str:
    """How a vocabulary entry is matched by ``word_map``: case and runs of spaces ignored."""
    return " ".join(word.split()).lower()


def check_vocabulary(vocabulary: Iterable[str] | None) -> tuple[str, ...]:
    if vocabulary is None:
        return ()
    if isinstance(vocabulary, str):
        vocabulary = [vocabulary]
    entries = tuple(dict.fromkeys(" ".join(str(v).split()) for v in vocabulary))
    if any(not e for e in entries):
        raise ValueError("vocabulary entries must be non-empty words or phrases")
    return entries


@dataclass
class VocabularyKeys:
    """The entries' text encodings, their token columns, and each layer's projected keys (cached)."""

    entries: tuple[str, ...]
    embeddings: torch.Tensor  # [V, L, D]: what the denoiser's cross-attention would receive
    columns: tuple[tuple[int, ...], ...]  # per entry: the positions of its own tokens
    keys: dict[str, torch.Tensor] = field(default_factory=dict)

    def layer_keys(self, name: str, attn) -> torch.Tensor:
        if name not in self.keys:
            e = self.embeddings.to(attn.to_k.weight.device, attn.to_k.weight.dtype)
            if attn.norm_cross:
                e = attn.norm_encoder_hidden_states(e)
            self.keys[name] = attn.to_k(e)
        return self.keys[name]

    def probs(self, name: str, attn, query: torch.Tensor, heads=None) -> torch.Tensor:
        """``[batch, heads, pixels, V]``: each entry's attention, summed over its own tokens."""
        keys = self.layer_keys(name, attn)
        b = query.shape[0]
        out = []
        for j, cols in enumerate(self.columns):
            p = cross_attention_probs(attn, query, keys[j : j + 1].expand(b, -1, -1), None, heads)
            out.append(p[..., list(cols)].sum(-1, keepdim=True))
        return torch.cat(out, -1)


def encode_vocabulary(adapter, encode, entries: tuple[str, ...]) -> VocabularyKeys:
    """Encode ``entries`` with the pipeline's own (unwrapped) prompt encoder ``encode``."""
    if not isinstance(adapter, UNetAdapter) or adapter.family == "StableDiffusionInstructPix2PixPipeline":
        raise NotImplementedError(
            f"open-vocabulary maps (vocabulary=...) are implemented for UNet pipelines (SD 1.x/2.x, SDXL) "
            f"and, by side streams (daam.streams), for SD3 and FLUX.1; not yet for {adapter.family}"
        )
    pipe = adapter.pipe
    tok = getattr(pipe, "tokenizer", None) or getattr(pipe, "tokenizer_2", None)
    limit = tok.model_max_length
    columns = []
    for e in entries:
        ids = tok(e, truncation=True, max_length=limit).input_ids
        if len(ids) <= 2:
            raise ValueError(f"vocabulary entry {e!r} has no tokens of its own")
        columns.append(tuple(range(1, len(ids) - 1)))
    with torch.no_grad():
        result = encode(
            prompt=list(entries),
            device=pipe._execution_device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=False,
        )
    return VocabularyKeys(entries, result[0].detach(), tuple(columns))
