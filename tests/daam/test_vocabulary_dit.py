"""Open vocabulary (OVAM) on the cross-attention DiTs: PixArt-Sigma/Alpha (T5) and Sana (Gemma-2).

Tiny real pipelines (``tests/dit_pipelines*.py``), saved and reloaded. The strong check is the
identity: an entry equal to the prompt is encoded exactly as the prompt, so its map must be the
prompt's map summed over the entry's word tokens (with the family's preprocessing, padding mask,
caption projection, Sana's instruction and key norm all in play).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import daam
from tests.pipelines import load

KW = {
    "pixart": {"height": 64, "width": 64, "max_sequence_length": 32, "use_resolution_binning": False},
    "pixart-alpha": {"height": 64, "width": 64, "max_sequence_length": 32, "use_resolution_binning": False},
    "sana": {"height": 32, "width": 32},
}


@pytest.fixture(scope="module")
def pipes(tmp_path_factory, t5_dir):
    from diffusers import PixArtAlphaPipeline

    from tests.dit_pipelines import build_pixart
    from tests.dit_pipelines_more import build_sana

    root = tmp_path_factory.mktemp("vocab-dit")
    sigma = load("PixArtSigmaPipeline", build_pixart(root / "pixart", t5_dir))
    alpha = PixArtAlphaPipeline(**sigma.components)
    alpha.set_progress_bar_config(disable=True)
    return {"pixart": sigma, "pixart-alpha": alpha, "sana": load("SanaPipeline", build_sana(root / "sana"))}


def _run(pipe, family, prompt, vocabulary=None, trace=True, **kw):
    call = dict(num_inference_steps=2, output_type="np", generator=torch.Generator().manual_seed(0), **KW[family])
    call.update(kw)
    if not trace:
        return pipe(prompt, **call).images, None
    with daam.trace(pipe, vocabulary=vocabulary) as tc:
        out = pipe(prompt, **call).images
    return out, tc.results()[0]


def _identity(maps, entry):
    """(the entry's vocabulary map, the prompt's map summed over all its word tokens)."""
    cols = sorted({c for w in maps.prompt_words() for c in w.tokens})
    return maps.word_map(entry, source="vocabulary").raw, maps.word_map(cols).raw


@pytest.mark.parametrize("family", list(KW))
def test_image_and_prompt_maps_unchanged_and_new_words_mapped(pipes, family):
    pipe = pipes[family]
    prompt = "a dog on a sofa"
    ref, _ = _run(pipe, family, prompt, trace=False)
    plain, maps0 = _run(pipe, family, prompt)
    out, maps = _run(pipe, family, prompt, ["hat", "Wooden floor", "dog"])
    assert np.array_equal(ref, out) and np.array_equal(ref, plain)
    assert torch.equal(maps.word_map("sofa").raw, maps0.word_map("sofa").raw)
    assert torch.equal(maps.word_map("dog", source="prompt").raw, maps0.word_map("dog").raw)
    size = (KW[family]["height"], KW[family]["width"])
    hat = maps.word_map("hat")
    assert hat.word == "hat" and hat.soft.shape == size and float(hat.soft.max()) == 1.0
    assert maps.word_map("wooden  FLOOR").word == "Wooden floor"
    assert not torch.equal(hat.raw, maps.word_map("wooden floor").raw)
    # the entry "dog" is its own encoding, not the prompt's token in context
    assert not torch.allclose(maps.word_map("dog", source="vocabulary").raw, maps0.word_map("dog").raw)


@pytest.mark.parametrize("family", ["pixart", "pixart-alpha"])
def test_pixart_entry_equal_to_the_prompt_gives_the_prompts_map(pipes, family):
    # T5 has no start token; the pipeline lowercases: "A Red DOG" is encoded as "a red dog"
    prompt = "A Red DOG on a sofa"
    _, maps = _run(pipes[family], family, prompt, [prompt])
    vocab, expected = _identity(maps, prompt)
    torch.testing.assert_close(vocab, expected, rtol=1e-5, atol=1e-6)
    # the entry's softmax ran over its own 32 positions with its padding masked: an unmasked
    # softmax would spread mass to the padding and the identity would fail
    assert float(expected.sum()) > 0


@pytest.mark.parametrize(
    "kw",
    [{}, {"complex_human_instruction": None}, {"max_sequence_length": 40}],
    ids=["instruction", "no-instruction", "short"],
)
def test_sana_entry_equal_to_the_prompt_gives_the_prompts_map(pipes, kw):
    # the default complex human instruction is prepended to the entry as to the prompt; its tokens
    # take part in the softmax but belong to no word
    prompt = "a red dog on a sofa"
    _, maps = _run(pipes["sana"], "sana", prompt, [prompt], **kw)
    vocab, expected = _identity(maps, prompt)
    torch.testing.assert_close(vocab, expected, rtol=1e-5, atol=1e-6)


def test_sana_key_norm_and_heads(pipes):
    """A Sana with q/k RMS norm across heads (Sana 1.5): the entry's keys take the layer's norm_k."""
    from diffusers import SanaPipeline, SanaTransformer2DModel

    base = pipes["sana"]
    torch.manual_seed(1)
    transformer = SanaTransformer2DModel.from_config({**base.transformer.config, "qk_norm": "rms_norm_across_heads"})
    attn = transformer.transformer_blocks[0].attn2
    assert attn.norm_k is not None
    with torch.no_grad():
        attn.norm_k.weight.uniform_(0.5, 1.5)
        attn.norm_q.weight.uniform_(0.5, 1.5)
    pipe = SanaPipeline(**{**base.components, "transformer": transformer})
    pipe.set_progress_bar_config(disable=True)
    prompt = "a red dog"
    _, maps = _run(pipe, "sana", prompt, [prompt])
    vocab, expected = _identity(maps, prompt)
    torch.testing.assert_close(vocab, expected, rtol=1e-5, atol=1e-6)
    call = dict(num_inference_steps=2, output_type="np", generator=torch.Generator().manual_seed(0), **KW["sana"])
    with daam.trace(pipe, vocabulary=[prompt], heads=[1]) as tc:
        pipe(prompt, **call)
    vocab, expected = _identity(tc.results()[0], prompt)
    torch.testing.assert_close(vocab, expected, rtol=1e-5, atol=1e-6)


def test_one_encoding_per_setting_within_a_trace(pipes):
    pipe = pipes["sana"]
    call = dict(num_inference_steps=2, output_type="np", **KW["sana"])
    with daam.trace(pipe, vocabulary=["a red dog"]) as tc:
        pipe("a red dog", generator=torch.Generator().manual_seed(0), **call)
        pipe("a red dog", generator=torch.Generator().manual_seed(0), complex_human_instruction=None, **call)
        pipe("a red dog", generator=torch.Generator().manual_seed(1), **call)
    assert len(tc._vocab) == 2
    for maps in tc.results():
        vocab, expected = _identity(maps, "a red dog")
        torch.testing.assert_close(vocab, expected, rtol=1e-5, atol=1e-6)


def test_entries_without_tokens_are_refused(pipes):
    # PixArt keeps 1 T5 position (the end token): no word token of the entry is left
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"entry 'hat' has no tokens of its own .*\(t5\)"):
        _run(pipes["pixart"], "pixart", "a dog", ["hat"], max_sequence_length=1)
    # Sana keeps <bos> and the last max_sequence_length - 1 tokens of instruction + entry: with 2,
    # only the instruction's last token
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"entry 'hat' has no tokens of its own .*gemma"):
        _run(pipes["sana"], "sana", "a dog", ["hat"], max_sequence_length=2)
    with pytest.raises(ValueError, match="non-empty"):
        daam.trace(pipes["sana"], vocabulary=["hat", "  "])
    for pipe in pipes.values():  # restored after the errors
        assert "encode_prompt" not in pipe.__dict__ and getattr(pipe, "_daam_trace", None) is None
