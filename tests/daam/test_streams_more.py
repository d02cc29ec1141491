"""Side streams (ConceptAttention, joint open vocabulary) on Chroma, Qwen-Image and FLUX.2.

The same two guarantees as on SD3/FLUX.1 (tests/daam/test_concepts.py): the generation is left
alone (image and prompt maps bitwise unchanged), and the side stream is the block's own text
stream: side tokens equal to the prompt reproduce the prompt's text keys at every joint block
(Chroma: under its padding mask; Qwen-Image and FLUX.2 [dev]/[klein]: at the prompt's text
positions) and the
entry's map equals the prompt's DAAM map. Z-Image's single-stream main layers: test_streams_zimage.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import daam
from daam import streams
from tests.daam.side_keys import spy_side_keys
from tests.pipelines import load

FAMILIES = {  # pipeline class, call options (image size: Chroma 64, Qwen-Image 32, FLUX.2 8)
    "chroma": ("ChromaPipeline", {"max_sequence_length": 32, "height": 64, "width": 64}),
    "qwen": ("QwenImagePipeline", {"height": 32, "width": 32}),
    "flux2": ("Flux2Pipeline", {"max_sequence_length": 64, "height": 8, "width": 8}),
    "klein": ("Flux2KleinPipeline", {"max_sequence_length": 64, "height": 8, "width": 8}),
}
# the negative prompt's calls of their own (Chroma's and [klein]'s CFG by default), where side streams stay out
GUIDED = {"qwen": {"negative_prompt": "blurry", "true_cfg_scale": 2.0}}
PROMPT = "a giraffe and a zebra on a sofa"


@pytest.fixture(scope="module")
def pipes(dit_paths, tmp_path_factory):
    import tests.dit_pipelines_more as b

    root = tmp_path_factory.mktemp("streams-more")
    paths = {
        "chroma": dit_paths["chroma"],
        "qwen": b.build_qwen_image(root / "qwen"),
        "flux2": b.build_flux2(root / "flux2"),
        "klein": b.build_flux2_klein(root / "klein"),
    }
    pipes = {name: load(cls, paths[name]) for name, (cls, _) in FAMILIES.items()}
    for name in ("chroma", "flux2", "klein"):  # the tiny builders have one double-stream block: take two
        old = pipes[name].transformer
        torch.manual_seed(1)
        pipes[name].transformer = type(old).from_config({**old.config, "num_layers": 2}).eval()
    return pipes


def _kw(family, seed=0, **extra):
    kw = dict(num_inference_steps=2, output_type="np")
    kw.update(FAMILIES[family][1])
    kw["generator"] = torch.Generator().manual_seed(seed)
    kw.update(extra)
    return kw


def _size(family):
    return FAMILIES[family][1]["height"]


def _joint(pipe):
    return [n for n, kind in daam.attention_layers(pipe).items() if kind == "joint"]


def test_supported_families_and_their_names():
    fams = streams.supported_families()
    for name in ("ChromaPipeline", "QwenImagePipeline", "Flux2Pipeline", "Flux2KleinPipeline", "FluxPipeline"):
        assert name in fams
    assert "ZImagePipeline" in fams  # its main layers: tests/daam/test_streams_zimage.py


@pytest.mark.parametrize("family", list(FAMILIES))
def test_image_and_prompt_maps_bitwise_unchanged(pipes, family):
    pipe = pipes[family]
    size = _size(family)
    ref = pipe(prompt=PROMPT, **_kw(family)).images
    with daam.trace(pipe) as tc:
        pipe(prompt=PROMPT, **_kw(family))
    plain = tc.results()[0]
    for space in ("output", "cross"):
        with daam.concept_attention(pipe, ["giraffe", "sofa", "sky"], space=space) as ca:
            out = pipe(prompt=PROMPT, **_kw(family)).images
        assert np.array_equal(ref, out)
        (maps,) = ca.results()
        assert maps.vocabulary == ("giraffe", "sofa", "sky")
        assert maps.vocabulary_method == f"conceptattention-{space}"
        for w in ("giraffe", "zebra"):
            assert torch.equal(maps.word_map(w, source="prompt").raw, plain.word_map(w).raw)
        sky = maps.word_map("sky")
        assert sky.soft.shape == (size, size) and float(sky.soft.max()) == 1.0
        assert not torch.equal(sky.raw, maps.word_map("sofa", source="concepts").raw)
    with daam.trace(pipe, vocabulary=["hat", "wooden floor"]) as tc:
        out = pipe(prompt=PROMPT, **_kw(family)).images
    assert np.array_equal(ref, out)
    maps = tc.results()[0]
    assert maps.vocabulary_method == "ovam-joint"
    assert torch.equal(maps.word_map("zebra").raw, plain.word_map("zebra").raw)
    assert maps.word_map("wooden floor").soft.shape == (size, size)
    assert not torch.equal(maps.word_map("hat").raw, maps.word_map("wooden floor").raw)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_side_tokens_equal_to_the_prompt_reproduce_its_text_stream(pipes, family, monkeypatch):
    """The prompt's text attends to [itself; image], the side tokens to [image; their own]: with
    the prompt as the entry, every joint block's side keys are the prompt's text keys (after the
    block's modulation, projections, q/k norms and rotary embedding, under its mask), and the
    entry's map is the prompt's map."""
    pipe = pipes[family]
    prompt = "giraffe"
    joint = _joint(pipe)
    seen = spy_side_keys(monkeypatch, pipe)
    with daam.trace(pipe, vocabulary=[prompt], layers=joint) as tc:
        pipe(prompt=prompt, **_kw(family, **GUIDED.get(family, {})))
    assert len(joint) == 2 and len(seen) == 2 * len(joint)  # every joint block of both steps (conditional calls)
    for side_k, kernel_k, _ in seen:
        n = side_k.shape[2]
        assert kernel_k.shape[0] == 1  # the negative runs in calls of its own
        assert torch.allclose(side_k, kernel_k[:, :, :n], rtol=1e-4, atol=1e-5)
    maps = tc.results()[0]
    prompt_map = maps.word_map(prompt, source="prompt").raw
    assert torch.allclose(maps.word_map(prompt, source="vocabulary").raw, prompt_map, rtol=1e-4, atol=1e-5)


def test_chroma_side_stream_is_masked_as_the_prompt(pipes, monkeypatch):
    """Chroma hands its blocks the text's padding mask ([B, text + image], the pipeline's 0/1
    floats, which the kernel adds to the scores), attended as its outer product; the side stream
    mirrors it with its own padding. Without it the side stream is no longer the prompt's text
    stream (keys after the first block) and the entry's map is no longer the prompt's."""
    pipe = pipes["chroma"]
    joint = _joint(pipe)
    seen = spy_side_keys(monkeypatch, pipe)
    monkeypatch.setattr(streams.SideStreams, "_masks", lambda self, *a: (None, None))
    with daam.trace(pipe, vocabulary=["giraffe"], layers=joint) as tc:
        pipe(prompt="giraffe", **_kw("chroma"))
    side_k, kernel_k, mask = seen[1]  # the second joint block of the first step
    assert mask is not None and mask.shape[-1] == mask.shape[-2] == kernel_k.shape[2]
    assert not torch.allclose(side_k, kernel_k[:, :, : side_k.shape[2]], rtol=1e-4, atol=1e-5)
    maps = tc.results()[0]
    vocab, prompt = maps.word_map("giraffe", source="vocabulary").raw, maps.word_map("giraffe", source="prompt").raw
    assert not torch.allclose(vocab, prompt, rtol=1e-4, atol=1e-5)


def test_qwen_side_padding_is_masked_and_positions_extend(pipes):
    """Qwen-Image encodes a batch of texts to its longest one and masks the rest: an entry's map
    does not depend on the other entries it is padded beside. Entries longer than the prompt take
    the text positions after the prompt's own (computed by the transformer's own pos_embed)."""
    pipe = pipes["qwen"]
    long = "a wooden floor with a red carpet and a lamp beside a tall window"
    with daam.trace(pipe, vocabulary=["hat"]) as alone:
        pipe(prompt="a cat", **_kw("qwen"))
    with daam.trace(pipe, vocabulary=["hat", long]) as padded:
        pipe(prompt="a cat", **_kw("qwen"))
    a = alone.results()[0].word_map("hat").raw
    b = padded.results()[0].word_map("hat").raw
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)
    assert padded.results()[0].word_map(long).soft.shape == (32, 32)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_concept_maps_sum_to_one_per_layer_and_step(pipes, family):
    pipe = pipes[family]
    joint = _joint(pipe)
    heads = pipe.transformer.config.num_attention_heads
    for space, per in (("output", 1), ("cross", heads)):
        with daam.concept_attention(pipe, ["giraffe", "sofa", "sky"], space=space, layers=joint) as ca:
            pipe(prompt=PROMPT, **_kw(family))
        (sums,) = ca.results()[0].vocabulary_sums.values()
        assert sums.shape[0] == 3
        total = sums.sum(0)
        assert torch.allclose(total, torch.full_like(total, per * len(joint) * 2), rtol=1e-5)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_batch_equals_single_prompts(pipes, family):
    """Prompts of different lengths in one batch (Qwen-Image pads and masks them) carry the same
    side streams as each prompt alone."""
    pipe = pipes[family]
    prompts = ["a giraffe on a sofa in a room", "a zebra"]
    vocab = ["hat", "sofa"]
    gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
    with daam.trace(pipe, vocabulary=vocab) as tc:
        pipe(prompt=prompts, **_kw(family, generator=gens))
    gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
    with daam.concept_attention(pipe, vocab) as ca:
        pipe(prompt=prompts, **_kw(family, generator=gens))
    for i, p in enumerate(prompts):
        with daam.trace(pipe, vocabulary=vocab) as one:
            pipe(prompt=p, **_kw(family, seed=i + 1))
        with daam.concept_attention(pipe, vocab) as one_ca:
            pipe(prompt=p, **_kw(family, seed=i + 1))
        for batch, single in ((tc, one), (ca, one_ca)):
            for w in vocab:
                a = batch.results()[i].word_map(w, source="vocabulary").raw
                b = single.results()[0].word_map(w, source="vocabulary").raw
                assert torch.allclose(a, b, rtol=1e-4, atol=1e-5), (i, w)


@pytest.mark.parametrize("family", ["flux2", "klein"])
def test_flux2_reference_image_tokens_are_keys_not_map_pixels(pipes, family):
    """FLUX.2 edits append the reference image's tokens to the image part: side tokens attend to
    them (as the prompt's text does), but maps cover the generated image's tokens only."""
    from PIL import Image

    pipe = pipes[family]
    ref_image = Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8))
    ref = pipe(prompt=PROMPT, **_kw(family, image=[ref_image])).images
    with daam.concept_attention(pipe, ["giraffe", "sky"]) as ca:
        out = pipe(prompt=PROMPT, **_kw(family, image=[ref_image])).images
    assert np.array_equal(ref, out)
    maps = ca.results()[0]
    assert list(maps.vocabulary_sums) == [(4, 4)] and maps.word_map("sky").soft.shape == (8, 8)
    total = maps.vocabulary_sums[(4, 4)].sum(0)  # one default layer, two steps: 2 at every pixel
    assert torch.allclose(total, torch.full_like(total, 2.0), rtol=1e-5)


@pytest.mark.parametrize(
    ("family", "variant"), [("qwen", "QwenImageImg2ImgPipeline"), ("chroma", "ChromaImg2ImgPipeline")]
)
def test_img2img_variants(pipes, family, variant):
    import diffusers
    from PIL import Image

    pipe = getattr(diffusers, variant)(**pipes[family].components)
    pipe.set_progress_bar_config(disable=True)
    size = _size(family)
    image = Image.fromarray((np.random.default_rng(0).random((size, size, 3)) * 255).astype(np.uint8))
    kw = _kw(family, num_inference_steps=4, image=image, strength=0.75)
    ref = pipe(prompt=PROMPT, **kw).images
    with daam.trace(pipe, vocabulary=["hat"]) as tc:
        out = pipe(prompt=PROMPT, **_kw(family, num_inference_steps=4, image=image, strength=0.75)).images
    assert np.array_equal(ref, out)
    (r,) = tc.results()
    assert r.n_steps == 3 and r.word_map("hat").soft.shape == (size, size)


@pytest.mark.parametrize("family", ["chroma", "qwen"])
def test_attribute_with_concepts_and_vocabulary(pipes, family):
    pipe = pipes[family]
    size = _size(family)
    image = (np.random.default_rng(0).random((size, size, 3)) * 255).astype(np.uint8)
    options = {k: v for k, v in FAMILIES[family][1].items() if k not in ("height", "width")}
    kw = dict(strength=0.75, steps=4, seed=1, pipeline_kwargs=options)
    maps = daam.attribute(pipe, image, "a dog", ["dog", "grass"], concepts=["dog", "grass"], **kw)
    assert maps.vocabulary_method == "conceptattention-output" and maps.n_steps == 3
    assert maps.word_map("grass").soft.shape == (size, size)
    vocab = daam.attribute(pipe, image, "a dog", ["hat"], vocabulary=["hat"], **kw)
    assert vocab.vocabulary_method == "ovam-joint" and vocab.word_map("hat").soft.shape == (size, size)
