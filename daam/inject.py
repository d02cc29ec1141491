"""Fixing the layout: reuse a traced generation's cross-attention in a new one.

The paper's adjective study (section 5.2) holds the scene layout fixed while an adjective
varies, by reusing the seed prompt's cross-attention maps (Hertz et al., prompt-to-prompt). This
is an *edit*, unlike ``daam.trace``: for the conditional rows, each cross-attention layer's
probabilities are replaced by the recorded ones, and the output is those probabilities times the
new prompt's values. Record the seed with full detail::

    with daam.trace(pipe, keep_steps=True, keep_layers=True, keep_heads=True) as tc:
        pipe("a rusty shovel in a shed", generator=g0)
    seed = tc.results()[0]
    with daam.fix_layout(pipe, seed):
        pipe("a wooden shovel in a shed", generator=g0)   # same seed, same layout

Prompts must tokenize to the same length (a word swapped for a one-token word), as in
prompt-to-prompt's "replace" edit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NoReturn

import torch

from daam.adapters import UNetAdapter, cross_attention_probs
from daam.maps import GenerationMaps
from daam.trace import TraceError, trace

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline


class _Injector:
    """A standard attention computation whose conditional probabilities come from the record."""

    def __init__(self, name: str, owner: fix_layout):
        self.name = name
        self.owner = owner

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        owner = self.owner
        residual = hidden_states
        ndim = hidden_states.ndim
        if ndim == 4:
            b, c, h, w = hidden_states.shape
            hidden_states = hidden_states.view(b, c, h * w).transpose(1, 2)
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        if encoder_hidden_states is not None and attn.norm_cross:
            context = attn.norm_encoder_hidden_states(context)
        batch = hidden_states.shape[0]
        q = attn.to_q(hidden_states)
        k = attn.to_k(context)
        v = attn.to_v(context)
        probs = cross_attention_probs(attn, q, k, attention_mask)
        call = owner._calls[-1] if owner._calls else None
        if encoder_hidden_states is not None and call is not None and call.rows is not None and owner.active(call.step):
            recorded = owner.recorded(self.name, call.step)  # [heads, tokens, h, w]
            heads, tokens = recorded.shape[:2]
            if tokens != probs.shape[-1] or heads != probs.shape[1]:
                raise TraceError(
                    f"layer {self.name}: recorded {heads} heads x {tokens} tokens, "
                    f"this prompt has {probs.shape[1]} x {probs.shape[-1]}"
                )
            fixed = recorded.flatten(2).transpose(1, 2).to(probs)  # [heads, pixels, tokens]
            probs = probs.clone()
            probs[call.rows] = fixed.unsqueeze(0).expand(len(call.rows), *fixed.shape)
        d = v.shape[-1] // attn.heads
        vh = v.view(batch, -1, attn.heads, d).transpose(1, 2)
        out = torch.matmul(probs.to(vh.dtype), vh).transpose(1, 2).reshape(batch, -1, attn.heads * d)
        out = attn.to_out[1](attn.to_out[0](out))
        if ndim == 4:
            out = out.transpose(-1, -2).reshape(b, c, h, w)
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


class fix_layout(trace):
    """Replace the conditional cross-attention of every generation with ``source``'s.

    ``steps`` limits the replacement to some steps (prompt-to-prompt replaces the first part of
    the schedule): an iterable of step indices or a predicate; default every step recorded.
    """

    def __init__(
        self,
        pipe: DiffusionPipeline,
        source: GenerationMaps,
        steps: Iterable[int] | Callable[[int], bool] | None = None,
    ) -> None:
        super().__init__(pipe)
        if not isinstance(self.adapter, UNetAdapter):
            raise TraceError(f"fix_layout supports UNet pipelines only, not {type(pipe).__name__}")
        if not source.detail or not source.detail_heads:
            raise TraceError("the source must be traced with keep_steps=True, keep_layers=True, keep_heads=True")
        if any(step is None for step, _ in source.detail) or not all(
            n in source.layer_resolutions for _, n in source.detail
        ):
            raise TraceError("the source must keep per-step, per-layer detail (keep_steps and keep_layers)")
        self.source = source
        self._steps = steps

    def active(self, step: int) -> bool:
        if self._steps is None:
            return True  # every step; a step the source lacks is an error (schedules differ)
        return bool(self._steps(step)) if callable(self._steps) else step in set(self._steps)

    def recorded(self, layer: str, step: int) -> torch.Tensor:
        try:
            return self.source.detail[(step, layer)]
        except KeyError:
            raise TraceError(
                f"no recorded attention for layer {layer!r} at step {step}: the source had {self.source.n_steps} steps"
            ) from None

    _observes = False  # no q/k capture hooks: the injector computes attention itself

    def _processor_for(self, inner, layer_name: str, spec=None):
        return _Injector(layer_name, self)  # trace restores the original processors on exit

    def results(self) -> NoReturn:
        raise TraceError("fix_layout edits generation; trace the edited pipeline separately to get maps")


__all__ = ["fix_layout"]
