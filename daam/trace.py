"""``daam.trace``: observe a pipeline's cross-attention while it generates.

Each cross-attention layer keeps its own processor (SDPA, xFormers, sliced...), wrapped so the
layer's output is exactly what that processor returns. Forward hooks on the layer's ``to_q``
and ``to_k`` projections hand us the query and key the processor computed anyway, and beside the
layer we compute softmax(QK^T / sqrt(d)) for the conditional rows of the batch only. The image
is therefore bit-for-bit the untraced one.

Which rows are conditional is read from the batch, never assumed: the pipeline's prompt encoder
is wrapped to record the conditional embeddings, and at every denoiser call we look for the
chunk of the batch equal to them (no guidance: the whole batch; classifier-free guidance:
the second half; InstructPix2Pix: the first of three chunks).
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass

import torch

from daam.adapters import adapter_for
from daam.aggregation import Accumulator, DetailSpec, layer_resolution
from daam.maps import GenerationMaps
from daam.words import PromptTokens, align


class TraceError(RuntimeError):
    pass


@dataclass
class _Call:
    """State of one pipeline call."""

    prompts: list[str] | None
    prompt_index: list[int]
    cond: torch.Tensor
    tokens: dict[str, PromptTokens]
    acc: Accumulator
    latent_hw: tuple[int, int] | None = None
    image_size: tuple[int, int] | None = None
    rows: torch.Tensor | None = None
    step: int = -1


class _Observer:
    """Calls the layer's own processor, then records attention beside it."""

    def __init__(self, inner, name: str, tracer: "trace"):
        self.inner = inner
        self.name = name
        self.tracer = tracer

    def __call__(self, attn, hidden_states, *args, **kwargs):
        tracer = self.tracer
        slot = tracer._capture_slot
        slot.clear()
        tracer._capturing = attn
        try:
            out = self.inner(attn, hidden_states, *args, **kwargs)
        finally:
            tracer._capturing = None
        ehs = kwargs.get("encoder_hidden_states", args[0] if args else None)
        if ehs is not None:
            mask = kwargs.get("attention_mask", args[1] if len(args) > 1 else None)
            tracer._observe(self.name, attn, hidden_states, ehs, mask)
        slot.clear()
        return out

    def __getattr__(self, item):  # look like the wrapped processor to diffusers' introspection
        return getattr(self.__dict__["inner"], item)


@functools.lru_cache(maxsize=None)
def _observer_class(inner_type: type) -> type:
    """An _Observer subclass whose ``__call__`` has the inner processor's signature.

    ``Attention.forward`` drops cross-attention kwargs that the processor's ``__call__`` does
    not name, so the wrapper must name exactly what the wrapped processor names.
    """

    def __call__(self, *args, **kwargs):
        return _Observer.__call__(self, *args, **kwargs)

    __call__.__signature__ = inspect.signature(inner_type.__call__)
    return type(f"Observed{inner_type.__name__}", (_Observer,), {"__call__": __call__})


