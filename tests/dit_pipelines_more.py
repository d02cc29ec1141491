"""Tiny LLM-encoder diffusion transformers (Qwen-Image, Z-Image, FLUX.2 [dev] and [klein], Sana) built from configs.

Shapes follow diffusers' own ``get_dummy_components`` (tests/pipelines/{qwenimage,z_image,flux2,sana}); where a
pipeline's defaults need more (FLUX.2 stacks text-encoder layers (10, 20, 30), [klein] (9, 18, 27); Sana bins any
size to its 512/1024 aspect-ratio table) the tiny models grow just enough that a plain ``pipe(prompt, height=...,
width=...)`` call works with the pipeline's defaults. Every tokenizer is a byte-level (or, for Gemma, a
SentencePiece-style "▁") BPE trained here with the ``tokenizers`` library on a small English corpus that also holds
the pipelines' own system prompts, so their templates tokenize word by word the way the real vocabularies do (the
Qwen-Image template prefix is 34 tokens, its ``prompt_template_encode_start_idx``). Each pipeline is saved with
``save_pretrained`` and can be reloaded from that folder with ``local_files_only=True``.

Smallest sizes: Qwen-Image multiples of 8 (32 x 32 -> 4 x 4 tokens), Z-Image multiples of 4 (32 x 32 -> 8 x 8),
FLUX.2 multiples of 2 (8 x 8 -> 4 x 4), Sana any size with resolution binning (runs at 512 px, 16 x 16 tokens) or
multiples of 32 without. ``Flux2Pipeline`` / ``Flux2KleinPipeline.__call__`` take ``image`` first: pass ``prompt=``.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import torch

WORDS = (
    "a an the dog cat and on sofa red car photo of giraffe zebra ice cream blue green yellow big small "
    "sitting standing next to with in field street table man woman person bowl banana apple horse bird "
    "circle square triangle star heart sky grass tree house boat train bench clock pizza cake is are two three"
).split()

QWEN_SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
QWEN3_THINK = ["<think>", "</think>"]  # Qwen3 added tokens (not special)
MISTRAL_SPECIALS = [
    "<unk>",
    "<s>",
    "</s>",
    "[INST]",
    "[/INST]",
    "[IMG]",
    "<pad>",
    "[IMG_BREAK]",
    "[IMG_END]",
    "[SYSTEM_PROMPT]",
    "[/SYSTEM_PROMPT]",
]
GEMMA_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"]

# Qwen2.5-VL's template (string or [{"type": "text"|"image", ...}] content; default system prompt)
QWEN2_5_VL_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Qwen3's template, reduced to what text-only prompts use (enable_thinking=False adds the empty think block)
QWEN3_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\n' }}"
    "{%- if message['content'] is string %}{{- message['content'] }}"
    "{%- else %}{%- for c in message['content'] %}{%- if c['type'] == 'text' %}{{- c['text'] }}{%- endif %}"
    "{%- endfor %}{%- endif %}"
    "{{- '<|im_end|>\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\n\n</think>\n\n' }}{%- endif %}"
    "{%- endif %}"
)
# Mistral-Small-3.1's template (bos, [SYSTEM_PROMPT]..[/SYSTEM_PROMPT], [INST]..[/INST]; text/image blocks)
MISTRAL3_CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- if messages[0]['content'] is string %}{%- set system_message = messages[0]['content'] %}"
    "{%- else %}{%- set system_message = messages[0]['content'][0]['text'] %}{%- endif %}"
    "{{- '[SYSTEM_PROMPT]' + system_message + '[/SYSTEM_PROMPT]' }}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}{%- set loop_messages = messages %}{%- endif %}"
    "{%- for message in loop_messages %}"
    "{%- if message['role'] == 'user' %}"
    "{%- if message['content'] is string %}{{- '[INST]' + message['content'] + '[/INST]' }}"
    "{%- else %}{{- '[INST]' }}{%- for block in message['content'] %}"
    "{%- if block['type'] == 'text' %}{{- block['text'] }}"
    "{%- elif block['type'] in ['image', 'image_url'] %}{{- '[IMG]' }}{%- endif %}"
    "{%- endfor %}{{- '[/INST]' }}{%- endif %}"
    "{%- elif message['role'] == 'system' %}{{- '[SYSTEM_PROMPT]' + message['content'] + '[/SYSTEM_PROMPT]' }}"
    "{%- elif message['role'] == 'assistant' %}{{- message['content'] + eos_token }}"
    "{%- endif %}"
    "{%- endfor %}"
)
# Qwen-Image's prompt template (QwenImagePipeline.__init__ sets it on the instance)
QWEN_IMAGE_TEMPLATE_TEXT = (
    "<|im_start|>system\nDescribe the image by detailing the color, shape, size, texture, quantity, text, spatial "
    "relationships of the objects and background:<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n"
    "<|im_start|>assistant\n"
)
# Tekken's split pattern (Mistral-Small-3.1 tokenizer.json)
TEKKEN_PATTERN = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|"
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|"
    r"\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _corpus(extra: list[str] = ()) -> list[str]:
    words = WORDS
    lines = [" ".join(words[i:] + words[:i]) for i in range(len(words))] * 4
    lines += [w.capitalize() + " " + " ".join(words[:8]) for w in words]  # sentence-initial forms
    for text in extra:  # the pipelines' system prompts, often enough that each word becomes one token
        lines += [text] * 8
    return lines


def _system_texts() -> list[str]:
    from diffusers import SanaPipeline
    from diffusers.pipelines.flux2.system_messages import SYSTEM_MESSAGE

    chi = inspect.signature(SanaPipeline.__call__).parameters["complex_human_instruction"].default
    return [
        QWEN_IMAGE_TEMPLATE_TEXT.format(" ".join(WORDS)),
        SYSTEM_MESSAGE,
        "\n".join(chi),
        "You are a helpful assistant.",
    ]


def _train_bpe(tokenizer, specials: list[str], corpus: list[str], alphabet=()) -> tuple[dict, list]:
    from tokenizers import trainers

    trainer = trainers.BpeTrainer(
        vocab_size=5000, min_frequency=1, special_tokens=specials, initial_alphabet=list(alphabet), show_progress=False
    )
    tokenizer.train_from_iterator(corpus, trainer)
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in merges]
    return tokenizer.get_vocab(), merges


def _byte_level(pattern: str):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

    tk = Tokenizer(models.BPE())
    tk.normalizer = normalizers.NFC()
    tk.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tk.decoder = decoders.ByteLevel()
    return tk


def build_qwen_tokenizer(path: Path | None = None, chat_template: str = QWEN2_5_VL_CHAT_TEMPLATE):
    """Qwen2 byte-level BPE (Qwen2Tokenizer, i.e. the fast one in transformers 5) with Qwen's special tokens.

    ``<|endoftext|>`` is pad/eos/unk as in Qwen; no BOS is added. Returns the tokenizer (saved to ``path`` if given).
    """
    from tokenizers import AddedToken, pre_tokenizers
    from transformers import Qwen2Tokenizer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    vocab, merges = _train_bpe(
        _byte_level(PRETOKENIZE_REGEX),
        QWEN_SPECIALS + QWEN3_THINK,
        _corpus(_system_texts()),
        pre_tokenizers.ByteLevel.alphabet(),
    )
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, model_max_length=32768)
    tok.add_special_tokens(
        {"extra_special_tokens": [AddedToken(t, special=True, normalized=False) for t in QWEN_SPECIALS[1:]]}
    )
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in QWEN3_THINK])
    tok.chat_template = chat_template
    if path is not None:
        tok.save_pretrained(path)
    return tok


def build_mistral_tokenizer(path: Path | None = None):
    """Tekken-style byte-level BPE (Mistral-Small-3.1's split pattern and control tokens) as a plain fast tokenizer.

    FLUX.2 [dev] ships a PixtralProcessor, but its pipeline only calls ``apply_chat_template`` on text, which a
    tokenizer with the Mistral chat template serves the same way (PixtralProcessor also needs torchvision)."""
    from tokenizers import pre_tokenizers
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    tk = _byte_level(TEKKEN_PATTERN)
    _train_bpe(tk, MISTRAL_SPECIALS, _corpus(_system_texts()), pre_tokenizers.ByteLevel.alphabet())
    bos = ("<s>", tk.token_to_id("<s>"))
    tk.post_processor = TemplateProcessing(single="<s> $A", pair="<s> $A $B", special_tokens=[bos])
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        extra_special_tokens=[t for t in MISTRAL_SPECIALS if t not in ("<unk>", "<s>", "</s>", "<pad>")],
        model_max_length=131072,
        padding_side="right",
        chat_template=MISTRAL3_CHAT_TEMPLATE,
    )
    if path is not None:
        tok.save_pretrained(path)
    return tok


def build_gemma_tokenizer(path: Path | None = None):
    """Gemma-style BPE: spaces normalized to "▁", no prefix space, byte fallback, <bos> prepended."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers
    from transformers import GemmaTokenizer

    tk = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    tk.normalizer = normalizers.Replace(" ", "▁")
    # training splits before each "▁" and isolates newlines and punctuation, so no merge crosses a word start
    # (SentencePiece's behaviour); Gemma's own tokenizer then runs BPE over the whole normalized string and, with no
    # merge spanning those boundaries, lands on the same pieces
    tk.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split("▁", behavior="merged_with_next"),
            pre_tokenizers.Split(Regex(r"[^\p{L}\p{N}▁]"), behavior="isolated"),
        ]
    )
    vocab, merges = _train_bpe(tk, GEMMA_SPECIALS, _corpus(_system_texts()))
    trained = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if t not in GEMMA_SPECIALS]
    order = GEMMA_SPECIALS + [f"<0x{b:02X}>" for b in range(256)] + trained
    vocab = {t: i for i, t in enumerate(order)}
    tok = GemmaTokenizer(
        vocab=vocab, merges=merges, add_bos_token=True, add_eos_token=False, model_max_length=8192, padding_side="left"
    )
    if path is not None:
        tok.save_pretrained(path)
    return tok


