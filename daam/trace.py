"""``daam.trace``: observe a pipeline's text-image attention while it generates.

Each traced attention layer keeps its own processor (SDPA, xFormers, sliced, any attention
backend), wrapped so the layer's output is exactly what that processor returns. Beside the
layer we compute softmax(QK^T / sqrt(d)) from the query and key the processor computed anyway,
for the conditional rows of the batch only. The image is therefore bit-for-bit the untraced one.

Where q and k are read depends on the layer kind (``daam.adapters``): cross-attention layers
(UNets, PixArt, Sana) through forward hooks on their ``to_q``/``to_k`` projections; joint
attention (SD3, FLUX) where the processor hands them to the attention kernel, i.e. after q/k
normalisation and rotary embeddings: while such a layer runs, ``F.scaled_dot_product_attention``
and diffusers' ``dispatch_attention_fn`` (also under the names processor modules imported it
as) are wrapped by pass-through observers that note their first call's q, k, mask and scale.

Which rows are conditional is read from the batch, never assumed: the pipeline's prompt encoder
is wrapped to record the conditional embeddings, and at every denoiser call we look for the
chunk of the batch equal to them (no guidance: the whole batch; classifier-free guidance:
the second half; InstructPix2Pix: the first of three chunks). Pipelines that encode the negative
prompt by a second call and run it through the denoiser separately (FLUX's ``true_cfg_scale``)
have those calls recognised by their embeddings and skipped.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from daam.adapters import EncodeCall, LayerSpec, adapter_for, cross_attention_probs, kernel_text_probs
from daam.aggregation import Accumulator, DetailSpec, layer_resolution
from daam.maps import GenerationMaps
from daam.streams import SideStreams, SideText
from daam.streams import supports as side_streams_support
from daam.vocabulary import (
    VocabularyKeys,
    check_supported,
    check_vocabulary,
    encode_vocabulary,
    entry_arguments,
    settings_key,
)
from daam.words import TokenSegment

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline

# What ``trace(layers=..., steps=...)`` accepts: one name or index, several, or a predicate.
LayerSelector = str | Iterable[str] | Callable[[str], bool] | None
StepSelector = int | Iterable[int] | Callable[[int], bool] | None


class TraceError(RuntimeError):
    pass


def _accepts(selector, value) -> bool:
    if selector is None:
        return True
    if callable(selector):
        return bool(selector(value))
    return value in selector


@dataclass
class _Call:
    """State of one pipeline call."""

    prompts: list[str] | None
    prompt_index: list[int]
    cond: torch.Tensor
    segments: dict[str, tuple[TokenSegment, ...]]  # per prompt
    columns: torch.Tensor | None  # text positions kept (None: all)
    acc: Accumulator
    output_size: tuple[int, int] | None = None
    negatives: list[torch.Tensor] = field(default_factory=list)  # separately encoded negative prompts
    latent_hw: tuple[int, int] | None = None
    image_size: tuple[int, int] | None = None
    rows: torch.Tensor | None = None
    text_len: int = 0
    n_image: int | None = None  # image tokens of the generated image in a joint sequence (None: all)
    step: int = -1
    active: bool = True
    last_timestep: torch.Tensor | None = None
    vocab: VocabularyKeys | None = None  # open-vocabulary entries (``vocabulary=``), encoded as this call's prompt
    vocab_acc: Accumulator | None = None  # open-vocabulary entries' (or concepts') sums
    side: SideText | None = None  # side streams' text for this call (joint DiTs, ``daam.streams``)


class _Observer:
    """Calls the layer's own processor, then records attention beside it."""

    def __init__(self, inner, name: str, spec: LayerSpec, tracer: trace, record: bool = True):
        self.inner = inner
        self.name = name
        self.spec = spec
        self.tracer = tracer
        self.record = record  # False: observed only to carry side streams through (no prompt maps)

    def __call__(self, attn, hidden_states, *args, **kwargs):
        tracer = self.tracer
        slot = tracer._capture_slot
        slot.clear()
        tracer._capturing = attn
        try:
            out = self.inner(attn, hidden_states, *args, **kwargs)
        finally:
            tracer._capturing = None
        try:
            if self.spec.reads == "projections" and self.record:
                ehs = kwargs.get("encoder_hidden_states", args[0] if args else None)
                if ehs is not None:
                    mask = kwargs.get("attention_mask", args[1] if len(args) > 1 else None)
                    tracer._observe_cross(self.name, attn, hidden_states, ehs, mask)
            elif self.spec.reads != "projections":
                tracer._observe_kernel(self.name, self.spec, attn, self.record)
        finally:
            slot.clear()
        return out

    def __getattr__(self, item):  # look like the wrapped processor to diffusers' introspection
        return getattr(self.__dict__["inner"], item)


