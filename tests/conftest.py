import os

import pytest
import torch

torch.set_num_threads(1)  # two cores under load stall with two intra-op threads
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def clip_tokenizer_dir(tmp_path_factory):
    from benchmark.toy.tokenizer import build_clip_tokenizer

    path = tmp_path_factory.mktemp("clip-tokenizer")
    build_clip_tokenizer(path)
    return path


@pytest.fixture(scope="session")
def clip_tokenizer(clip_tokenizer_dir):
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(clip_tokenizer_dir)


@pytest.fixture(scope="session")
def sd_path(tmp_path_factory, clip_tokenizer_dir):
    from tests.pipelines import build_sd

    return build_sd(tmp_path_factory.mktemp("tiny-sd"), clip_tokenizer_dir)


@pytest.fixture(scope="session")
def sdxl_path(tmp_path_factory, clip_tokenizer_dir):
    from tests.pipelines import build_sdxl

    return build_sdxl(tmp_path_factory.mktemp("tiny-sdxl"), clip_tokenizer_dir)


@pytest.fixture
def sd_pipe(sd_path):
    from tests.pipelines import load

    return load("StableDiffusionPipeline", sd_path)