# ---------------------------------------------------------------------------------------------------------------
# Qwen-Image
# ---------------------------------------------------------------------------------------------------------------


def build_qwen_image(path: Path) -> Path:
    """QwenImagePipeline: Qwen2.5-VL text encoder (16 wide), 2 double-stream blocks, AutoencoderKLQwenImage (4x).

    Height/width must be multiples of 8 (vae_scale_factor 4 times the 2x2 packing); 32 x 32 gives a 4 x 4 token grid.
    """
    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImagePipeline,
        QwenImageTransformer2DModel,
    )
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tok = build_qwen_tokenizer(None, QWEN2_5_VL_CHAT_TEMPLATE)
    ids = {t: tok.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}

    torch.manual_seed(0)
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=16,
        out_channels=4,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=3,
        joint_attention_dim=16,
        guidance_embeds=False,
        axes_dims_rope=(8, 4, 4),
    )
    torch.manual_seed(0)
    vae = AutoencoderKLQwenImage(
        base_dim=8,
        z_dim=4,
        dim_mult=[1, 2, 4],
        num_res_blocks=1,
        temperal_downsample=[False, True],
        latents_mean=[0.0] * 4,
        latents_std=[1.0] * 4,
    )
    torch.manual_seed(0)
    config = Qwen2_5_VLConfig(
        text_config={
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "vocab_size": len(tok),
            "max_position_embeddings": 2048,
            "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
            "rope_theta": 1000000.0,
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={"depth": 2, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_hidden_size": 16},
        hidden_size=16,
        vocab_size=len(tok),
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        vision_token_id=ids["<|vision_pad|>"],
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
    )
    text_encoder = Qwen2_5_VLForConditionalGeneration(config).eval()
    pipe = QwenImagePipeline(
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=text_encoder,
        tokenizer=tok,
    )
    prefix = pipe.prompt_template_encode.split("{}")[0]
    n_prefix = len(tok(prefix).input_ids)
    assert n_prefix == pipe.prompt_template_encode_start_idx, (n_prefix, pipe.prompt_template_encode_start_idx)
    pipe.save_pretrained(path)
    return path


# ---------------------------------------------------------------------------------------------------------------
# Z-Image
# ---------------------------------------------------------------------------------------------------------------


def build_z_image(path: Path) -> Path:
    """ZImagePipeline: Qwen3Model text encoder (16 wide, hidden_states[-2]), 1+1 refiner and 2 main single-stream
    layers, AutoencoderKL (2x, 16 latent channels). Height/width must be multiples of 4; 32 x 32 -> 8 x 8 tokens."""
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, ZImagePipeline, ZImageTransformer2DModel
    from transformers import Qwen3Config, Qwen3Model

    tok = build_qwen_tokenizer(None, QWEN3_CHAT_TEMPLATE)

    torch.manual_seed(0)
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,),
        all_f_patch_size=(1,),
        in_channels=16,
        dim=32,
        n_layers=2,
        n_refiner_layers=1,
        n_heads=2,
        n_kv_heads=2,
        norm_eps=1e-5,
        qk_norm=True,
        cap_feat_dim=16,
        rope_theta=256.0,
        t_scale=1000.0,
        axes_dims=[8, 4, 4],
        axes_lens=[1024, 32, 32],
    )
    with torch.no_grad():  # as diffusers' test: fixed pad tokens
        transformer.x_pad_token.copy_(torch.ones_like(transformer.x_pad_token))
        transformer.cap_pad_token.copy_(torch.ones_like(transformer.cap_pad_token))
    torch.manual_seed(0)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        block_out_channels=[32, 64],
        layers_per_block=1,
        latent_channels=16,
        norm_num_groups=32,
        sample_size=32,
        scaling_factor=0.3611,
        shift_factor=0.1159,
    )
    torch.manual_seed(0)
    eot = tok.convert_tokens_to_ids("<|endoftext|>")
    text_encoder = Qwen3Model(
        Qwen3Config(
            hidden_size=16,
            intermediate_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            head_dim=8,
            vocab_size=len(tok),
            max_position_embeddings=1024,
            bos_token_id=eot,
            eos_token_id=eot,
            pad_token_id=eot,
        )
    )
    pipe = ZImagePipeline(
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=text_encoder,
        tokenizer=tok,
    )
    pipe.save_pretrained(path)
    return path


