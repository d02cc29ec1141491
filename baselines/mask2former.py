"""Mask2Former (Cheng et al., 2022), the supervised closed-vocabulary reference (the paper's Swin-S
on COCO instance segmentation).

A word's map is the union of the predicted instances of the class the word names (binary, as
float32); words that name no class of the model get an all-zero map and are listed as
``unsupported``, so the report can score them either as misses (mIoU over all nouns) or leave them
out (mIoU_80). Words are matched to classes by ``core.coco.coco_class`` and, for models with
other label sets, by a label name equal to the word or its singular.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from baselines.pretrained import from_pretrained, resolve_device, resolve_dtype
from baselines.protocol import Baseline, BaselineError, BaselineOutput, as_rgb, check_words
from core.coco import coco_class, singular_candidates

DEFAULT_MODEL = "facebook/mask2former-swin-small-coco-instance"
MODES = ("instance", "semantic")


def label_name(label: str) -> str:
    """A model label as a plain noun: COCO panoptic's "tree-merged" -> "tree"."""
    name = label.lower()
    for suffix in ("-merged", "-other", "-stuff"):
        name = name.removesuffix(suffix)
    return name.replace("-", " ").strip()


def labels_for_word(word: str, id2label: Mapping[int, str]) -> set[int]:
    """Label ids of the model that the word names (empty when none)."""
    by_name: dict[str, set[int]] = {}
    for label_id, label in id2label.items():
        by_name.setdefault(label_name(label), set()).add(int(label_id))
    cls = coco_class(word)
    if cls is not None and cls in by_name:
        return by_name[cls]
    for candidate in singular_candidates(word):
        if candidate in by_name:
            return by_name[candidate]
    return set()


def union_of_instances(
    instance_masks: np.ndarray, instance_labels: Sequence[int], labels: set[int], size: tuple[int, int]
) -> np.ndarray:
    """Float32 ``[H, W]``: 1 where any instance whose label is in ``labels`` covers the pixel."""
    out = np.zeros(size, dtype=bool)
    for mask, label in zip(instance_masks, instance_labels, strict=True):
        if int(label) in labels:
            out |= np.asarray(mask, dtype=bool)
    return out.astype(np.float32)


class Mask2FormerBaseline(Baseline):
    name = "mask2former"
    kind = "soft"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        device: str | None = "cpu",
        dtype: str = "float32",
        mode: str = "instance",
        score_threshold: float = 0.5,
    ):
        from transformers import AutoImageProcessor, Mask2FormerForUniversalSegmentation

        if mode not in MODES:
            raise BaselineError(f"mode must be one of {MODES}, got {mode!r}")
        if not 0.0 <= score_threshold <= 1.0:
            raise BaselineError(f"score_threshold must lie in [0, 1], got {score_threshold}")
        self.model_name, self.mode, self.score_threshold = str(model), mode, float(score_threshold)
        self.device, self.dtype = resolve_device(device), resolve_dtype(dtype)
        self.processor = from_pretrained(AutoImageProcessor, model, "Mask2Former image processor")
        self.model = from_pretrained(Mask2FormerForUniversalSegmentation, model, "Mask2Former model", dtype=self.dtype)
        self.model.to(self.device).eval()
        self.id2label = {int(k): v for k, v in self.model.config.id2label.items()}

    @torch.inference_mode()
    def _outputs(self, pixels: np.ndarray):
        inputs = self.processor(images=pixels, return_tensors="pt")
        pixel_values = inputs["pixel_values"].to(self.device, self.dtype)
        outputs = self.model(pixel_values=pixel_values)
        # post-processing runs in float32 on the CPU
        outputs.class_queries_logits = outputs.class_queries_logits.float().cpu()
        outputs.masks_queries_logits = outputs.masks_queries_logits.float().cpu()
        return outputs

    def instances(self, pixels: np.ndarray) -> tuple[np.ndarray, list[int], list[float]]:
        """Binary instance masks ``[n, H, W]`` at image size, their label ids and scores."""
        h, w = pixels.shape[:2]
        result = self.processor.post_process_instance_segmentation(
            self._outputs(pixels),
            threshold=self.score_threshold,
            target_sizes=[(h, w)],
            return_binary_maps=True,
        )[0]
        info = result["segments_info"]
        if not info:
            return np.zeros((0, h, w), bool), [], []
        masks = result["segmentation"].numpy().astype(bool).reshape(len(info), h, w)
        return masks, [int(s["label_id"]) for s in info], [float(s["score"]) for s in info]

    def semantic(self, pixels: np.ndarray) -> np.ndarray:
        """Label id per pixel ``[H, W]``."""
        h, w = pixels.shape[:2]
        seg = self.processor.post_process_semantic_segmentation(self._outputs(pixels), target_sizes=[(h, w)])[0]
        return seg.numpy()

    def predict(self, image, prompt: str, words: Sequence[str]) -> BaselineOutput:
        pixels = as_rgb(image)
        size = pixels.shape[:2]
        words = check_words(words)
        labels = {word: labels_for_word(word, self.id2label) for word in words}
        unsupported = tuple(word for word in words if not labels[word])
        maps = {word: np.zeros(size, np.float32) for word in unsupported}
        wanted = [word for word in words if labels[word]]
        if wanted:
            if self.mode == "instance":
                masks, instance_labels, _ = self.instances(pixels)
                for word in wanted:
                    maps[word] = union_of_instances(masks, instance_labels, labels[word], size)
            else:
                seg = self.semantic(pixels)
                for word in wanted:
                    maps[word] = np.isin(seg, sorted(labels[word])).astype(np.float32)
        ordered = {word: maps[word] for word in words}
        details = {**self.describe(), "classes": {w: sorted(self.id2label[i] for i in labels[w]) for w in wanted}}
        return BaselineOutput(self.name, size, maps=ordered, unsupported=unsupported, details=details)

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "model": self.model_name,
            "mode": self.mode,
            "score_threshold": self.score_threshold,
        }
