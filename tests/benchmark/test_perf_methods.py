import pytest
import torch

import benchmark.tiny as tiny
from benchmark.perf_methods import format_methods, measure_methods


@pytest.fixture
def tiny_sd(sd_path):
    pipe = tiny.load("StableDiffusionPipeline", sd_path)
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    kw = dict(prompt="a dog and a cat", guidance_scale=7.5, latents=latents, height=64, width=64)
    return pipe, kw, "tiny SD"


def test_methods_are_timed_beside_plain_with_state_and_attribute(tiny_sd):
    result = measure_methods("tiny", steps=2, rounds=2, pipeline=tiny_sd, progress=lambda m: None)
    costs = {c.method: c for c in result.methods}
    assert len(result.plain_cpu_s) == 2 and result.plain_max_abs_diff == 0.0
    for m in ("daam", "daam-vocabulary"):
        c = costs[m]
        assert c.unsupported is None and len(c.cpu_s) == 2 and c.ratio_median > 0
        assert c.image_unchanged is True and c.max_abs_diff == 0.0
        # per image, the trace state does not grow with the number of steps
        assert c.state_bytes_by_steps[1] == c.state_bytes_by_steps[2] > 0
    assert costs["daam-vocabulary"].state_bytes_by_steps[1] > costs["daam"].state_bytes_by_steps[1]
    assert costs["conceptattention"].unsupported  # a UNet has no joint attention
    assert len(result.attribute_cpu_s) == len(result.attribute_plain_cpu_s) == 2
    assert result.attribute_denoised_steps == 1
    text = format_methods(result)
    assert "daam-vocabulary" in text and "not supported" in text and "daam.attribute" in text
