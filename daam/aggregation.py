"""Running sums of cross-attention maps, kept at each layer's native resolution.

Bicubic upscaling is linear, so upscale(sum of maps) == sum of upscaled maps: we add maps at
their own size (64x64, 32x32, ... for SD at 512 px) and upscale once, when a word map is asked
for. The state is then independent of the number of steps and layers, and small: for SD 2 at
512 px, 77 tokens x (64^2 + 32^2 + 16^2 + 8^2) floats = 1.7 MB per image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

Resolution = tuple[int, int]


def layer_resolution(n_pixels: int, latent_hw: Resolution, max_levels: int = 8) -> Resolution:
    """The (h, w) grid of a layer with ``n_pixels`` queries, given the latent's (h, w).

    UNet down-sampling halves each side rounding up (stride-2 convolutions with padding 1).
    """
    h, w = latent_hw
    for level in range(max_levels):
        f = 2**level
        hh, ww = -(-h // f), -(-w // f)
        if hh * ww == n_pixels:
            return hh, ww
    raise ValueError(f"cannot place {n_pixels} attention queries on a grid derived from latent {h}x{w}")


def upscale(maps: torch.Tensor, size: Resolution) -> torch.Tensor:
    """Bicubic upscaling of ``[..., h, w]`` maps to ``size`` (the paper's interpolation)."""
    lead = maps.shape[:-2]
    flat = maps.reshape(-1, 1, *maps.shape[-2:]).float()
    if tuple(flat.shape[-2:]) != tuple(size):
        flat = F.interpolate(flat, size=size, mode="bicubic", align_corners=False)
    return flat.reshape(*lead, *size)


def normalise(x: torch.Tensor) -> torch.Tensor:
    """Min-max normalisation to [0, 1] (a flat map becomes all zeros)."""
    lo, hi = x.min(), x.max()
    if not torch.isfinite(hi - lo) or (hi - lo) <= 0:
        return torch.zeros_like(x)
    return ((x - lo) / (hi - lo)).clamp_(0.0, 1.0)


@dataclass
class DetailSpec:
    """Which detail to keep beside the running sums (for the paper's ablations, appendix A.1)."""

    steps: bool = False
    layers: bool = False
    heads: bool = False

    @property
    def any(self) -> bool:
        return self.steps or self.layers or self.heads


@dataclass
class Accumulator:
    """Attention maps of one pipeline call: ``n_images`` images, ``n_tokens`` tokens.

    ``sums[res]`` is ``[n_images, n_tokens, h, w]`` summed over heads, layers and steps.
    ``detail[(step, layer)]`` (only when asked) is ``[n_images, heads or 1, n_tokens, h, w]``,
    where ``step`` is None unless steps are kept and ``layer`` is the layer's name when layers are
    kept, else its resolution as ``"HxW"``.
    """

    n_images: int
    keep: DetailSpec = field(default_factory=DetailSpec)
    sums: dict[Resolution, torch.Tensor] = field(default_factory=dict)
    detail: dict[tuple[int | None, str], torch.Tensor] = field(default_factory=dict)
    layer_resolutions: dict[str, Resolution] = field(default_factory=dict)
    n_steps: int = 0

    def add(self, layer: str, step: int, probs: torch.Tensor, res: Resolution) -> None:
        """Add one layer's probabilities ``[n_images, heads, n_pixels, n_tokens]``."""
        n, heads, pixels, tokens = probs.shape
        by_head = probs.transpose(-1, -2).reshape(n, heads, tokens, *res)
        summed = by_head.sum(1)
        if res in self.sums:
            self.sums[res] += summed
        else:
            self.sums[res] = summed.clone()
        self.layer_resolutions[layer] = res
        if self.keep.any:
            key = (step if self.keep.steps else None, layer if self.keep.layers else f"{res[0]}x{res[1]}")
            part = by_head if self.keep.heads else summed[:, None]
            if key in self.detail:
                self.detail[key] += part
            else:
                self.detail[key] = part.clone()

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in list(self.sums.values()) + list(self.detail.values()))
