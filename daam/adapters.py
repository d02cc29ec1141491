"""What differs between pipeline families, kept out of the tracing core.

An adapter tells the tracer (1) which module denoises and which of its attention layers attend
from image to text, (2) which pipeline method encodes the prompt and where the conditional
embeddings are in its result, and (3) how to get text-token probabilities out of one layer.
UNet pipelines (SD 1.x/2.x, SDXL and their img2img/inpaint variants, InstructPix2Pix) share
one adapter. A joint-attention DiT (SD3, FLUX) would add an adapter whose layers are the joint
blocks and whose ``attention_probs`` takes image queries against the text part of the joint
key sequence; the tracer itself would not change.
"""
from __future__ import annotations

import inspect

import torch


class UnsupportedPipelineError(TypeError):
    pass


class UNetAdapter:
    """Pipelines whose UNet has cross-attention layers (diffusers ``Attention``, attn2)."""

    families = {
        "StableDiffusionPipeline": "encode_prompt",
        "StableDiffusionImg2ImgPipeline": "encode_prompt",
        "StableDiffusionInpaintPipeline": "encode_prompt",
        "StableDiffusionXLPipeline": "encode_prompt",
        "StableDiffusionXLImg2ImgPipeline": "encode_prompt",
        "StableDiffusionXLInpaintPipeline": "encode_prompt",
        "StableDiffusionInstructPix2PixPipeline": "_encode_prompt",
    }

    def __init__(self, pipe):
        self.family = next((c.__name__ for c in type(pipe).__mro__ if c.__name__ in self.families), None)
        if self.family is None:
            raise UnsupportedPipelineError(
                f"daam.trace does not support {type(pipe).__name__}; supported pipelines: "
                + ", ".join(sorted(self.families))
            )
        self.encode_method = self.families[self.family]
        self.pipe = pipe

    # -- modules -------------------------------------------------------------------------
    def denoiser(self) -> torch.nn.Module:
        return self.pipe.unet

    def cross_attention_layers(self) -> dict:
        from diffusers.models.attention_processor import Attention

        layers = {
            name: m
            for name, m in self.denoiser().named_modules()
            if isinstance(m, Attention) and getattr(m, "is_cross_attention", False)
        }
        if not layers:
            raise UnsupportedPipelineError(f"{type(self.denoiser()).__name__} has no cross-attention layers")
        return layers

    def tokenizer(self):
        tok = getattr(self.pipe, "tokenizer", None) or getattr(self.pipe, "tokenizer_2", None)
        if tok is None:
            raise UnsupportedPipelineError("the pipeline has no tokenizer: words cannot be aligned")
        return tok

    def vae_scale_factor(self) -> int:
        return int(getattr(self.pipe, "vae_scale_factor", 8))

    # -- prompt encoding -----------------------------------------------------------------
    def read_encode_call(self, method, args, kwargs, result):
        """(prompts per image or None, prompt index per image, conditional embeddings)."""
        bound = inspect.signature(method).bind(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        prompt = a.get("prompt")
        per = int(a.get("num_images_per_prompt") or 1)
        if self.family == "StableDiffusionInstructPix2PixPipeline":
            # _encode_prompt returns [text, negative (image only), negative (none)] concatenated
            chunks = 3 if a.get("do_classifier_free_guidance") else 1
            cond = result[: result.shape[0] // chunks]
        else:
            cond = result[0]
        n = cond.shape[0]
        if prompt is None:
            return None, list(range(n)), cond
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if len(prompts) * per != n:
            raise RuntimeError(f"{len(prompts)} prompt(s) x {per} images do not match {n} embeddings")
        expanded = [p for p in prompts for _ in range(per)]
        index = [i for i in range(len(prompts)) for _ in range(per)]
        if self.family.startswith("StableDiffusionXL") and a.get("prompt_2") not in (None, prompt):
            import warnings

            warnings.warn("prompt_2 differs from prompt: word maps are aligned to `prompt`'s tokens", stacklevel=4)
        return expanded, index, cond

    @staticmethod
    def denoiser_inputs(args, kwargs):
        """(latent sample, encoder hidden states) of a UNet call."""
        sample = args[0] if args else kwargs["sample"]
        ehs = kwargs.get("encoder_hidden_states", args[2] if len(args) > 2 else None)
        return sample, ehs

    # -- one layer -----------------------------------------------------------------------
    @staticmethod
    def attention_probs(attn, query, key, attention_mask=None) -> torch.Tensor:
        """softmax(QK^T / sqrt(d)) per head, ``[batch, heads, pixels, tokens]``, in float32."""
        b, n, inner = query.shape
        heads = attn.heads
        q = query.reshape(b, n, heads, -1).transpose(1, 2)
        k = key.reshape(b, key.shape[1], heads, -1).transpose(1, 2)
        if getattr(attn, "norm_q", None) is not None:
            q = attn.norm_q(q)
        if getattr(attn, "norm_k", None) is not None:
            k = attn.norm_k(k)
        scores = torch.matmul(q.float(), k.float().transpose(-1, -2)) * attn.scale
        if attention_mask is not None:
            mask = attn.prepare_attention_mask(attention_mask, key.shape[1], b)
            scores = scores + mask.view(b, heads, -1, mask.shape[-1]).float()
        return scores.softmax(-1)


def adapter_for(pipe) -> UNetAdapter:
    return UNetAdapter(pipe)