@functools.cache
def _observer_class(inner_type: type) -> type:
    """An _Observer subclass whose ``__call__`` has the inner processor's signature.

    ``Attention.forward`` (and FLUX's ``FluxAttention``) drop kwargs that the processor's
    ``__call__`` does not name, so the wrapper must name exactly what the wrapped processor names.
    """

    def __call__(self, *args, **kwargs):
        return _Observer.__call__(self, *args, **kwargs)

    __call__.__signature__ = inspect.signature(inner_type.__call__)
    return type(f"Observed{inner_type.__name__}", (_Observer,), {"__call__": __call__})


def _kernel_observer(original, layout: str, tracer: trace):
    """A pass-through attention kernel that notes q, k, mask and scale of a traced layer's call.

    SDPA and diffusers' dispatch function share their leading parameters
    (query, key, value, attn_mask, dropout_p, is_causal, scale); SDPA takes [B, H, S, D],
    dispatch [B, S, H, D]. Only the outermost call of a layer is noted (dispatch calls SDPA).
    With side streams (``daam.streams``) the value and the kernel's output are noted too.
    """

    @functools.wraps(original)
    def kernel(query, key, *args, **kwargs):
        outermost = tracer._capturing is not None and tracer._kernel_depth == 0 and "kernel" not in tracer._capture_slot
        if outermost:
            mask = kwargs.get("attn_mask", args[1] if len(args) > 1 else None)
            scale = kwargs.get("scale", args[4] if len(args) > 4 else None)
            q, k = (query.transpose(1, 2), key.transpose(1, 2)) if layout == "bshd" else (query, key)
            tracer._capture_slot["kernel"] = (q, k, mask, scale)
        tracer._kernel_depth += 1
        try:
            out = original(query, key, *args, **kwargs)
        finally:
            tracer._kernel_depth -= 1
        if outermost and tracer._side is not None:
            value = kwargs.get("value", args[0] if args else None)
            if layout == "bshd":
                value, o = value.transpose(1, 2), out.transpose(1, 2) if torch.is_tensor(out) else None
            else:
                o = out if torch.is_tensor(out) else None
            tracer._capture_slot["kernel_vo"] = (value, o)
        return out

    kernel.__daam_original__ = original
    return kernel


