"""STEGO (Hamilton et al., 2022), the paper's unsupervised baseline: unlabeled clusters per pixel.

The frozen DINO ViT runs through transformers (``ViTModel``); STEGO's own trained parts come from
the official released Lightning checkpoint the user supplies (``cocostuff27_vit_base_5.ckpt`` was
trained on DINO ViT-B/8, hence the default backbone). From its ``state_dict`` we use:

- ``net.cluster1.0.{weight,bias}``: the linear projection ``Conv2d(n_feats, dim, 1)``;
- ``net.cluster2.{0,2}.{weight,bias}``: the nonlinear projection (Conv-ReLU-Conv), added to it;
- ``cluster_probe.clusters``: ``[n_clusters, dim]`` centroids of the cosine cluster lookup;
- ``linear_probe.{weight,bias}``: the supervised linear probe (``head="linear"``);
- ``net.model.patch_embed.proj.weight``: only to check that the backbone is the one STEGO used.

Inference follows STEGO's evaluation (src/eval_segmentation.py): the image is resized so its
shorter side is ``resolution`` (320) and both sides are multiples of the patch size, normalised
with ImageNet statistics; the code is averaged with that of the mirrored image, upsampled
bilinearly, and scored by the cluster probe as ``log_softmax(2 * cosine)``; the optional dense CRF
refines those probabilities at that resolution. Probabilities are then upsampled bilinearly to the
image and the argmax is the cluster id. Only STEGO's "feat" features (the last layer's normalised
patch tokens) are supported; the released checkpoints use them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from baselines.checkpoint import CheckpointError, load_checkpoint, tensor_state
from baselines.crf import dense_crf
from baselines.pretrained import from_pretrained, resolve_device, resolve_dtype
from baselines.protocol import Baseline, BaselineError, BaselineOutput, as_rgb, check_words

DEFAULT_BACKBONE = "facebook/dino-vitb8"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLUSTER_ALPHA = 2.0  # STEGO's evaluation sharpens the cosine scores by 2 before the softmax
HEADS = ("cluster", "linear")


class StegoHead(nn.Module):
    """STEGO's projection of backbone features to a code, and its cluster and linear probes."""

    def __init__(self, n_feats: int, dim: int, n_clusters: int, nonlinear: bool, n_classes: int | None):
        super().__init__()
        self.cluster1 = nn.Sequential(nn.Conv2d(n_feats, dim, (1, 1)))
        self.cluster2 = None
        if nonlinear:
            self.cluster2 = nn.Sequential(
                nn.Conv2d(n_feats, n_feats, (1, 1)), nn.ReLU(), nn.Conv2d(n_feats, dim, (1, 1))
            )
        self.clusters = nn.Parameter(torch.zeros(n_clusters, dim))
        self.linear_probe = nn.Conv2d(dim, n_classes, (1, 1)) if n_classes else None
        self.n_feats = n_feats

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor], source: str = "checkpoint") -> StegoHead:
        need = ("net.cluster1.0.weight", "net.cluster1.0.bias", "cluster_probe.clusters")
        missing = [k for k in need if k not in state]
        if missing:
            sample = ", ".join(sorted(state)[:8])
            raise CheckpointError(f"{source} is not a STEGO checkpoint: no {', '.join(missing)} (it has {sample}...)")
        proj = state["net.cluster1.0.weight"]
        if proj.ndim != 4 or proj.shape[2:] != (1, 1):
            raise CheckpointError(
                f"{source}: net.cluster1.0.weight should be a 1x1 convolution, got {tuple(proj.shape)}"
            )
        dim, n_feats = proj.shape[:2]
        clusters = state["cluster_probe.clusters"]
        if clusters.ndim != 2 or clusters.shape[1] != dim:
            raise CheckpointError(f"{source}: cluster_probe.clusters is {tuple(clusters.shape)}, expected [n, {dim}]")
        nonlinear = "net.cluster2.0.weight" in state
        linear = state.get("linear_probe.weight")
        head = cls(n_feats, dim, clusters.shape[0], nonlinear, None if linear is None else linear.shape[0])
        mapping = {
            "cluster1.0.weight": "net.cluster1.0.weight",
            "cluster1.0.bias": "net.cluster1.0.bias",
            "clusters": "cluster_probe.clusters",
        }
        if nonlinear:
            mapping |= {f"cluster2.{i}.{p}": f"net.cluster2.{i}.{p}" for i in (0, 2) for p in ("weight", "bias")}
        if linear is not None:
            mapping |= {"linear_probe.weight": "linear_probe.weight", "linear_probe.bias": "linear_probe.bias"}
        absent = [theirs for theirs in mapping.values() if theirs not in state]
        if absent:
            raise CheckpointError(f"{source}: incomplete STEGO head, missing {', '.join(absent)}")
        try:
            head.load_state_dict({ours: state[theirs].float() for ours, theirs in mapping.items()}, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"{source}: STEGO head tensors have unexpected shapes: {exc}") from exc
        return head

    @property
    def n_clusters(self) -> int:
        return self.clusters.shape[0]

    def code(self, feats: torch.Tensor) -> torch.Tensor:
        """``[B, n_feats, h, w]`` backbone features -> ``[B, dim, h, w]`` STEGO code."""
        code = self.cluster1(feats)
        if self.cluster2 is not None:
            code = code + self.cluster2(feats)
        return code

    def cluster_log_probs(self, code: torch.Tensor, alpha: float = CLUSTER_ALPHA) -> torch.Tensor:
        cosine = torch.einsum("bchw,nc->bnhw", F.normalize(code, dim=1), F.normalize(self.clusters, dim=1))
        return torch.log_softmax(cosine * alpha, dim=1)

    def linear_log_probs(self, code: torch.Tensor) -> torch.Tensor:
        if self.linear_probe is None:
            raise BaselineError("this STEGO checkpoint has no linear probe; use head='cluster'")
        return torch.log_softmax(self.linear_probe(code), dim=1)