# ---------------------------------------------------------------------------------------------------------------
# FLUX.2
# ---------------------------------------------------------------------------------------------------------------


def _flux2_vae():
    from diffusers import AutoencoderKLFlux2

    torch.manual_seed(0)
    return AutoencoderKLFlux2(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",),
        block_out_channels=(4,),
        layers_per_block=1,
        latent_channels=1,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )


def _flux2_transformer(joint_attention_dim: int, guidance_embeds: bool):
    from diffusers import Flux2Transformer2DModel

    torch.manual_seed(0)
    return Flux2Transformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=joint_attention_dim,
        timestep_guidance_channels=256,
        axes_dims_rope=[4, 4, 4, 4],
        guidance_embeds=guidance_embeds,
    )


def build_flux2(path: Path) -> Path:
    """Flux2Pipeline (FLUX.2 [dev]): Mistral3ForConditionalGeneration (Mistral 16 wide, 32 layers so the default
    text_encoder_out_layers (10, 20, 30) exist; tiny Pixtral tower), 1 double + 1 single block, AutoencoderKLFlux2
    (1x). Height/width must be multiples of 2 (2x2 patchify); 8 x 8 -> 4 x 4 tokens."""
    from diffusers import FlowMatchEulerDiscreteScheduler, Flux2Pipeline
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration

    tok = build_mistral_tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t) for t in MISTRAL_SPECIALS}
    config = Mistral3Config(
        text_config={
            "model_type": "mistral",
            "vocab_size": len(tok),
            "hidden_size": 16,
            "intermediate_size": 37,
            "max_position_embeddings": 1024,
            "num_attention_heads": 4,
            "num_hidden_layers": 32,
            "num_key_value_heads": 2,
            "head_dim": 4,
            "rms_norm_eps": 1e-05,
            "rope_theta": 1000000000.0,
            "sliding_window": None,
            "bos_token_id": ids["<s>"],
            "eos_token_id": ids["</s>"],
            "pad_token_id": ids["<pad>"],
        },
        vision_config={
            "model_type": "pixtral",
            "hidden_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 4,
            "intermediate_size": 37,
            "image_size": 30,
            "patch_size": 6,
            "num_channels": 3,
        },
        bos_token_id=ids["<s>"],
        eos_token_id=ids["</s>"],
        pad_token_id=ids["<pad>"],
        image_seq_length=4,
        vision_feature_layer=-1,
        image_token_index=ids["[IMG]"],
    )
    torch.manual_seed(0)
    text_encoder = Mistral3ForConditionalGeneration(config).eval()
    pipe = Flux2Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_flux2_vae(),
        text_encoder=text_encoder,
        tokenizer=tok,
        transformer=_flux2_transformer(3 * 16, guidance_embeds=True),
    )
    pipe.save_pretrained(path)
    return path