class trace:
    """Trace DAAM maps of every image a pipeline generates inside the ``with`` block.

    >>> with daam.trace(pipe) as tc:
    ...     out = pipe(["a dog and a cat", "a red car"], num_images_per_prompt=2, generator=g)
    >>> tc.results()[0].word_map("dog").mask(0.4)

    Capture-time selection (only what is selected is computed and kept):
    ``layers`` (layer names, e.g. ``"up_blocks.0.attentions.1.transformer_blocks.0.attn2"``, or a
    predicate on the name), ``steps`` (step indices from 0, or a predicate) and ``heads`` (head
    indices, every layer). ``keep_steps``, ``keep_layers`` and ``keep_heads`` keep per-step,
    per-layer and per-head detail for ablations; by default only running sums per resolution.

    ``vocabulary`` (SD 1.x/2.x, SDXL, PixArt, Sana: cross-attention pipelines): words or phrases,
    in the prompt or not, whose maps are computed beside the generation from their own text
    encoding (OVAM; ``daam.vocabulary``): ``tc.results()[0].word_map("hat")``. The image is unchanged.
    """

    def __init__(
        self,
        pipe: DiffusionPipeline,
        *,
        keep_steps: bool = False,
        keep_layers: bool = False,
        keep_heads: bool = False,
        layers: LayerSelector = None,
        steps: StepSelector = None,
        heads: Iterable[int] | None = None,
        vocabulary: Iterable[str] | None = None,
    ) -> None:
        self.pipe = pipe
        self.adapter = adapter_for(pipe)
        self.keep = DetailSpec(keep_steps, keep_layers, keep_heads)
        self.layers = _frozen(layers)
        self.steps = _frozen(steps)
        self.heads = None if heads is None else sorted({int(h) for h in heads})
        if self.heads is not None and (not self.heads or self.heads[0] < 0):
            raise ValueError(f"heads must be non-negative head indices, got {heads!r}")
        self._calls: list[_Call] = []
        self._undo: list = []
        self._capturing = None
        self._kernel_depth = 0
        self._capture_slot: dict[str, object] = {}
        self._entered = False
        self.vocabulary = check_vocabulary(vocabulary)
        self._vocab: dict[str, VocabularyKeys] = {}  # per encoding settings
        if self.vocabulary and not self._observes:
            raise TraceError(f"{type(self).__name__} observes no attention: it takes no vocabulary")
        # joint DiTs: the vocabulary's entries travel as side streams through the joint blocks; other
        # families score the image queries against each entry's own keys (``daam.vocabulary``)
        self._side: SideStreams | None = None
        if self.vocabulary:
            if side_streams_support(self.adapter):
                self._side = SideStreams(self.adapter, self.vocabulary, "vocabulary", self.layers, self.steps)
            else:
                check_supported(self.adapter)

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> trace:
        if getattr(self.pipe, "_daam_trace", None) is not None:
            raise TraceError("this pipeline is already being traced: leave the first daam.trace block first")
        if self._entered:
            raise TraceError("a daam.trace object can be entered once; make a new one")
        self._entered = True
        try:
            self._install()
        except BaseException:
            self._uninstall()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._uninstall()

    def _install(self) -> None:
        pipe, adapter = self.pipe, self.adapter
        object.__setattr__(pipe, "_daam_trace", self)
        self._undo.append(lambda: pipe.__dict__.pop("_daam_trace", None))

        name = adapter.encode_method
        original = getattr(pipe, name)
        had_own = name in pipe.__dict__

        @functools.wraps(original)
        def encode(*args, **kwargs):
            # what the caller passed, before the encoder runs (Z-Image's rewrites a prompt list in place)
            seen = (
                tuple(list(a) if isinstance(a, list) else a for a in args),
                {k: list(v) if isinstance(v, list) else v for k, v in kwargs.items()},
            )
            result = original(*args, **kwargs)
            self._begin_call(original, *seen, result)
            return result

        object.__setattr__(pipe, name, encode)
        self._undo.append(
            (lambda: object.__setattr__(pipe, name, original)) if had_own else (lambda: pipe.__dict__.pop(name, None))
        )
        probe = getattr(adapter, "install_size_probe", None)
        if probe is not None:
            self._undo.append(probe())

        handle = adapter.denoiser().register_forward_pre_hook(self._on_denoiser, with_kwargs=True)
        self._undo.append(handle.remove)
        if self._side is not None:
            self._undo.extend(self._side.install())

        all_layers = adapter.layers()
        chosen = {n: spec for n, spec in all_layers.items() if _accepts(self.layers, n)}
        if self.layers is not None and not callable(self.layers):
            unknown = set(self.layers) - set(all_layers)
            if unknown:
                raise TraceError(
                    f"unknown layers {sorted(unknown)}; layers that attend image to text: {', '.join(all_layers)}"
                )
        if not chosen:
            raise TraceError(
                f"the layers predicate selects none of the {len(all_layers)} attention layers; "
                f"e.g. {', '.join(list(all_layers)[:3])}"
            )
        kernel_modules = set()
        observed = dict(chosen)
        if self._side is not None:  # side streams pass through every joint block, traced or not
            observed.update({n: s for n, s in all_layers.items() if n in self._side.joint and n not in chosen})
        for layer_name, spec in observed.items():
            attn = spec.module
            inner = attn.processor
            observer = self._processor_for(inner, layer_name, spec)
            if layer_name not in chosen:
                observer.record = False
            attn.set_processor(observer)
            self._undo.append(functools.partial(attn.set_processor, inner))
            if not self._observes:
                continue
            if spec.reads == "projections":
                for proj, key in ((attn.to_q, "q"), (attn.to_k, "k")):
                    h = proj.register_forward_hook(functools.partial(self._capture, attn, key))
                    self._undo.append(h.remove)
            else:
                kernel_modules.add(type(inner).__module__)
        if kernel_modules:
            self._patch_kernels(kernel_modules)

    def _patch_kernels(self, modules: set[str]) -> None:
        """Wrap the attention kernels that joint-attention processors call (pass-through)."""
        import torch.nn.functional as F

        targets = [(F, "scaled_dot_product_attention", "bhsd")]
        try:
            from diffusers.models import attention_dispatch

            targets.append((attention_dispatch, "dispatch_attention_fn", "bshd"))
            for mod_name in sorted(modules):  # processors call the name their module imported
                mod = sys.modules.get(mod_name)
                if (
                    mod is not None
                    and mod is not attention_dispatch
                    and callable(getattr(mod, "dispatch_attention_fn", None))
                ):
                    targets.append((mod, "dispatch_attention_fn", "bshd"))
        except ImportError:  # an older diffusers without the dispatch layer
            pass
        for owner, attr, layout in targets:
            original = getattr(owner, attr)
            setattr(owner, attr, _kernel_observer(original, layout, self))
            self._undo.append(functools.partial(setattr, owner, attr, original))

    _observes = True  # subclasses that replace attention (daam.fix_layout) capture nothing

    def _processor_for(self, inner, layer_name: str, spec: LayerSpec):
        """The processor installed on a traced layer: an observer wrapping its own."""
        return _observer_class(type(inner))(inner, layer_name, spec, self)

    def _uninstall(self) -> None:
        errors = []
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception as e:  # keep restoring the rest
                errors.append(e)
        self._capture_slot.clear()
        self._capturing = None
        if errors:
            raise TraceError(f"could not fully restore the pipeline: {errors[0]!r}")

    # -- hooks ----------------------------------------------------------------------------
    def _capture(self, attn, key, module, inputs, output):
        if self._capturing is attn:
            self._capture_slot[key] = output

    def _begin_call(self, method, args, kwargs, result) -> None:
        enc: EncodeCall = self.adapter.read_encode_call(method, args, kwargs, result)
        last = self._calls[-1] if self._calls else None
        if self.adapter.separate_negative_call and last is not None and last.step < 0:
            # a second encoding before denoising started: the negative prompt of true CFG
            last.negatives.append(enc.cond.detach() if torch.is_tensor(enc.cond) else [c.detach() for c in enc.cond])
            return
        segments: dict[str, tuple[TokenSegment, ...]] = {}
        columns = None
        if enc.prompts is not None:
            aligned = {p: [seg.align(p) for seg in enc.segments] for p in dict.fromkeys(enc.prompts)}
            if self.adapter.trims_padding:
                # keep each segment's positions from its prompts' first token to the longest one's last
                spans = []
                for i, seg in enumerate(enc.segments):
                    toks = [a[i] for a in aligned.values()]
                    lo = min(t.position for t in toks)
                    hi = max(t.position + len(t.token_ids) for t in toks)
                    spans.append((seg.offset + lo, max(hi - lo, 0), lo))
                columns = torch.cat([torch.arange(first, first + n) for first, n, _ in spans])
                bases = [sum(n for _, n, _ in spans[:i]) for i in range(len(spans))]
                starts = {
                    p: [bases[i] + a[i].position - spans[i][2] for i in range(len(spans))] for p, a in aligned.items()
                }
            else:
                starts = {
                    p: [seg.offset + a[i].position for i, seg in enumerate(enc.segments)] for p, a in aligned.items()
                }
            segments = {
                p: tuple(TokenSegment(seg.name, start, tok) for seg, start, tok in zip(enc.segments, starts[p], a))
                for p, a in aligned.items()
            }
        take = getattr(self.adapter, "take_output_size", None)
        cond = enc.cond.detach() if torch.is_tensor(enc.cond) else [c.detach() for c in enc.cond]
        vocab = self._vocabulary_for(method, args, kwargs) if self.vocabulary and self._side is None else None
        self._calls.append(
            _Call(
                enc.prompts,
                enc.prompt_index,
                cond,
                segments,
                columns,
                Accumulator(len(cond), self.keep),
                take() if take else None,
                vocab=vocab,
                vocab_acc=Accumulator(len(cond)) if vocab is not None or self._side is not None else None,
            )
        )
        self._calls[-1].negatives.extend(n.detach() for n in enc.negatives)
        if self._side is not None:
            self._calls[-1].side = self._side.encode(method, args, kwargs)

    def _vocabulary_for(self, method, args, kwargs) -> VocabularyKeys:
        """The vocabulary encoded with this encode call's settings (once per distinct settings), by
        the encoder as it is (``method`` is the unwrapped one)."""
        call = entry_arguments(method, args, kwargs, self.vocabulary)
        key = settings_key(call)
        if key not in self._vocab:
            self._vocab[key] = encode_vocabulary(self.adapter, method, call)
        return self._vocab[key]

    def _on_denoiser(self, module, args, kwargs):
        if not self._calls:
            return None
        call = self._calls[-1]
        sample, ehs = self.adapter.denoiser_inputs(args, kwargs)
        call.rows = None
        if self._side is not None:
            self._side.stop()  # until this call proves conditional
        if ehs is None or not (torch.is_tensor(ehs) or _tensor_list(ehs)):
            return None
        if call.step < 0 and not torch.is_tensor(ehs):
            self._expand_images_per_prompt(call, ehs)
        if self.adapter.extra_pass(args, kwargs):
            return None  # not a pass of the trajectory's step (SD3's skip-layer guidance)
        rows = self._conditional_rows(ehs, call.cond, call.negatives)
        if rows is None:
            return None  # the negative prompt's separate call
        timestep = kwargs.get("timestep", args[1] if len(args) > 1 else None)
        if (
            call.negatives
            and torch.is_tensor(timestep)
            and call.last_timestep is not None
            and timestep.shape == call.last_timestep.shape
            and torch.equal(timestep, call.last_timestep)
        ):
            return None  # the negative call of this step, whose prompt encodes like the prompt
        call.last_timestep = timestep.detach().clone() if torch.is_tensor(timestep) else None
        call.latent_hw, call.image_size = self.adapter.latent_grid(args, kwargs, sample)
        call.n_image = self.adapter.image_tokens(args, kwargs, sample)
        call.text_len = ehs.shape[1] if torch.is_tensor(ehs) else max(e.shape[0] for e in ehs)
        call.rows = rows
        call.step += 1
        call.acc.n_steps = call.step + 1
        call.active = _accepts(self.steps, call.step)
        if self._side is not None:
            self._side.start(call.side, rows, _accepts(self._side.steps, call.step), args, kwargs)
        return None

    @staticmethod
    def _find_chunk(ehs, cond) -> torch.Tensor | None:
        if not torch.is_tensor(ehs) or not torch.is_tensor(cond):  # lists of per-item embeddings (Z-Image)
            n, b = len(cond), len(ehs)
            for c in range(b // n if n else 0):
                part = ehs[c * n : (c + 1) * n]
                if all(e.shape == x.shape and torch.equal(e, x.to(e.device, e.dtype)) for e, x in zip(part, cond)):
                    return torch.arange(c * n, (c + 1) * n, device=ehs[0].device)
            return None
        n, b = cond.shape[0], ehs.shape[0]
        if b % n == 0 and cond.shape[1:] == ehs.shape[1:]:
            cond = cond.to(ehs.device, ehs.dtype)
            for c in range(b // n):
                if torch.equal(ehs[c * n : (c + 1) * n], cond):
                    return torch.arange(c * n, (c + 1) * n, device=ehs.device)
        return None

    @staticmethod
    def _conditional_rows(ehs: torch.Tensor, cond: torch.Tensor, negatives=()) -> torch.Tensor | None:
        """Rows of ``ehs`` that hold ``cond``; None for a call of a separately encoded negative."""
        rows = trace._find_chunk(ehs, cond)
        if rows is not None:
            return rows
        if any(trace._find_chunk(ehs, neg) is not None for neg in negatives):
            return None
        n, b = len(cond), len(ehs)
        raise TraceError(
            f"cannot find the {n} conditional prompt embeddings in the denoiser's batch of {b}: "
            "the pipeline changed them after encoding, which daam.trace does not support"
        )

    def _expand_images_per_prompt(self, call: _Call, ehs) -> None:
        """Per-item embedding lists are repeated per image after encoding (Z-Image): repeat ours."""
        cond = call.cond
        if not cond or self._find_chunk(ehs, cond) is not None:
            return
        run = 0
        while run < len(ehs) and ehs[run].shape == cond[0].shape and torch.equal(ehs[run], cond[0].to(ehs[run])):
            run += 1
        for per in range(run, 1, -1):
            expanded = [c for c in cond for _ in range(per)]
            if self._find_chunk(ehs, expanded) is not None:
                call.cond = expanded
                call.prompts = [p for p in call.prompts for _ in range(per)] if call.prompts else None
                call.prompt_index = [i for i in call.prompt_index for _ in range(per)]
                call.acc.n_images = len(expanded)
                return

    def _current(self) -> _Call | None:
        if not self._calls:
            return None
        call = self._calls[-1]
        return call if call.rows is not None and call.active else None

    def _observe_cross(self, name, attn, hidden_states, ehs, attention_mask) -> None:
        call = self._current()
        if call is None:
            return
        rows = call.rows
        with torch.no_grad():
            q = self._capture_slot.get("q")
            k = self._capture_slot.get("k")
            if q is None:  # processor did not call to_q (fused projections): recompute
                hs = hidden_states
                if hs.ndim == 4:
                    hs = hs.flatten(2).transpose(1, 2)
                if attn.group_norm is not None:
                    hs = attn.group_norm(hs.transpose(1, 2)).transpose(1, 2)
                q = attn.to_q(hs[rows])
            else:
                q = q[rows]
            if k is None:
                e = ehs[rows]
                if attn.norm_cross:
                    e = attn.norm_encoder_hidden_states(e)
                k = attn.to_k(e)
            else:
                k = k[rows]
            mask = attention_mask[rows] if attention_mask is not None else None
            probs = cross_attention_probs(attn, q, k, mask, self.heads)
            if call.columns is not None:
                probs = probs[..., call.columns.to(probs.device)]
            self._add(call, name, probs)
            if call.vocab is not None:
                self._add_vocab(call, name, call.vocab.probs(name, attn, q, self.heads))

    def _observe_kernel(self, name: str, spec: LayerSpec, attn, record: bool = True) -> None:
        if record:
            self._observe_kernel_maps(name, spec, attn)
        if self._side is not None and self._calls:
            self._carry_side_streams(name, attn)

    def _carry_side_streams(self, name: str, attn) -> None:
        """Side streams (``daam.streams``) through this joint layer; their maps where it is selected."""
        call = self._calls[-1]
        captured, vo = self._capture_slot.get("kernel"), self._capture_slot.get("kernel_vo")
        if call.rows is None or not self._side.running:
            return
        if captured is None or vo is None or vo[1] is None:
            raise TraceError(
                f"layer {name}: its processor {type(attn.processor.inner).__name__} computed attention without "
                "torch's scaled_dot_product_attention or diffusers' dispatch_attention_fn, where side streams read "
                "the image's q, k, v and attention output; use the model's default processor"
            )
        q, k, mask, scale = captured
        probs = self._side.step(
            name, attn, (q, k, *vo, mask, scale), call.rows, call.text_len, call.side.columns, self.heads, call.n_image
        )
        if probs is not None:
            call.vocab_acc.add(name, call.step, probs, layer_resolution(probs.shape[2], call.latent_hw))

    def _observe_kernel_maps(self, name: str, spec: LayerSpec, attn) -> None:
        call = self._current()
        if call is None:
            return
        captured = self._capture_slot.get("kernel")
        if captured is None:
            raise TraceError(
                f"layer {name}: its processor {type(attn.processor.inner).__name__} computed attention without "
                "torch's scaled_dot_product_attention or diffusers' dispatch_attention_fn, where daam.trace reads "
                "q and k of joint attention; use the model's default processor"
            )
        q, k, mask, scale = captured
        rows = call.rows
        with torch.no_grad():
            batch = q.shape[0]
            q, k = q[rows], k[rows]
            if mask is not None and mask.ndim >= 3 and mask.shape[0] == batch:
                mask = mask[rows]
            if k.shape[1] != q.shape[1]:  # grouped-query attention: kv heads shared by query heads
                k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)
            if self.heads is not None:
                q, k = q[:, self.heads], k[:, self.heads]
                if mask is not None and mask.ndim == 4 and mask.shape[1] > 1:
                    mask = mask[:, self.heads]
            t, sq = call.text_len, q.shape[2]
            cols = call.columns.to(q.device) if call.columns is not None else torch.arange(t, device=q.device)
            n_img = call.n_image if call.n_image is not None else sq - t
            if spec.kind == "cross":
                image_q = slice(None)
            else:
                image_q, first_text = self.adapter.joint_slices(spec, sq, t, n_img)
                cols = cols + first_text
            probs = kernel_text_probs(q, k, image_q, cols, scale, mask)
            self._add(call, name, probs)
            if spec.kind == "cross" and call.vocab is not None:
                self._add_vocab(call, name, call.vocab.kernel_probs(name, attn, q, scale, self.heads))

    @staticmethod
    def _add(call: _Call, name: str, probs: torch.Tensor) -> None:
        res = layer_resolution(probs.shape[2], call.latent_hw)
        call.acc.add(name, call.step, probs, res)

    @staticmethod
    def _add_vocab(call: _Call, name: str, probs: torch.Tensor) -> None:
        call.vocab_acc.add(name, call.step, probs, layer_resolution(probs.shape[2], call.latent_hw))

    # -- results --------------------------------------------------------------------------
    def results(self) -> list[GenerationMaps]:
        """One ``GenerationMaps`` per generated image, in the pipeline's output order."""
        out = []
        for call in self._calls:
            if not call.acc.sums:
                continue  # encoded but never denoised (an exception before the first step)
            for i in range(call.acc.n_images):
                prompt = call.prompts[i] if call.prompts else None
                segs = call.segments.get(prompt, ()) if prompt is not None else ()
                out.append(
                    GenerationMaps(
                        prompt=prompt,
                        image_index=i,
                        prompt_index=call.prompt_index[i],
                        image_size=call.output_size or call.image_size,
                        tokens=segs[0].tokens if segs else None,
                        sums={r: t[i].detach().float().cpu() for r, t in call.acc.sums.items()},
                        layer_resolutions=dict(call.acc.layer_resolutions),
                        n_steps=call.acc.n_steps,
                        detail={k: t[i].detach().float().cpu() for k, t in call.acc.detail.items()},
                        detail_heads=self.keep.heads,
                        segments=segs if self.adapter.trims_padding else (),
                        generated_size=call.image_size if call.output_size else None,
                        vocabulary=self._side.texts if self._side is not None else self.vocabulary,
                        vocabulary_method=self._side.method
                        if self._side is not None
                        else "ovam"
                        if self.vocabulary
                        else None,
                        vocabulary_sums={r: t[i].detach().float().cpu() for r, t in call.vocab_acc.sums.items()}
                        if call.vocab_acc is not None
                        else {},
                    )
                )
        return out

    def state_nbytes(self) -> int:
        """Bytes held by the running state of all traced calls."""
        return sum(c.acc.nbytes() + (c.vocab_acc.nbytes() if c.vocab_acc is not None else 0) for c in self._calls)


def _tensor_list(x) -> bool:
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(torch.is_tensor(e) for e in x)


def _frozen(selector):
    if selector is None or callable(selector):
        return selector
    if isinstance(selector, (str, int)):
        selector = [selector]
    return frozenset(selector)


def attention_layers(pipe: DiffusionPipeline) -> dict[str, str]:
    """Names of the layers ``daam.trace`` observes in ``pipe`` and their kind ("cross", "joint",
    "single"): the names ``daam.trace(pipe, layers=...)`` accepts."""
    return {name: spec.kind for name, spec in adapter_for(pipe).layers().items()}
