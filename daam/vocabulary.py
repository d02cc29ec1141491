"""Open-vocabulary maps (OVAM, Marcos-Manchon et al., CVPR 2024): words that are not in the prompt.

Families: cross-attention denoisers whose text is the same at every layer: UNet pipelines
(SD 1.x/2.x, SDXL), PixArt-Sigma/Alpha and Sana.

Each vocabulary entry is encoded on its own by the pipeline's own prompt encoder, with the
generation's own encoding settings (the arguments of the generation's encode call with the
prompt replaced: CLIP skip, PixArt's caption cleaning and ``max_sequence_length``, Sana's
complex human instruction), e.g. "wooden floor" -> [SOT, wooden, floor, EOT, padding]. The
encoding then takes the denoiser's own text path to what its cross-attention layers receive
(PixArt's caption projection; Sana's caption projection and caption norm). At every traced
layer the generation's image queries (the conditional rows) attend to that entry's keys, formed
by the layer's own ``to_k`` (and key norm) as its processor forms them, with the layer's head
split and scale: ``softmax(Q K_entry^T / sqrt(d) + mask_entry)``, the softmax over the entry's
own token sequence, its padding masked by the entry's own attention mask (PixArt, Sana), as
OVAM defines its attribution prompt's map. The entry's map sums the columns of its own word
tokens, found by the family's own alignment (``TextSegment.align``: its tokenizer, text
preprocessing and template): start, end and padding tokens and the tokens of Sana's instruction
take part in the softmax but belong to no word. None of this feeds back into the layer: the
image is the one generated without a vocabulary.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch

from daam.adapters import PixArtAdapter, TextSegment, UNetAdapter, cross_attention_probs, kernel_text_probs


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


def check_supported(adapter) -> None:
    """Open vocabulary needs cross-attention whose text is fixed across layers, with an encoder it can rerun."""
    if (
        not isinstance(adapter, (UNetAdapter, PixArtAdapter))
        or adapter.family == "StableDiffusionInstructPix2PixPipeline"
    ):
        raise NotImplementedError(
            "open-vocabulary maps (vocabulary=...) are implemented for cross-attention pipelines "
            "(SD 1.x/2.x, SDXL, PixArt-Sigma/Alpha, Sana) and, by side streams through joint blocks "
            f"(daam.streams), for SD3/SD3.5, FLUX.1, Chroma, Qwen-Image, FLUX.2 and Z-Image; not for {adapter.family}"
        )


@dataclass
class VocabularyKeys:
    """The entries' encodings, their word-token columns, and each layer's keys (computed once per layer)."""

    entries: tuple[str, ...]
    encoded: torch.Tensor  # [V, L, D]: the prompt encoder's output for the entries
    columns: tuple[tuple[int, ...], ...]  # per entry: the positions of its own word tokens
    # the denoiser's text path, encoded -> (what its cross-attention receives, additive mask or None)
    text_path: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]
    text: torch.Tensor | None = None
    mask: torch.Tensor | None = None  # [V, 1, L]: 0 on the entry's tokens, -10000 on its padding
    keys: dict[str, torch.Tensor] = field(default_factory=dict)

    def _text(self, device) -> tuple[torch.Tensor, torch.Tensor | None]:
        # taken while the denoiser runs: its modules are where they compute (offloading moves them)
        if self.text is None:
            self.text, self.mask = self.text_path(self.encoded.to(device))
        return self.text, self.mask

    def layer_keys(self, name: str, attn, device, kernel: bool = False) -> torch.Tensor:
        """The entries' keys at layer ``name``: ``[V, L, inner]`` as ``to_k`` returns them, or
        (``kernel``) ``[V, heads, L, head_dim]`` as Sana's processor hands them to the kernel."""
        if name not in self.keys:
            e, _ = self._text(device)
            e = e.to(device, attn.to_k.weight.dtype)
            if attn.norm_cross:
                e = attn.norm_encoder_hidden_states(e)
            k = attn.to_k(e)
            if kernel:  # SanaAttnProcessor2_0: norm_k on the projected keys, then the head split
                if attn.norm_k is not None:
                    k = attn.norm_k(k)
                k = k.view(k.shape[0], k.shape[1], attn.heads, -1).transpose(1, 2)
            self.keys[name] = k
        return self.keys[name]

    def probs(self, name: str, attn, query: torch.Tensor, heads=None) -> torch.Tensor:
        """``[batch, heads, pixels, V]`` from ``to_q``'s output ``query`` (``[batch, pixels, inner]``):
        each entry's attention, summed over its own word tokens."""
        keys = self.layer_keys(name, attn, query.device)
        b = query.shape[0]
        out = []
        for j, cols in enumerate(self.columns):
            mask = self.mask[j : j + 1].expand(b, -1, -1) if self.mask is not None else None
            p = cross_attention_probs(attn, query, keys[j : j + 1].expand(b, -1, -1), mask, heads)
            out.append(p[..., list(cols)].sum(-1, keepdim=True))
        return torch.cat(out, -1)

    def kernel_probs(self, name: str, attn, query: torch.Tensor, scale=None, heads=None) -> torch.Tensor:
        """As ``probs``, from the query the attention kernel received (``[batch, heads, pixels, dim]``,
        ``heads`` already selected) and the kernel's ``scale``."""
        keys = self.layer_keys(name, attn, query.device, kernel=True)
        if heads is not None:
            keys = keys[:, heads]
        b = query.shape[0]
        out = []
        for j, cols in enumerate(self.columns):
            mask = self.mask[j : j + 1] if self.mask is not None else None  # [1, 1, L]: broadcast
            k = keys[j : j + 1].expand(b, -1, -1, -1)
            p = kernel_text_probs(query, k, slice(None), torch.tensor(cols), scale, mask)
            out.append(p.sum(-1, keepdim=True))
        return torch.cat(out, -1)


