"""Tiny real transformers models for the baseline tests, built from configs and saved to a folder."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import torch

from core.coco import COCO80 as COCO_CLASSES


def build_clipseg(path: Path, tokenizer_dir: Path) -> Path:
    """A 2-layer CLIPSeg (32x32 input, patch 8) with the real CLIP tokenizer and processor."""
    from transformers import (
        CLIPSegConfig,
        CLIPSegForImageSegmentation,
        CLIPSegProcessor,
        CLIPTokenizer,
        ViTImageProcessor,
    )

    torch.manual_seed(0)
    config = CLIPSegConfig(
        text_config=dict(
            vocab_size=49408,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=77,
            bos_token_id=49406,
            eos_token_id=49407,
            pad_token_id=49407,
        ),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        ),
        projection_dim=16,
        extract_layers=(0, 1),
        reduce_dim=16,
        decoder_num_attention_heads=2,
        decoder_intermediate_size=32,
    )
    CLIPSegForImageSegmentation(config).save_pretrained(path)
    image_processor = ViTImageProcessor(
        size={"height": 32, "width": 32}, image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]
    )
    CLIPSegProcessor(
        image_processor=image_processor, tokenizer=CLIPTokenizer.from_pretrained(tokenizer_dir)
    ).save_pretrained(path)
    return path


def build_mask2former(path: Path) -> Path:
    """A Mask2Former with a 4-stage Swin of width 16 and COCO's 80 instance classes."""
    from transformers import Mask2FormerConfig, Mask2FormerForUniversalSegmentation, Mask2FormerImageProcessor

    torch.manual_seed(0)
    config = Mask2FormerConfig(
        backbone_config=dict(
            model_type="swin",
            embed_dim=16,
            depths=[1, 1, 1, 1],
            num_heads=[1, 1, 2, 2],
            image_size=64,
            window_size=4,
            out_features=["stage1", "stage2", "stage3", "stage4"],
        ),
        hidden_dim=32,
        mask_feature_size=32,
        feature_size=32,
        encoder_feedforward_dim=32,
        dim_feedforward=32,
        encoder_layers=1,
        decoder_layers=2,
        num_queries=8,
        num_attention_heads=2,
        common_stride=4,
        id2label=dict(enumerate(COCO_CLASSES)),
        label2id={c: i for i, c in enumerate(COCO_CLASSES)},
    )
    Mask2FormerForUniversalSegmentation(config).save_pretrained(path)
    Mask2FormerImageProcessor(size={"shortest_edge": 64, "longest_edge": 128}, size_divisor=32).save_pretrained(path)
    return path


def build_dino_vit(path: Path, hidden: int = 32, patch: int = 8) -> Path:
    """A one-layer ViT standing in for DINO ViT-S/8 or ViT-B/8."""
    from transformers import ViTConfig, ViTModel

    torch.manual_seed(0)
    config = ViTConfig(
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        image_size=32,
        patch_size=patch,
        layer_norm_eps=1e-6,
    )
    ViTModel(config, add_pooling_layer=False).save_pretrained(path)
    return path


# STEGO: the checkpoint layout of its LitUnsupervisedSegmenter, with random tensors
DIM, K, CLASSES = 6, 5, 4


class DictConfig:
    """Pickles under omegaconf's name, as STEGO's hyperparameters do, without omegaconf installed."""

    def __init__(self, content):
        self._content = content

    def __getstate__(self):
        return {"_content": self._content, "_metadata": None}


def official_stego_state(dino_path, nonlinear=True, patch_weight=None):
    """A state dict with the key layout of STEGO's LitUnsupervisedSegmenter (random tensors)."""
    from safetensors.torch import load_file

    n_feats = 32
    backbone = load_file(str(dino_path / "model.safetensors"))
    g = torch.Generator().manual_seed(0)
    state = {
        "net.model.cls_token": torch.randn(1, 1, n_feats, generator=g),
        "net.model.patch_embed.proj.weight": (
            backbone["embeddings.patch_embeddings.projection.weight"] if patch_weight is None else patch_weight
        ),
        "net.cluster1.0.weight": torch.randn(DIM, n_feats, 1, 1, generator=g),
        "net.cluster1.0.bias": torch.randn(DIM, generator=g),
        "train_cluster_probe.clusters": torch.randn(CLASSES, DIM, generator=g),
        "cluster_probe.clusters": torch.randn(K, DIM, generator=g),
        "linear_probe.weight": torch.randn(CLASSES, DIM, 1, 1, generator=g),
        "linear_probe.bias": torch.randn(CLASSES, generator=g),
        "decoder.weight": torch.randn(n_feats, DIM, 1, 1, generator=g),
        "decoder.bias": torch.randn(n_feats, generator=g),
    }
    if nonlinear:
        state |= {
            "net.cluster2.0.weight": torch.randn(n_feats, n_feats, 1, 1, generator=g),
            "net.cluster2.0.bias": torch.randn(n_feats, generator=g),
            "net.cluster2.2.weight": torch.randn(DIM, n_feats, 1, 1, generator=g),
            "net.cluster2.2.bias": torch.randn(DIM, generator=g),
        }
    return state


def save_like_lightning(path, state):
    """Save like PyTorch Lightning: tensors plus an OmegaConf config among the hyperparameters."""
    package, module = types.ModuleType("omegaconf"), types.ModuleType("omegaconf.dictconfig")
    package.dictconfig, module.DictConfig = module, DictConfig
    saved = DictConfig.__module__
    DictConfig.__module__ = "omegaconf.dictconfig"
    sys.modules |= {"omegaconf": package, "omegaconf.dictconfig": module}
    try:
        torch.save(
            {
                "epoch": 3,
                "global_step": 7000,
                "pytorch-lightning_version": "1.4.9",
                "state_dict": state,
                "hyper_parameters": {"n_classes": CLASSES, "cfg": DictConfig({"arch": "dino", "dim": DIM})},
                "optimizer_states": [],
                "lr_schedulers": [],
            },
            path,
        )
    finally:
        DictConfig.__module__ = saved
        del sys.modules["omegaconf.dictconfig"], sys.modules["omegaconf"]
    return path
