import numpy as np
import pytest
import torch

import daam

KW = dict(num_inference_steps=3, height=64, width=64, output_type="np")


def _seed(pipe, prompt, seed=0):
    with daam.trace(pipe, keep_steps=True, keep_layers=True, keep_heads=True) as tc:
        image = pipe(prompt, generator=torch.Generator().manual_seed(seed), **KW).images[0]
    return image, tc.results()[0]


def test_fixing_the_layout_to_itself_reproduces_the_image(sd_pipe):
    image, seed = _seed(sd_pipe, "a rusty shovel in a shed")
    with daam.fix_layout(sd_pipe, seed):
        again = sd_pipe("a rusty shovel in a shed", generator=torch.Generator().manual_seed(0), **KW).images[0]
    assert np.abs(again - image).max() < 1e-3


def test_fixed_layout_replaces_attention_but_keeps_the_new_words_values(sd_pipe):
    image, seed = _seed(sd_pipe, "a rusty shovel in a shed")
    free = sd_pipe("a wooden shovel in a shed", generator=torch.Generator().manual_seed(0), **KW).images[0]
    with daam.fix_layout(sd_pipe, seed):
        fixed = sd_pipe("a wooden shovel in a shed", generator=torch.Generator().manual_seed(0), **KW).images[0]
    assert not np.array_equal(fixed, image)  # the values of the new word still act
    assert not np.allclose(fixed, free, atol=1e-6)  # the seed's attention replaced the variant's


def test_fix_layout_errors_and_restores(sd_pipe):
    before = {k: type(v) for k, v in sd_pipe.unet.attn_processors.items()}
    image, seed = _seed(sd_pipe, "a red car")
    with pytest.raises(daam.TraceError, match="keep_steps"):
        with daam.trace(sd_pipe) as tc:
            sd_pipe("a red car", generator=torch.Generator().manual_seed(0), **KW)
        daam.fix_layout(sd_pipe, tc.results()[0])
    with pytest.raises(daam.TraceError, match="steps"):
        with daam.fix_layout(sd_pipe, seed):
            sd_pipe("a red car", generator=torch.Generator().manual_seed(0), **{**KW, "num_inference_steps": 5})
    assert {k: type(v) for k, v in sd_pipe.unet.attn_processors.items()} == before
