"""Map files are as readable as the images beside them: the umask decides, not safetensors."""

from __future__ import annotations

import os
import stat

import torch

import daam


def test_saved_maps_honour_the_umask(sd_pipe, tmp_path):
    with daam.trace(sd_pipe) as tc:
        sd_pipe("a dog", generator=torch.Generator().manual_seed(0), num_inference_steps=2, height=64, width=64)
    previous = os.umask(0o022)
    try:
        path = tc.results()[0].save(tmp_path / "maps.safetensors")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["maps.safetensors"]  # no temporary file left
    assert daam.load(path).prompt == "a dog"