class trace:
    """Trace DAAM maps of every image a pipeline generates inside the ``with`` block.

    >>> with daam.trace(pipe) as tc:
    ...     out = pipe(["a dog and a cat", "a red car"], num_images_per_prompt=2, generator=g)
    >>> tc.results()[0].word_map("dog").mask(0.4)

    ``keep_steps``, ``keep_layers`` and ``keep_heads`` keep per-step, per-layer and per-head
    detail for ablations; by default only running sums per resolution are kept.
    """

    def __init__(self, pipe, *, keep_steps: bool = False, keep_layers: bool = False, keep_heads: bool = False):
        self.pipe = pipe
        self.adapter = adapter_for(pipe)
        self.keep = DetailSpec(keep_steps, keep_layers, keep_heads)
        self._calls: list[_Call] = []
        self._undo: list = []
        self._capturing = None
        self._capture_slot: dict[str, torch.Tensor] = {}
        self._entered = False

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> "trace":
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

    def __exit__(self, *exc) -> None:
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
            result = original(*args, **kwargs)
            self._begin_call(original, args, kwargs, result)
            return result

        object.__setattr__(pipe, name, encode)
        self._undo.append(
            (lambda: object.__setattr__(pipe, name, original)) if had_own else (lambda: pipe.__dict__.pop(name, None))
        )

        handle = adapter.denoiser().register_forward_pre_hook(self._on_denoiser, with_kwargs=True)
        self._undo.append(handle.remove)

        for layer_name, attn in adapter.cross_attention_layers().items():
            inner = attn.processor
            attn.set_processor(self._processor_for(inner, layer_name))
            self._undo.append(functools.partial(attn.set_processor, inner))
            if not self._observes:
                continue
            for proj, key in ((attn.to_q, "q"), (attn.to_k, "k")):
                h = proj.register_forward_hook(functools.partial(self._capture, attn, key))
                self._undo.append(h.remove)

    _observes = True  # subclasses that replace attention (daam.fix_layout) capture nothing

    def _processor_for(self, inner, layer_name: str):
        """The processor installed on a cross-attention layer: an observer wrapping its own."""
        return _observer_class(type(inner))(inner, layer_name, self)

    def _uninstall(self) -> None:
        errors = []
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception as e:  # keep restoring the rest
                errors.append(e)
        self._capture_slot.clear()
        if errors:
            raise TraceError(f"could not fully restore the pipeline: {errors[0]!r}")

    # -- hooks ----------------------------------------------------------------------------
    def _capture(self, attn, key, module, inputs, output):
        if self._capturing is attn:
            self._capture_slot[key] = output

    def _begin_call(self, method, args, kwargs, result) -> None:
        prompts, index, cond = self.adapter.read_encode_call(method, args, kwargs, result)
        tokens = {}
        if prompts is not None:
            tok = self.adapter.tokenizer()
            for p in dict.fromkeys(prompts):
                tokens[p] = align(tok, p)
        self._calls.append(_Call(prompts, index, cond.detach(), tokens, Accumulator(cond.shape[0], self.keep)))

    def _on_denoiser(self, module, args, kwargs):
        if not self._calls:
            return None
        call = self._calls[-1]
        sample, ehs = self.adapter.denoiser_inputs(args, kwargs)
        call.rows = None
        if ehs is None or not torch.is_tensor(ehs):
            return None
        call.latent_hw = tuple(sample.shape[-2:])
        f = self.adapter.vae_scale_factor()
        call.image_size = (call.latent_hw[0] * f, call.latent_hw[1] * f)
        call.rows = self._conditional_rows(ehs, call.cond)
        call.step += 1
        call.acc.n_steps = call.step + 1
        return None

    @staticmethod
    def _conditional_rows(ehs: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        n, b = cond.shape[0], ehs.shape[0]
        if b % n == 0:
            cond = cond.to(ehs.device, ehs.dtype)
            for c in range(b // n):
                if torch.equal(ehs[c * n : (c + 1) * n], cond):
                    return torch.arange(c * n, (c + 1) * n, device=ehs.device)
        raise TraceError(
            f"cannot find the {n} conditional prompt embeddings in the denoiser's batch of {b}: "
            "the pipeline changed them after encoding, which daam.trace does not support"
        )

    def _observe(self, name, attn, hidden_states, ehs, attention_mask) -> None:
        if not self._calls or self._calls[-1].rows is None:
            return
        call = self._calls[-1]
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
            probs = self.adapter.attention_probs(attn, q, k, mask)
            res = layer_resolution(probs.shape[2], call.latent_hw)
            call.acc.add(name, call.step, probs, res)

    # -- results --------------------------------------------------------------------------
    def results(self) -> list[GenerationMaps]:
        """One ``GenerationMaps`` per generated image, in the pipeline's output order."""
        out = []
        for call in self._calls:
            if not call.acc.sums:
                continue  # encoded but never denoised (an exception before the first step)
            for i in range(call.acc.n_images):
                prompt = call.prompts[i] if call.prompts else None
                out.append(
                    GenerationMaps(
                        prompt=prompt,
                        image_index=i,
                        prompt_index=call.prompt_index[i],
                        image_size=call.image_size,
                        tokens=call.tokens.get(prompt) if prompt is not None else None,
                        sums={r: t[i].detach().float().cpu() for r, t in call.acc.sums.items()},
                        layer_resolutions=dict(call.acc.layer_resolutions),
                        n_steps=call.acc.n_steps,
                        detail={k: t[i].detach().float().cpu() for k, t in call.acc.detail.items()},
                        detail_heads=self.keep.heads,
                    )
                )
        return out

    def state_nbytes(self) -> int:
        """Bytes held by the running state of all traced calls."""
        return sum(c.acc.nbytes() for c in self._calls)
