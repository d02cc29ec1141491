"""Side streams: extra text tokens carried through a joint DiT's double-stream blocks.

In a joint-attention DiT (SD3's MMDiT; the double-stream blocks of FLUX.1, Chroma, Qwen-Image and
FLUX.2) the text has a residual
stream of its own that changes block by block, because it attends to the image. A word's keys at
block l are therefore not a projection of a fixed encoding, as they are in a UNet's
cross-attention. To ask what the image says about a text that is not the prompt, we carry that
text through the blocks beside the generation, as a *side stream*:

* it starts as the text encoded by the pipeline's own prompt encoder (with the prompt call's
  own settings, template included) and passed through the transformer's text embedder
  (``context_embedder``; Qwen-Image's ``txt_norm`` and ``txt_in``), as the prompt is;
* in each joint block it gets the text stream's own modulation (SD3/FLUX.1: ``norm1_context``
  with the block's ``temb``; Chroma: the text half of its precomputed, pruned modulation;
  Qwen-Image: ``txt_mod``; FLUX.2: the text modulation computed once outside the blocks), the text
  projections (``add_q_proj``/``add_k_proj``/``add_v_proj``, ``norm_added_q``/``norm_added_k``),
  the rotary embedding of the text positions the prompt's tokens have (FLUX.1/Chroma: text ids
  are zeros; FLUX.2 and Qwen-Image: side token i gets the prompt's text position i), attends to
  [the image's keys; its own keys] with the image's values beside its own, masked as the block
  masks the prompt's text (its own padding: Chroma, Qwen-Image), and goes through ``to_add_out``,
  the gates, the second norm and the text feed-forward exactly as the block treats the prompt's
  text (SD3's last block, ``context_pre_only``, ends it);
* the image's q/k/v (and its attention output) are what the block computed anyway, read at the
  attention kernel: the side stream never attends to the prompt's text and the image never
  attends to it, so the generation is bit-for-bit the one without it.

Z-Image has no double-stream blocks: its side text enters as a caption (``cap_embedder``, padded
to 32 with ``cap_pad_token``, the caption-only ``context_refiner``) and passes through every main
layer's shared weights with the caption's modulation and caption positions (1 + i, 0, 0),
attending to [the image's keys (padded to 32); its own keys] (docs/METHOD.md).

Only the conditional rows of a classifier-free-guidance batch carry side streams. A side stream
holds ``groups`` sequences per image, all in one batch: the open vocabulary gives each entry its
own sequence (the entry's full encoding), ConceptAttention puts all concepts in one sequence (one
token per concept, so concepts attend to each other, as the paper's do).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import torch

from daam.adapters import (
    _SDPA,
    Adapter,
    ChromaAdapter,
    Flux2Adapter,
    FluxAdapter,
    QwenImageAdapter,
    SD3Adapter,
    ZImageAdapter,
    _bind,
    kernel_text_probs,
)

# families whose joint blocks are mirrored here (exact types: each family's blocks differ)
SIDE_STREAM_ADAPTERS: tuple[type[Adapter], ...] = (
    SD3Adapter,
    FluxAdapter,
    ChromaAdapter,
    QwenImageAdapter,
    Flux2Adapter,
    ZImageAdapter,
)
FAMILY_NAMES = "SD3/SD3.5, FLUX.1, Chroma, Qwen-Image, FLUX.2 and Z-Image"
SPACES = ("output", "cross")


def supports(adapter: Adapter) -> bool:
    return type(adapter) in SIDE_STREAM_ADAPTERS


def supported_families() -> list[str]:
    return sorted(name for a in SIDE_STREAM_ADAPTERS for name in a.families)


def check_supported(adapter: Adapter, what: str) -> None:
    if not supports(adapter):
        raise NotImplementedError(
            f"{what} on diffusion transformers needs side streams through joint (double-stream) blocks "
            f"or Z-Image's main layers, implemented for {FAMILY_NAMES} ({', '.join(supported_families())}), "
            f"not {adapter.family}"
        )


def default_concept_layers(n_blocks: int) -> list[int]:
    """Joint blocks ConceptAttention reads by default: the paper's FLUX.1 layers 10-17 of 19
    double-stream blocks (its code's ``concept_attention_layers``), at the same relative depth
    for other block counts (at least one block)."""
    lo, hi = n_blocks * 10 // 19, n_blocks * 18 // 19
    return list(range(min(lo, n_blocks - 1), max(hi, lo + 1)))


@dataclass
class SideText:
    """A side stream's start for one pipeline call: its text encodings and token columns."""

    embeddings: torch.Tensor  # [groups, tokens, encoder dim]: what the denoiser's text embedder takes
    columns: tuple[tuple[int, ...], ...] = ()  # per group: its own tokens' positions (vocabulary)
    # [groups, tokens]: the encoder's padding mask for the denoiser (Chroma, Qwen-Image), as the
    # pipeline hands the prompt's to its transformer; None: no padding to mask
    mask: torch.Tensor | None = None


@dataclass
class _State:
    """One denoiser call's side stream."""

    hidden: torch.Tensor | None  # [images * groups, tokens, dim]; None once a context_pre_only block ended it
    groups: int
    # the side text before ``context_embedder``: embedded at the first joint block, where the
    # denoiser's weights are on their device (model/sequential offload moves them only after the
    # denoiser's pre-hooks have run)
    pending: torch.Tensor | None = None
    images: int = 1
    mask: torch.Tensor | None = None  # the side text's own padding mask, [groups, tokens]
    temb: dict[int, torch.Tensor] = field(default_factory=dict)  # per block: the text stream's modulation input
    rotary: dict[int, object] = field(default_factory=dict)  # per block: its rotary embedding argument
    block_mask: dict[int, torch.Tensor | None] = field(default_factory=dict)  # per block: its text mask argument
    side_rotary: object = None  # the side tokens' rotary embedding (computed once per call)
    image_keys: int = 0  # Z-Image: the image part's length (padded to 32), where the caption's positions start


def _encode_like_the_prompt(encode, args, kwargs, texts: list[str]) -> dict:
    """The prompt call's encoder arguments with ``texts`` as the prompt: same sequence length,
    device, clip skip and LoRA scale; one image each, no guidance, no negatives."""
    a = _bind(encode, args, kwargs)
    for name in list(a):
        if name.startswith("negative_") or name.endswith(("_embeds", "_mask")):
            a[name] = None
    a["prompt"] = list(texts)
    for name in ("prompt_2", "prompt_3"):
        if name in a:
            a[name] = None  # defaults to `prompt`
    if "num_images_per_prompt" in a:
        a["num_images_per_prompt"] = 1
    if "do_classifier_free_guidance" in a:
        a["do_classifier_free_guidance"] = False
    return a


def encode_side_text(adapter: Adapter, encode, args, kwargs, texts: tuple[str, ...], how: str) -> SideText:
    """Encode ``texts`` with the pipeline's own (unwrapped) encoder, as the prompt call encoded its prompt.

    ``how="entries"``: one sequence per text, the full encoding, with each text's own token columns
    in every text segment (SD3: CLIP and T5). ``how="concepts"``: one sequence of one token per
    text, the first token of the text's own encoding in the T5 segment (the paper's concept
    token; the CLIP segment's when there is no T5 part).
    """
    a = _encode_like_the_prompt(encode, args, kwargs, list(texts))
    with torch.no_grad():
        result = encode(**a)
    enc = adapter.read_encode_call(encode, (), a, result)
    if torch.is_tensor(enc.cond):
        emb, mask = enc.cond.detach(), _encoded_mask(adapter, result)
    else:  # one tensor per text, each its own length (Z-Image): padded to the longest, the rest masked
        emb, mask = _stack_padded([c.detach() for c in enc.cond])
    per_text = []
    for text in texts:
        cols = []
        for seg in enc.segments:
            tokens = seg.align(text)
            cols.append([seg.offset + tokens.position + t for w in tokens.words for t in w.tokens])
        if not any(cols):
            raise ValueError(f"{text!r} has no tokens of its own in the pipeline's text encoding")
        per_text.append(cols)
    if how == "entries":
        columns = tuple(tuple(sorted({c for seg_cols in cols for c in seg_cols})) for cols in per_text)
        return SideText(emb, columns, mask)
    names = [seg.name for seg in enc.segments]
    which = names.index("t5") if "t5" in names else len(names) - 1
    picks = []
    for i, cols in enumerate(per_text):
        seg_cols = cols[which] or next(c for c in cols if c)
        picks.append(emb[i][seg_cols[0]])
    return SideText(torch.stack(picks)[None])  # one token per concept: nothing to mask


def _stack_padded(items: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-text encodings ``[L_i, dim]`` as ``[texts, max L, dim]`` (zeros after each text's own
    tokens) and the mask of its own tokens (None when all have the same length)."""
    longest = max(len(t) for t in items)
    emb = items[0].new_zeros(len(items), longest, items[0].shape[-1])
    mask = torch.zeros(len(items), longest, dtype=torch.bool, device=items[0].device)
    for i, t in enumerate(items):
        emb[i, : len(t)], mask[i, : len(t)] = t, True
    return emb, None if bool(mask.all()) else mask


def _encoded_mask(adapter: Adapter, result) -> torch.Tensor | None:
    """The padding mask an encode call returns beside the embeddings, for the transformer."""
    if type(adapter) is ChromaAdapter:  # (embeds, text ids, mask, negative embeds, negative ids, negative mask)
        mask = result[2]
    elif type(adapter) is QwenImageAdapter:  # (embeds, mask); None when nothing is padded
        mask = result[1]
    else:
        return None
    return mask.detach() if torch.is_tensor(mask) else None


def _text_temb(block, bound: dict) -> torch.Tensor | None:
    """What a joint block modulates its text stream with, from its call's arguments."""
    kind = type(block).__name__
    if kind == "Flux2TransformerBlock":  # computed once outside the blocks
        return bound.get("temb_mod_txt")
    if kind == "ZImageTransformerBlock":  # one modulation for every token (the omni variant's per-token one is not)
        return bound.get("adaln_input") if bound.get("noise_mask") is None else None
    temb = bound.get("temb")
    if temb is None:
        return None
    if kind == "ChromaTransformerBlock":  # [B, 12, dim]: image's 6 then text's 6 pruned modulations
        return temb[:, 6:]
    if kind == "QwenImageTransformerBlock" and getattr(block, "zero_cond_t", False):
        return temb.chunk(2, dim=0)[0]  # as the block's txt_mod takes it
    return temb


def _block_of(denoiser: torch.nn.Module, layer: str) -> torch.nn.Module:
    return denoiser.get_submodule(layer.rsplit(".", 1)[0])


def _text_projections(attn, x: torch.Tensor):
    """(q, k, v) of text hidden states ``x`` [N, L, dim] as ``[N, L, heads, head dim]``, q/k normed."""
    if getattr(attn, "fused_projections", False) and hasattr(attn, "to_added_qkv"):
        q, k, v = attn.to_added_qkv(x).chunk(3, dim=-1)
    else:
        q, k, v = attn.add_q_proj(x), attn.add_k_proj(x), attn.add_v_proj(x)
    heads = attn.heads
    q, k, v = (t.unflatten(-1, (heads, -1)) for t in (q, k, v))
    if getattr(attn, "norm_added_q", None) is not None:
        q = attn.norm_added_q(q)
    if getattr(attn, "norm_added_k", None) is not None:
        k = attn.norm_added_k(k)
    return q, k, v


def _rope(x: torch.Tensor, rotary) -> torch.Tensor:
    """``x`` [N, L, heads, head dim] with the side tokens' rotary embedding: a (cos, sin) pair of
    [L, head dim] (FLUX.1, Chroma, FLUX.2) or Qwen-Image's complex frequencies [L, head dim / 2]."""
    if torch.is_tensor(rotary):
        from diffusers.models.transformers.transformer_qwenimage import apply_rotary_emb_qwen

        return apply_rotary_emb_qwen(x, rotary, use_real=False)
    from diffusers.models.embeddings import apply_rotary_emb

    return apply_rotary_emb(x, rotary, sequence_dim=1)


def side_qkv(block, attn, hidden, temb, rotary):
    """The text stream's first half of a joint block for side tokens ``hidden`` [N, L, dim], with
    ``temb`` the block's text modulation input and ``rotary`` the side tokens' rotary embedding:
    (q, k, v as [N, heads, L, head dim], the modulation left for the second half)."""
    kind = type(block).__name__
    if kind == "ZImageTransformerBlock":  # the layer's own weights, modulated as its caption tokens are
        return _z_image_qkv(block, attn, hidden, temb, rotary)
    if kind == "QwenImageTransformerBlock":
        mod1, mod2 = block.txt_mod(temb).chunk(2, dim=-1)
        normed, gate1 = block._modulate(block.txt_norm1(hidden), mod1)
        mod = (gate1, mod2)
    elif kind == "Flux2TransformerBlock":
        from diffusers.models.transformers.transformer_flux2 import Flux2Modulation

        (shift, scale, gate), rest = Flux2Modulation.split(temb, 2)
        normed = (1 + scale) * block.norm1_context(hidden) + shift
        mod = (gate, *rest)
    elif getattr(block, "context_pre_only", False):
        normed, mod = block.norm1_context(hidden, temb), None
    else:  # SD3's JointTransformerBlock, FLUX.1's and Chroma's (pruned modulation passed in as temb)
        normed, *mod = block.norm1_context(hidden, emb=temb)
    q, k, v = _text_projections(attn, normed)
    if rotary is not None:
        q, k = _rope(q, rotary), _rope(k, rotary)
    return q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), mod


def side_update(block, attn, hidden, out, mod) -> torch.Tensor | None:
    """The text stream's second half of a joint block: output projection, gates, second norm and
    text feed-forward, for side tokens ``hidden`` with attention output ``out`` [N, L, heads * head dim]."""
    if mod is None:  # SD3's last block: the text stream ends here
        return None
    kind = type(block).__name__
    if kind == "ZImageTransformerBlock":
        return _z_image_update(block, attn, hidden, out, mod)
    ctx = attn.to_add_out(out)
    if kind == "QwenImageTransformerBlock":
        gate1, mod2 = mod
        hidden = hidden + gate1 * ctx
        normed, gate2 = block._modulate(block.txt_norm2(hidden), mod2)
        hidden = hidden + gate2 * block.txt_mlp(normed)
    elif kind == "Flux2TransformerBlock":
        c_gate_msa, c_shift_mlp, c_scale_mlp, c_gate_mlp = mod  # each [N or 1, 1, dim]
        hidden = hidden + c_gate_msa * ctx
        normed = block.norm2_context(hidden) * (1 + c_scale_mlp) + c_shift_mlp
        hidden = hidden + c_gate_mlp * block.ff_context(normed)
    else:
        c_gate_msa, c_shift_mlp, c_scale_mlp, c_gate_mlp = mod
        hidden = hidden + c_gate_msa.unsqueeze(1) * ctx
        normed = block.norm2_context(hidden) * (1 + c_scale_mlp[:, None]) + c_shift_mlp[:, None]
        chunk = getattr(block, "_chunk_size", None)
        if chunk is not None:
            from diffusers.models.attention import _chunked_feed_forward

            ff = _chunked_feed_forward(block.ff_context, normed, block._chunk_dim, chunk)
        else:
            ff = block.ff_context(normed)
        hidden = hidden + c_gate_mlp.unsqueeze(1) * ff
    if hidden.dtype == torch.float16 and kind != "JointTransformerBlock":  # (Z-Image returned above)
        hidden = hidden.clip(-65504, 65504)  # as FLUX's, Chroma's, Qwen-Image's and FLUX.2's blocks clip text
    return hidden


def _z_image_rope(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """``x`` [N, L, heads, head dim] rotated by complex frequencies [N or 1, L, head dim / 2], as
    Z-Image's attention processor rotates its queries and keys."""
    z = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(z * freqs.unsqueeze(2)).flatten(3).type_as(x)


def _z_image_qkv(block, attn, hidden, adaln, rotary):
    """A Z-Image main layer's first half for side tokens: its global modulation (``adaLN_modulation``
    of the layer's ``adaln_input``), ``attention_norm1``, ``to_q``/``to_k``/``to_v``, the q/k
    norms and the rotary embedding ``rotary`` [1, L, head dim / 2] of the side tokens' positions."""
    mod = block.adaLN_modulation(adaln)
    scale_msa, gate_msa, scale_mlp, gate_mlp = mod.unsqueeze(1).chunk(4, dim=2)
    normed = block.attention_norm1(hidden) * (1.0 + scale_msa)
    q, k, v = (proj(normed).unflatten(-1, (attn.heads, -1)) for proj in (attn.to_q, attn.to_k, attn.to_v))
    if attn.norm_q is not None:
        q = attn.norm_q(q)
    if attn.norm_k is not None:
        k = attn.norm_k(k)
    if rotary is not None:
        q, k = _z_image_rope(q, rotary), _z_image_rope(k, rotary)
    return q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), (gate_msa.tanh(), 1.0 + scale_mlp, gate_mlp.tanh())


def _z_image_update(block, attn, hidden, out, mod) -> torch.Tensor:
    """A Z-Image main layer's second half: ``to_out``, the gated ``attention_norm2`` residual, then
    the gated feed-forward between ``ffn_norm1`` and ``ffn_norm2``."""
    gate_msa, scale_mlp, gate_mlp = mod
    attn_out = attn.to_out[0](out)
    if len(attn.to_out) > 1:
        attn_out = attn.to_out[1](attn_out)
    hidden = hidden + gate_msa * block.attention_norm2(attn_out)
    return hidden + gate_mlp * block.ffn_norm2(block.feed_forward(block.ffn_norm1(hidden) * scale_mlp))


class SideStreams:
    """Side streams of one ``daam.trace``: their text, their state per denoiser call, their maps.

    ``mode``: ``"vocabulary"`` (each entry its own sequence; a layer's map of an entry is the image
    queries' attention to the entry's own tokens, the softmax over [image keys; the entry's keys]),
    ``"output"`` or ``"cross"`` (ConceptAttention: all concepts in one sequence; softmax over the
    concepts of o_x o_c^T, or of q_x k_c^T per head).
    """

    def __init__(self, adapter: Adapter, texts: tuple[str, ...], mode: str, layers=None, steps=None):
        if mode not in ("vocabulary", *SPACES):
            raise ValueError(f"side stream mode must be 'vocabulary' or one of {SPACES}, got {mode!r}")
        self.adapter = adapter
        self.texts = texts
        self.mode = mode
        self.layers = layers  # layer names whose maps are recorded (None: all joint layers)
        self.steps = steps  # step selector (None: all)
        # the joint layers; Z-Image's main layers, single-stream, where image and caption meet
        z_image = type(adapter) is ZImageAdapter
        self.joint = {name: spec for name, spec in adapter.layers().items() if spec.kind == "joint" or z_image}
        self.block_index = {name: i for i, name in enumerate(self.joint)}
        self._state: _State | None = None
        self._call: tuple = ((), {})  # the current denoiser call's (args, kwargs)

    @property
    def method(self) -> str:
        return "ovam-joint" if self.mode == "vocabulary" else f"conceptattention-{self.mode}"

    def install(self) -> list:
        """Pre-hooks on the joint blocks that note what each block gets for its text stream: the
        text modulation input, the rotary embedding and the text mask."""
        denoiser = self.adapter.denoiser()
        undo = []
        for name in self.joint:
            block = _block_of(denoiser, name)
            params = list(inspect.signature(block.forward).parameters)
            index = self.block_index[name]

            def hook(module, args, kwargs, index=index, params=params):
                state = self._state
                if state is None:
                    return None
                bound = dict(zip(params, args))
                bound.update(kwargs)
                state.temb[index] = _text_temb(module, bound)
                state.rotary[index] = bound.get("image_rotary_emb", bound.get("freqs_cis"))
                state.block_mask[index] = bound.get("attention_mask", bound.get("encoder_hidden_states_mask"))
                return None

            undo.append(block.register_forward_pre_hook(hook, with_kwargs=True).remove)
        return undo

    def encode(self, encode, args, kwargs) -> SideText:
        how = "entries" if self.mode == "vocabulary" else "concepts"
        return encode_side_text(self.adapter, encode, args, kwargs, self.texts, how)

    def start(self, side: SideText, rows: torch.Tensor, active: bool, args=(), kwargs=None) -> None:
        """A conditional denoiser call (``args``/``kwargs``) begins: the side tokens will enter
        through the text embedder at the first joint block."""
        if not active:
            self._state = None
            return
        self._state = _State(None, side.embeddings.shape[0], pending=side.embeddings, images=len(rows), mask=side.mask)
        self._call = (args, kwargs or {})

    def _embed(self, state: _State, device: torch.device) -> None:
        """The side tokens enter through the denoiser's text embedder (once per denoiser call)."""
        t = self.adapter.denoiser()
        if type(self.adapter) is ZImageAdapter:
            x = self._z_image_caption(state, device)
        elif type(self.adapter) is QwenImageAdapter:
            x = t.txt_in(t.txt_norm(state.pending.to(device, t.txt_in.weight.dtype)))
        else:
            x = t.context_embedder(state.pending.to(device, t.context_embedder.weight.dtype))  # [groups, tokens, dim]
        state.hidden, state.pending = x.repeat(state.images, 1, 1), None

    def _z_image_caption(self, state: _State, device) -> torch.Tensor:
        """Z-Image: each side text enters as the transformer enters a caption: ``cap_embedder``; an
        entry's caption padded to a multiple of 32 with ``cap_pad_token`` (concepts, one token each,
        are not padded); the caption positions (1 + i, 0, 0); ``context_refiner``, which sees the
        caption alone. Texts of different lengths are batched as the transformer batches
        captions: padded with zeros that the refiner and every main layer mask out. Sets the side
        tokens' key mask (None: nothing masked) and their rotary embedding."""
        from diffusers.models.transformers.transformer_z_image import SEQ_MULTI_OF

        t = self.adapter.denoiser()
        pending = state.pending.to(device, t.cap_embedder[1].weight.dtype)
        own = state.mask.to(device) if state.mask is not None else None
        lengths = [int(m.sum()) for m in own] if own is not None else [pending.shape[1]] * state.groups
        pad = self.mode == "vocabulary"
        padded = [n + (-n) % SEQ_MULTI_OF if pad else n for n in lengths]
        width = max(padded)
        x = t.cap_embedder(pending)  # per token: the rows past a text's own length are replaced below
        x = torch.cat([x, x.new_zeros(x.shape[0], max(0, width - x.shape[1]), x.shape[2])], 1)[:, :width]
        keys = torch.zeros(state.groups, width, dtype=torch.bool, device=device)
        for i, (n, p) in enumerate(zip(lengths, padded)):
            x[i, n:p] = t.cap_pad_token.to(x.dtype)
            x[i, p:] = 0
            keys[i, :p] = True
        ids = torch.zeros(width, 3, dtype=torch.int32, device=device)
        ids[:, 0] = torch.arange(1, width + 1, dtype=torch.int32, device=device)
        state.side_rotary = t.rope_embedder(ids)[None]  # [1, width, head dim / 2]
        state.mask = None if bool(keys.all()) else keys
        freqs = state.side_rotary.expand(state.groups, -1, -1)
        for layer in t.context_refiner:
            x = layer(x, state.mask, freqs)
        return x

    def stop(self) -> None:
        self._state = None

    @property
    def running(self) -> bool:
        return self._state is not None and (self._state.hidden is not None or self._state.pending is not None)

    def step(
        self, name: str, attn, captured, rows, text_len: int, columns, heads=None, n_image=None
    ) -> torch.Tensor | None:
        """Carry the side stream through joint layer ``name``; return its maps when recorded there,
        ``[images, heads or 1, image tokens, groups]`` in float32 (``n_image``: the generated image's
        tokens, the first of the image part; None: all)."""
        state = self._state
        if state is None or name not in self.joint or (state.hidden is None and state.pending is None):
            return None
        q, k, v, out, mask, scale = captured
        if state.pending is not None:
            with torch.no_grad():
                self._embed(state, q.device)
        masked = type(self.adapter) in (ChromaAdapter, QwenImageAdapter, ZImageAdapter)
        if mask is not None and not masked:
            raise NotImplementedError(
                f"layer {name}: an attention mask reached the kernel, which side streams through "
                f"{type(_block_of(self.adapter.denoiser(), name)).__name__} do not mirror"
            )
        index = self.block_index[name]
        block = _block_of(self.adapter.denoiser(), name)
        spec = self.joint[name]
        with torch.no_grad():
            q, k, v, out = q[rows], k[rows], v[rows], out[rows]
            seq = q.shape[2]
            if type(self.adapter) is ZImageAdapter:  # [image padded to 32; caption padded to 32; batch padding]
                img = slice(0, self.adapter.joint_slices(spec, seq, text_len, n_image)[1])
                state.image_keys = img.stop
            else:
                img = slice(text_len, seq) if spec.text_first else slice(0, seq - text_len)
            g = state.groups
            temb = state.temb.get(index)
            if temb is None:
                raise RuntimeError(f"block of {name} was called without its modulation: side streams cannot follow it")
            n = state.hidden.shape[0]
            temb = temb[rows].repeat_interleave(g, 0) if temb.shape[0] > 1 else temb.expand(n, *temb.shape[1:])
            rotary = self._side_rotary(name, state, index, text_len, q.device)
            qs, ks, vs, mod = side_qkv(block, attn, state.hidden, temb, rotary)
            ki, vi = k[:, :, img].repeat_interleave(g, 0), v[:, :, img].repeat_interleave(g, 0)
            keys, values = torch.cat([ki, ks.to(ki.dtype)], 2), torch.cat([vi, vs.to(vi.dtype)], 2)
            side_mask, image_mask = (
                self._masks(state, index, rows, text_len, ki.shape[2], ki.dtype, ki.device) if masked else (None, None)
            )
            o = _SDPA(qs.to(ki.dtype), keys, values, attn_mask=side_mask, scale=scale)  # [N, heads, L, head dim]
            merged = o.transpose(1, 2).flatten(2).to(state.hidden.dtype)
            state.hidden = side_update(block, attn, state.hidden, merged, mod)
            if self.layers is not None and name not in self.layers:
                return None
            own = slice(img.start, img.start + n_image) if n_image is not None else img
            if image_mask is not None and image_mask.shape[2] > 1:
                image_mask = image_mask[:, :, : own.stop - own.start]
            return self._maps(q[:, :, own], keys, o, out[:, :, own], g, ki.shape[2], columns, scale, heads, image_mask)

    def _masks(self, state: _State, index: int, rows, text_len: int, n_keys: int, dtype, device):
        """(side queries' mask [N, 1, L, image keys + L], image queries' mask [N, 1, 1 or image
        queries, image keys + L]) as the block masks the prompt's text, with the side tokens' own
        padding in the prompt's place; (None, None) where nothing is masked.

        Chroma: the block gets a sequence mask [B, text + image] and attends with its outer
        product (queries x keys), in the mask's own dtype (the pipeline's is 0/1 float, which the
        kernel adds to the scores); a call without a mask is mirrored without one. Qwen-Image: a
        boolean key mask [text; image] (the pipeline passes none when no prompt is padded; the
        side text's own padding is masked either way, as it would be were it the prompt)."""
        own = state.mask
        g, images = state.groups, state.images
        if type(self.adapter) in (QwenImageAdapter, ZImageAdapter):  # Z-Image's: set by _z_image_caption
            if own is None:
                return None, None
            own = own.to(device, torch.bool).repeat(images, 1)  # [N, L]
            image = torch.ones(own.shape[0], n_keys, dtype=torch.bool, device=device)
            keys = torch.cat([image, own], 1)[:, None, None, :]
            return keys, keys
        seq = state.block_mask.get(index)  # Chroma
        if seq is None:
            return None, None
        image = seq[rows][:, text_len : text_len + n_keys].repeat_interleave(g, 0)  # [N, image keys]
        if own is None:
            own = torch.ones(g, state.hidden.shape[1], dtype=seq.dtype, device=seq.device)
        own = own.to(seq.device, seq.dtype).repeat(images, 1)  # [N, L]
        keys = torch.cat([image, own], 1)
        side = own[:, None, :, None] * keys[:, None, None, :]
        if bool((image == 1).all()):
            image_q = keys[:, None, None, :]  # 1 * keys: the image rows of the block's outer product
        else:
            image_q = image[:, None, :, None] * keys[:, None, None, :]
        fix = (lambda m: m) if seq.dtype == torch.bool else (lambda m: m.to(dtype))
        return fix(side), fix(image_q)

    def _side_rotary(self, name, state: _State, index: int, text_len: int, device):
        """The side tokens' rotary embedding: token i at the prompt's text position i."""
        rotary = state.rotary.get(index)
        if rotary is None:
            return None
        length = state.hidden.shape[1]
        kind = type(self.adapter)
        if kind is ZImageAdapter:
            return self._z_image_rotary(name, state, rotary, text_len)
        if kind in (FluxAdapter, ChromaAdapter):
            cos, sin = rotary
            same = all(torch.equal(t[:text_len], t[:1].expand(text_len, -1)) for t in (cos, sin))
            if not same:
                raise NotImplementedError(
                    f"layer {name}: text positions carry different rotary embeddings; side tokens have no position"
                )
            return cos[:1].expand(length, -1), sin[:1].expand(length, -1)
        if state.side_rotary is None:
            state.side_rotary = self._positions(name, length, device)
        side = state.side_rotary
        # the prompt's text positions and the side tokens' agree where both exist
        text = rotary[1] if kind is QwenImageAdapter else tuple(t[:text_len] for t in rotary)
        m = min(length, text_len)
        pairs = [(side, text)] if torch.is_tensor(side) else list(zip(side, text))
        if not all(torch.equal(a[:m], b[:m].to(a.device)) for a, b in pairs):
            raise NotImplementedError(
                f"layer {name}: the block's text rotary embedding is not the one of text positions 0..{text_len - 1}"
            )
        return side

    def _z_image_rotary(self, name: str, state: _State, rotary: torch.Tensor, text_len: int) -> torch.Tensor:
        """The side tokens' rotary embedding (set with their caption): it must agree with the block's
        own at the prompts' caption positions, after the padded image, where both exist."""
        _, caps = ZImageAdapter.denoiser_inputs(*self._call)
        side = state.side_rotary
        first = state.image_keys
        for r in range(rotary.shape[0]):
            n = (
                len(caps[r]) + (-len(caps[r])) % ZImageAdapter.SEQ_MULTIPLE
            )  # the caption's padded length in the transformer's layout
            m = min(n, side.shape[1])
            if not torch.equal(rotary[r, first : first + m], side[0, :m].to(rotary.device)):
                raise NotImplementedError(
                    f"layer {name}: the caption's rotary embedding is not the one of caption positions 1..{n}"
                )
        return side

    def _positions(self, name: str, length: int, device):
        """Rotary embedding of text positions 0..length-1, computed by the denoiser's own ``pos_embed``."""
        t = self.adapter.denoiser()
        a = _bind(t.forward, *self._call)
        if type(self.adapter) is QwenImageAdapter:
            shapes = a.get("img_shapes")
            if shapes is None:
                raise RuntimeError(f"layer {name}: the Qwen-Image transformer was called without img_shapes")
            return t.pos_embed(shapes, max_txt_seq_len=length, device=device)[1]
        ids = a.get("txt_ids")  # FLUX.2: (t, h, w, l) per text token, l = its index
        if ids is None:
            raise RuntimeError(f"layer {name}: the FLUX.2 transformer was called without txt_ids")
        ids = ids[0] if ids.ndim == 3 else ids
        if not torch.equal(ids[:, -1], torch.arange(len(ids), device=ids.device).to(ids.dtype)) or not torch.equal(
            ids[:, :-1], ids[:1, :-1].expand(len(ids), -1)
        ):
            raise NotImplementedError(f"layer {name}: txt_ids are not FLUX.2's text positions (0, 0, 0, 0..L-1)")
        side = ids[:1].repeat(length, 1)
        side[:, -1] = torch.arange(length, device=ids.device).to(ids.dtype)
        return t.pos_embed(side)

    def _maps(self, qi, keys, o, oi, groups, n_keys, columns, scale, heads, mask=None) -> torch.Tensor:
        b = qi.shape[0]
        if heads is not None:
            qi, keys, o, oi = qi[:, heads], keys[:, heads], o[:, heads], oi[:, heads]
        if self.mode == "vocabulary":
            per = []
            for j, cols in enumerate(columns):
                kj = keys[j::groups]  # entry j's rows, one per image
                mj = mask[j::groups] if mask is not None else None
                cols_t = torch.tensor(cols, device=qi.device) + n_keys
                per.append(kernel_text_probs(qi, kj, slice(None), cols_t, scale, mj).sum(-1, keepdim=True))
            return torch.cat(per, -1)
        if self.mode == "cross":  # softmax over concepts of q_x k_c^T, per head
            kc = keys[:, :, n_keys:].float()
            s = scale if scale is not None else qi.shape[-1] ** -0.5
            return (torch.matmul(qi.float(), kc.transpose(-1, -2)) * s).softmax(-1)
        # output space: o_x o_c^T over heads merged, softmax over concepts
        ox = oi.transpose(1, 2).flatten(2).float()  # [B, n, heads * d]
        oc = o.transpose(1, 2).flatten(2).float()  # [B, C, heads * d]
        return torch.matmul(ox, oc.transpose(-1, -2)).softmax(-1)[:, None].reshape(b, 1, ox.shape[1], -1)
