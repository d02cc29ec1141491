"""CLIPSeg (Lüddecke and Ecker, 2022): the open-vocabulary, supervised reference of the paper.

All words of a prompt go through one batched forward (the image repeated once per text query, as
the model's own example does). The per-word sigmoid probabilities (352 x 352 for the released
models) are upscaled bilinearly to the image size and then min-max normalised per word, exactly as
DAAM's maps are, so that one threshold tau means the same thing for both methods; pass
``normalise=False`` to keep the raw probabilities instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from baselines.pretrained import from_pretrained, resolve_device, resolve_dtype
from baselines.protocol import Baseline, BaselineError, BaselineOutput, as_rgb, check_words
from daam.aggregation import normalise as minmax

DEFAULT_MODEL = "CIDAS/clipseg-rd64-refined"


class CLIPSegBaseline(Baseline):
    name = "clipseg"
    kind = "soft"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        device: str | None = "cpu",
        dtype: str = "float32",
        template: str = "{}",
        normalise: bool = True,
        max_batch: int = 16,
    ):
        from transformers import CLIPSegForImageSegmentation, CLIPSegProcessor

        if "{}" not in template:
            raise BaselineError(f"template must contain '{{}}' where the word goes, got {template!r}")
        if max_batch < 1:
            raise BaselineError(f"max_batch must be >= 1, got {max_batch}")
        self.model_name, self.template, self.normalise, self.max_batch = str(model), template, normalise, max_batch
        self.device, self.dtype = resolve_device(device), resolve_dtype(dtype)
        self.processor = from_pretrained(CLIPSegProcessor, model, "CLIPSeg processor")
        self.model = from_pretrained(CLIPSegForImageSegmentation, model, "CLIPSeg model", dtype=self.dtype)
        self.model.to(self.device).eval()

    @torch.inference_mode()
    def probabilities(self, image: np.ndarray, queries: list[str]) -> torch.Tensor:
        """Sigmoid of the logits, ``[n_queries, h, w]`` at the model's resolution."""
        parts = []
        for start in range(0, len(queries), self.max_batch):
            chunk = queries[start : start + self.max_batch]
            inputs = self.processor(text=chunk, images=[image] * len(chunk), padding=True, return_tensors="pt")
            inputs = {k: v.to(self.device) for k, v in inputs.items()}
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
            logits = self.model(**inputs).logits
            # the model squeezes the batch axis away when it is 1
            parts.append(logits.reshape(len(chunk), *logits.shape[-2:]).float().sigmoid().cpu())
        return torch.cat(parts)

    def predict(self, image, prompt: str, words: Sequence[str]) -> BaselineOutput:
        pixels = as_rgb(image)
        h, w = pixels.shape[:2]
        words = check_words(words)
        if not words:
            return BaselineOutput(self.name, (h, w), maps={}, details=self.describe())
        probs = self.probabilities(pixels, [self.template.format(word) for word in words])
        probs = F.interpolate(probs[:, None], size=(h, w), mode="bilinear", align_corners=False)[:, 0]
        maps = {}
        for word, p in zip(words, probs, strict=True):
            p = minmax(p) if self.normalise else p.clamp(0.0, 1.0)
            maps[word] = p.numpy().astype(np.float32)
        return BaselineOutput(self.name, (h, w), maps=maps, details=self.describe())

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "model": self.model_name, "template": self.template, "normalise": self.normalise}
