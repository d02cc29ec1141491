"""Side streams: extra text tokens carried through a joint DiT's double-stream blocks.

In a joint-attention DiT (SD3's MMDiT, FLUX.1's double-stream blocks) the text has a residual
stream of its own that changes block by block, because it attends to the image. A word's keys at
block l are therefore not a projection of a fixed encoding, as they are in a UNet's
cross-attention. To ask what the image says about a text that is not the prompt, we carry that
text through the blocks beside the generation, as a *side stream*:

* it starts as the text encoded by the pipeline's own prompt encoder (with the prompt call's
  own settings) and passed through the transformer's ``context_embedder``, as the prompt is;
* in each joint block it gets the text stream's own modulation (``norm1_context`` with the
  block's ``temb``), the text projections (``add_q_proj``/``add_k_proj``/``add_v_proj``,
  ``norm_added_q``/``norm_added_k``), FLUX's rotary embedding at text positions (its text ids are
  zeros), attends to [the image's keys; its own keys] with the image's values beside its own,
  and goes through ``to_add_out``, the gates, ``norm2_context`` and ``ff_context`` exactly as the
  block treats the prompt's text (SD3's last block, ``context_pre_only``, ends it);
* the image's q/k/v (and its attention output) are what the block computed anyway, read at the
  attention kernel: the side stream never attends to the prompt's text and the image never
  attends to it, so the generation is bit-for-bit the one without it.

Only the conditional rows of a classifier-free-guidance batch carry side streams. A side stream
holds ``groups`` sequences per image, all in one batch: the open vocabulary gives each entry its
own sequence (the entry's full encoding), ConceptAttention puts all concepts in one sequence (one
token per concept, so concepts attend to each other, as the paper's do).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import torch

from daam.adapters import _SDPA, Adapter, FluxAdapter, SD3Adapter, _bind, kernel_text_probs

# families whose joint blocks are mirrored here (exact types: Chroma's and Qwen-Image's blocks differ)
SIDE_STREAM_ADAPTERS: tuple[type[Adapter], ...] = (SD3Adapter, FluxAdapter)
SPACES = ("output", "cross")


def supports(adapter: Adapter) -> bool:
    return type(adapter) in SIDE_STREAM_ADAPTERS


def supported_families() -> list[str]:
    return sorted(name for a in SIDE_STREAM_ADAPTERS for name in a.families)


def check_supported(adapter: Adapter, what: str) -> None:
    if not supports(adapter):
        raise NotImplementedError(
            f"{what} on diffusion transformers needs side streams through joint blocks, implemented for "
            f"SD3/SD3.5 and FLUX.1 ({', '.join(supported_families())}), not {adapter.family}"
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

    embeddings: torch.Tensor  # [groups, tokens, encoder dim]: what the denoiser's context_embedder takes
    columns: tuple[tuple[int, ...], ...] = ()  # per group: its own tokens' positions (vocabulary)


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
    temb: dict[int, torch.Tensor] = field(default_factory=dict)
    rotary: dict[int, tuple[torch.Tensor, torch.Tensor] | None] = field(default_factory=dict)


def _encode_like_the_prompt(encode, args, kwargs, texts: list[str]) -> dict:
    """The prompt call's encoder arguments with ``texts`` as the prompt: same sequence length,
    device, clip skip and LoRA scale; one image each, no guidance, no negatives."""
    a = _bind(encode, args, kwargs)
    for name in list(a):
        if name.startswith("negative_") or name.endswith("_embeds"):
            a[name] = None
    a["prompt"] = list(texts)
    for name in ("prompt_2", "prompt_3"):
        if name in a:
            a[name] = None  # defaults to `prompt`
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
    emb = enc.cond.detach()
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
        return SideText(emb, columns)
    names = [seg.name for seg in enc.segments]
    which = names.index("t5") if "t5" in names else len(names) - 1
    picks = []
    for i, cols in enumerate(per_text):
        seg_cols = cols[which] or next(c for c in cols if c)
        picks.append(emb[i, seg_cols[0]])
    return SideText(torch.stack(picks)[None])


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


def side_qkv(block, attn, hidden, temb, rotary):
    """The text stream's first half of a joint block for side tokens ``hidden`` [N, L, dim]:
    (q, k, v as [N, heads, L, head dim], the modulation left for the second half)."""
    if getattr(block, "context_pre_only", False):
        normed, mod = block.norm1_context(hidden, temb), None
    else:
        normed, *mod = block.norm1_context(hidden, emb=temb)
    q, k, v = _text_projections(attn, normed)
    if rotary is not None:
        from diffusers.models.embeddings import apply_rotary_emb

        cos, sin = rotary
        n = hidden.shape[1]
        q = apply_rotary_emb(q, (cos.expand(n, -1), sin.expand(n, -1)), sequence_dim=1)
        k = apply_rotary_emb(k, (cos.expand(n, -1), sin.expand(n, -1)), sequence_dim=1)
    return q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), mod


def side_update(block, attn, hidden, out, mod) -> torch.Tensor | None:
    """The text stream's second half of a joint block: output projection, gates, norm2_context,
    ff_context, for side tokens ``hidden`` with attention output ``out`` [N, L, heads * head dim]."""
    if mod is None:  # SD3's last block: the text stream ends here
        return None
    c_gate_msa, c_shift_mlp, c_scale_mlp, c_gate_mlp = mod
    ctx = attn.to_add_out(out)
    hidden = hidden + c_gate_msa.unsqueeze(1) * ctx
    normed = block.norm2_context(hidden) * (1 + c_scale_mlp[:, None]) + c_shift_mlp[:, None]
    chunk = getattr(block, "_chunk_size", None)
    if chunk is not None:
        from diffusers.models.attention import _chunked_feed_forward

        ff = _chunked_feed_forward(block.ff_context, normed, block._chunk_dim, chunk)
    else:
        ff = block.ff_context(normed)
    hidden = hidden + c_gate_mlp.unsqueeze(1) * ff
    if hidden.dtype == torch.float16 and type(block).__name__ != "JointTransformerBlock":
        hidden = hidden.clip(-65504, 65504)  # as FLUX's block clips its text stream (SD3's does not)
    return hidden


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
        self.joint = {name: spec for name, spec in adapter.layers().items() if spec.kind == "joint"}
        self.block_index = {name: i for i, name in enumerate(self.joint)}
        self._state: _State | None = None

    @property
    def method(self) -> str:
        return "ovam-joint" if self.mode == "vocabulary" else f"conceptattention-{self.mode}"

    def install(self) -> list:
        """Pre-hooks on the joint blocks that note each block's ``temb`` and rotary embedding."""
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
                state.temb[index] = bound.get("temb")
                state.rotary[index] = bound.get("image_rotary_emb")
                return None

            undo.append(block.register_forward_pre_hook(hook, with_kwargs=True).remove)
        return undo

    def encode(self, encode, args, kwargs) -> SideText:
        how = "entries" if self.mode == "vocabulary" else "concepts"
        return encode_side_text(self.adapter, encode, args, kwargs, self.texts, how)

    def start(self, side: SideText, rows: torch.Tensor, active: bool) -> None:
        """A conditional denoiser call begins: the side tokens enter through ``context_embedder``."""
        if not active:
            self._state = None
            return
        self._state = _State(None, side.embeddings.shape[0], pending=side.embeddings, images=len(rows))

    def _embed(self, state: _State, device: torch.device) -> None:
        """The side tokens enter through ``context_embedder`` (once per denoiser call)."""
        embedder = self.adapter.denoiser().context_embedder
        x = embedder(state.pending.to(device, embedder.weight.dtype))  # [groups, tokens, dim]
        state.hidden, state.pending = x.repeat(state.images, 1, 1), None

    def stop(self) -> None:
        self._state = None

    @property
    def running(self) -> bool:
        return self._state is not None and (self._state.hidden is not None or self._state.pending is not None)

    def step(self, name: str, attn, captured, rows, text_len: int, columns, heads=None) -> torch.Tensor | None:
        """Carry the side stream through joint layer ``name``; return its maps when recorded there,
        ``[images, heads or 1, image tokens, groups]`` in float32."""
        state = self._state
        if state is None or name not in self.joint or (state.hidden is None and state.pending is None):
            return None
        q, k, v, out, mask, scale = captured
        if state.pending is not None:
            with torch.no_grad():
                self._embed(state, q.device)
        if mask is not None:
            raise NotImplementedError(f"layer {name}: side streams do not support attention masks")
        index = self.block_index[name]
        block = _block_of(self.adapter.denoiser(), name)
        spec = self.joint[name]
        with torch.no_grad():
            q, k, v, out = q[rows], k[rows], v[rows], out[rows]
            seq = q.shape[2]
            img = slice(text_len, seq) if spec.text_first else slice(0, seq - text_len)
            g = state.groups
            temb = state.temb.get(index)
            if temb is None:
                raise RuntimeError(f"block of {name} was called without temb: side streams cannot follow it")
            n = state.hidden.shape[0]
            temb = temb[rows].repeat_interleave(g, 0) if temb.shape[0] > 1 else temb.expand(n, -1)
            rotary = self._text_rotary(name, state.rotary.get(index), text_len)
            qs, ks, vs, mod = side_qkv(block, attn, state.hidden, temb, rotary)
            ki, vi = k[:, :, img].repeat_interleave(g, 0), v[:, :, img].repeat_interleave(g, 0)
            keys, values = torch.cat([ki, ks.to(ki.dtype)], 2), torch.cat([vi, vs.to(vi.dtype)], 2)
            o = _SDPA(qs.to(ki.dtype), keys, values, scale=scale)  # [N, heads, L, head dim]
            merged = o.transpose(1, 2).flatten(2).to(state.hidden.dtype)
            state.hidden = side_update(block, attn, state.hidden, merged, mod)
            if self.layers is not None and name not in self.layers:
                return None
            return self._maps(q[:, :, img], keys, o, out[:, :, img], g, ki.shape[2], columns, scale, heads)

    def _text_rotary(self, name, rotary, text_len):
        """FLUX's rotary embedding at text positions (the same for every text position: ids are zeros)."""
        if rotary is None:
            return None
        cos, sin = rotary
        same = all(torch.equal(t[:text_len], t[:1].expand(text_len, -1)) for t in (cos, sin))
        if not same:
            raise NotImplementedError(
                f"layer {name}: text positions carry different rotary embeddings; side tokens have no position"
            )
        return cos[:1], sin[:1]

    def _maps(self, qi, keys, o, oi, groups, n_keys, columns, scale, heads) -> torch.Tensor:
        b = qi.shape[0]
        if heads is not None:
            qi, keys, o, oi = qi[:, heads], keys[:, heads], o[:, heads], oi[:, heads]
        if self.mode == "vocabulary":
            per = []
            for j, cols in enumerate(columns):
                kj = keys[j::groups]  # entry j's rows, one per image
                cols_t = torch.tensor(cols, device=qi.device) + n_keys
                per.append(kernel_text_probs(qi, kj, slice(None), cols_t, scale).sum(-1, keepdim=True))
            return torch.cat(per, -1)
        if self.mode == "cross":  # softmax over concepts of q_x k_c^T, per head
            kc = keys[:, :, n_keys:].float()
            s = scale if scale is not None else qi.shape[-1] ** -0.5
            return (torch.matmul(qi.float(), kc.transpose(-1, -2)) * s).softmax(-1)
        # output space: o_x o_c^T over heads merged, softmax over concepts
        ox = oi.transpose(1, 2).flatten(2).float()  # [B, n, heads * d]
        oc = o.transpose(1, 2).flatten(2).float()  # [B, C, heads * d]
        return torch.matmul(ox, oc.transpose(-1, -2)).softmax(-1)[:, None].reshape(b, 1, ox.shape[1], -1)