class StegoBaseline(Baseline):
    name = "stego"
    kind = "clusters"

    def __init__(
        self,
        checkpoint: str | os.PathLike[str] | None = None,
        model: str = DEFAULT_BACKBONE,
        device: str | None = "cpu",
        dtype: str = "float32",
        resolution: int = 320,
        head: str = "cluster",
        crf: bool = False,
        check_backbone: bool = True,
    ):
        from transformers import ViTModel

        if checkpoint is None:
            raise BaselineError(
                "STEGO needs its released checkpoint: pass checkpoint=<path to the .ckpt file> "
                "(e.g. cocostuff27_vit_base_5.ckpt from the STEGO repository)"
            )
        if head not in HEADS:
            raise BaselineError(f"head must be one of {HEADS}, got {head!r}")
        if resolution < 1:
            raise BaselineError(f"resolution must be >= 1, got {resolution}")
        self.checkpoint, self.model_name = Path(checkpoint), str(model)
        self.resolution, self.head_kind, self.crf = int(resolution), head, bool(crf)
        self.device, self.dtype = resolve_device(device), resolve_dtype(dtype)
        state = tensor_state(load_checkpoint(self.checkpoint), self.checkpoint)
        self.head = StegoHead.from_state_dict(state, str(self.checkpoint)).to(self.device).eval()
        if head == "linear" and self.head.linear_probe is None:
            raise CheckpointError(f"{self.checkpoint} has no linear_probe; use head='cluster'")
        self.backbone = from_pretrained(ViTModel, model, "DINO backbone", add_pooling_layer=False, dtype=self.dtype)
        self.backbone.to(self.device).eval()
        self.patch = int(self.backbone.config.patch_size)
        self._check_backbone(state, check_backbone)

    def _check_backbone(self, state: dict[str, torch.Tensor], compare_weights: bool) -> None:
        hidden = int(self.backbone.config.hidden_size)
        if hidden != self.head.n_feats:
            raise BaselineError(
                f"{self.checkpoint} was trained on {self.head.n_feats}-dim features but the backbone "
                f"{self.model_name!r} gives {hidden} (ViT-S: 384, ViT-B: 768): pass the matching DINO model"
            )
        theirs = state.get("net.model.patch_embed.proj.weight")
        if theirs is None:
            return
        if tuple(theirs.shape[-2:]) != (self.patch, self.patch):
            raise BaselineError(
                f"{self.checkpoint} used patch size {theirs.shape[-1]}, the backbone "
                f"{self.model_name!r} uses {self.patch}: pass the matching DINO model"
            )
        ours = self.backbone.embeddings.patch_embeddings.projection.weight.detach().cpu()
        theirs = theirs.to(ours.dtype)  # compare at the precision the backbone runs in
        if compare_weights and (
            ours.shape != theirs.shape or not torch.allclose(ours.float(), theirs.float(), atol=1e-4, rtol=1e-3)
        ):
            raise BaselineError(
                f"the backbone {self.model_name!r} is not the DINO model {self.checkpoint} was trained on "
                "(patch embedding weights differ); pass the right one or check_backbone=False"
            )

    def _input(self, pixels: np.ndarray) -> torch.Tensor:
        """Resized (shorter side ``resolution``, sides multiples of the patch) and normalised ``[1, 3, h, w]``."""
        h, w = pixels.shape[:2]
        scale = self.resolution / min(h, w)
        size = (max(1, round(h * scale / self.patch)) * self.patch, max(1, round(w * scale / self.patch)) * self.patch)
        x = torch.tensor(pixels).permute(2, 0, 1)[None].float() / 255.0
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        mean, std = torch.tensor(IMAGENET_MEAN)[:, None, None], torch.tensor(IMAGENET_STD)[:, None, None]
        return (x - mean) / std

    @torch.inference_mode()
    def log_probs(self, pixels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-cluster log-probabilities ``[K, h, w]`` at the working resolution, and the input used."""
        x = self._input(pixels)
        h, w = x.shape[-2:]
        both = torch.cat([x, x.flip(-1)]).to(self.device, self.dtype)
        tokens = self.backbone(pixel_values=both, interpolate_pos_encoding=True).last_hidden_state[:, 1:]
        feats = tokens.float().reshape(2, h // self.patch, w // self.patch, -1).permute(0, 3, 1, 2)
        code = self.head.code(feats)
        code = (code[:1] + code[1:].flip(-1)) / 2
        code = F.interpolate(code, size=(h, w), mode="bilinear", align_corners=False)
        out = self.head.cluster_log_probs(code) if self.head_kind == "cluster" else self.head.linear_log_probs(code)
        return out[0].cpu(), x[0]

    def predict(self, image, prompt: str, words: Sequence[str]) -> BaselineOutput:
        pixels = as_rgb(image)
        check_words(words)
        h, w = pixels.shape[:2]
        log_probs, x = self.log_probs(pixels)
        if self.crf:
            resized = x * torch.tensor(IMAGENET_STD)[:, None, None] + torch.tensor(IMAGENET_MEAN)[:, None, None]
            resized = (resized.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
            scores = torch.from_numpy(dense_crf(resized, log_probs.numpy()))
        else:
            scores = log_probs
        scores = F.interpolate(scores[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        clusters = scores.argmax(0).numpy().astype(np.int32)
        return BaselineOutput(
            self.name, (h, w), clusters=clusters, n_clusters=int(scores.shape[0]), details=self.describe()
        )

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "model": self.model_name,
            "checkpoint": self.checkpoint.name,
            "resolution": self.resolution,
            "head": self.head_kind,
            "crf": self.crf,
        }
