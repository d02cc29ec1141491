import os
import tempfile

import pytest
import torch

torch.set_num_threads(1)  # two cores under load stall with two intra-op threads
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# digests of weight files (benchmark.pipelines.model_revision) stay out of the user's cache folder
os.environ.setdefault("DAAM_BENCH_CACHE", os.path.join(tempfile.mkdtemp(prefix="daam-bench-cache-")))


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


@pytest.fixture(scope="session")
def t5_dir(tmp_path_factory):
    from tests.dit_pipelines import build_t5_tokenizer

    return build_t5_tokenizer(tmp_path_factory.mktemp("t5-tokenizer"))


@pytest.fixture(scope="session")
def dit_paths(tmp_path_factory, clip_tokenizer_dir, t5_dir):
    from tests import dit_pipelines as b

    root = tmp_path_factory.mktemp("dit")
    return {  # tests/dit_pipelines.py: SD3, SD3.5 (dual attention), FLUX.1, PixArt-Sigma
        "sd3": b.build_sd3(root / "sd3", clip_tokenizer_dir, t5_dir),
        "sd35": b.build_sd3(root / "sd35", clip_tokenizer_dir, t5_dir, dual=True),
        "flux": b.build_flux(root / "flux", clip_tokenizer_dir, t5_dir),
        "pixart": b.build_pixart(root / "pixart", t5_dir),
        "chroma": b.build_chroma(root / "chroma", t5_dir),
    }