def build_flux2_klein(path: Path) -> Path:
    """Flux2KleinPipeline (FLUX.2 [klein], not distilled so CFG runs): Qwen3ForCausalLM (16 wide, 28 layers for the
    default text_encoder_out_layers (9, 18, 27)), Qwen2 tokenizer; transformer and VAE as ``build_flux2``."""
    from diffusers import FlowMatchEulerDiscreteScheduler, Flux2KleinPipeline
    from transformers import Qwen3Config, Qwen3ForCausalLM

    tok = build_qwen_tokenizer(None, QWEN3_CHAT_TEMPLATE)
    eot = tok.convert_tokens_to_ids("<|endoftext|>")
    torch.manual_seed(0)
    text_encoder = Qwen3ForCausalLM(
        Qwen3Config(
            hidden_size=16,
            intermediate_size=16,
            num_hidden_layers=28,
            num_attention_heads=2,
            num_key_value_heads=2,
            head_dim=8,
            vocab_size=len(tok),
            max_position_embeddings=1024,
            bos_token_id=eot,
            eos_token_id=eot,
            pad_token_id=eot,
        )
    ).eval()
    pipe = Flux2KleinPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_flux2_vae(),
        text_encoder=text_encoder,
        tokenizer=tok,
        transformer=_flux2_transformer(3 * 16, guidance_embeds=False),
        is_distilled=False,
    )
    pipe.save_pretrained(path)
    return path