def entry_arguments(method, args, kwargs, entries: tuple[str, ...]) -> dict:
    """The generation's encode-call arguments with the prompt replaced by ``entries``: one
    encoding each, no guidance, every other prompt-like argument (negative prompt, embeddings,
    masks, SDXL's ``prompt_2``) back at its default; the encoding settings kept."""
    sig = inspect.signature(method)
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    call = {}
    for name, value in bound.arguments.items():
        param = sig.parameters[name]
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            call.update(value)
        elif param.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        elif name == "prompt":
            call[name] = list(entries)
        elif name == "num_images_per_prompt":
            call[name] = 1
        elif name == "do_classifier_free_guidance":
            call[name] = False
        elif "prompt" in name or "attention_mask" in name:
            call[name] = param.default if param.default is not inspect.Parameter.empty else None
        else:
            call[name] = value
    return call


def settings_key(call: dict) -> str:
    """What decides an encoding of the vocabulary besides the entries: equal keys share it."""
    return repr(sorted((k, v) for k, v in call.items() if k != "prompt"))


def entry_columns(entry: str, segments: list[TextSegment]) -> tuple[int, ...]:
    """Positions of ``entry``'s own word tokens in its encoding, by the family's alignment."""
    cols = []
    for seg in segments:
        toks = seg.align(entry)
        cols += [seg.offset + toks.position + t for w in toks.words for t in w.tokens]
    if not cols:
        names = ", ".join(s.name for s in segments) or "no text encoder"
        raise ValueError(
            f"vocabulary entry {entry!r} has no tokens of its own in its encoding ({names}): "
            "its text leaves no word token after the pipeline's text preprocessing and tokenizer"
        )
    return tuple(sorted(set(cols)))


def encode_vocabulary(adapter, method, call: dict) -> VocabularyKeys:
    """Encode the entries by the pipeline's own (unwrapped) prompt encoder ``method`` called with
    ``call`` (``entry_arguments``: the generation's settings, the entries as the prompt)."""
    check_supported(adapter)
    entries = tuple(call["prompt"])
    with torch.no_grad():
        result = method(**call)
    segments = adapter.read_encode_call(method, (), call, result).segments
    columns = tuple(entry_columns(e, segments) for e in entries)
    return VocabularyKeys(entries, result[0].detach(), columns, adapter.vocabulary_text_path(result))