# ---------------------------------------------------------------------------------------------------------------
# Sana
# ---------------------------------------------------------------------------------------------------------------


def build_sana(path: Path) -> Path:
    """SanaPipeline: Gemma2Model text encoder (8 wide), 1 block (linear self-attention + cross-attention), 6-stage
    AutoencoderDC (32x, as Sana's DC-AE f32). ``sample_size=16`` selects the 512 aspect-ratio bins: with the default
    ``use_resolution_binning=True`` any height/width runs at a 512-px bin (32 x 32 -> 512 x 512 -> 16 x 16 latent
    tokens) and the image is resized back; with binning off, height/width must be multiples of 32."""
    from diffusers import AutoencoderDC, FlowMatchEulerDiscreteScheduler, SanaPipeline, SanaTransformer2DModel
    from transformers import Gemma2Config, Gemma2Model

    tok = build_gemma_tokenizer()

    torch.manual_seed(0)
    transformer = SanaTransformer2DModel(
        patch_size=1,
        in_channels=4,
        out_channels=4,
        num_layers=1,
        num_attention_heads=2,
        attention_head_dim=4,
        num_cross_attention_heads=2,
        cross_attention_head_dim=4,
        cross_attention_dim=8,
        caption_channels=8,
        sample_size=16,
    )
    torch.manual_seed(0)
    stages = 6
    vae = AutoencoderDC(
        in_channels=3,
        latent_channels=4,
        attention_head_dim=2,
        encoder_block_types=("ResBlock",) * 3 + ("EfficientViTBlock",) * 3,
        decoder_block_types=("ResBlock",) * 3 + ("EfficientViTBlock",) * 3,
        encoder_block_out_channels=(8,) * stages,
        decoder_block_out_channels=(8,) * stages,
        encoder_qkv_multiscales=((),) * 3 + ((5,),) * 3,
        decoder_qkv_multiscales=((),) * 3 + ((5,),) * 3,
        encoder_layers_per_block=(1,) * stages,
        decoder_layers_per_block=(1,) * stages,
        downsample_block_type="conv",
        upsample_block_type="interpolate",
        decoder_norm_types="rms_norm",
        decoder_act_fns="silu",
        scaling_factor=0.41407,
    )
    torch.manual_seed(0)
    text_encoder = Gemma2Model(
        Gemma2Config(
            head_dim=16,
            hidden_size=8,
            initializer_range=0.02,
            intermediate_size=64,
            max_position_embeddings=8192,
            num_attention_heads=2,
            num_hidden_layers=1,
            num_key_value_heads=2,
            vocab_size=len(tok),
            pad_token_id=tok.pad_token_id,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            attn_implementation="eager",
        )
    )
    pipe = SanaPipeline(
        tokenizer=tok,
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
    )
    pipe.save_pretrained(path)
    return path
