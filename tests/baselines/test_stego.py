import importlib.util
import os
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from baselines import BaselineError, load_baseline
from baselines.checkpoint import (
    CheckpointError,
    InertGlobal,
    UnsafeCheckpointError,
    is_config_global,
    load_checkpoint,
    tensor_state,
)
from baselines.stego import StegoHead
from tests.baselines.models import CLASSES, DIM, K, official_stego_state, save_like_lightning


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory, dino_path):
    path = tmp_path_factory.mktemp("stego") / "cocostuff27_tiny.ckpt"
    return save_like_lightning(path, official_stego_state(dino_path))


@pytest.fixture(scope="module")
def stego(ckpt, dino_path):
    return load_baseline("stego", checkpoint=ckpt, model=str(dino_path), resolution=32)


def test_lightning_checkpoint_loads_with_inert_hyperparameters(ckpt):
    checkpoint = load_checkpoint(ckpt)
    cfg = checkpoint["hyper_parameters"]["cfg"]
    assert isinstance(cfg, InertGlobal) and cfg.qualified_name == "omegaconf.dictconfig.DictConfig"
    assert cfg.state["_content"] == {"arch": "dino", "dim": DIM}
    assert "cluster_probe.clusters" in tensor_state(checkpoint)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_malicious_checkpoint_is_refused_unread(tmp_path, dino_path):
    marker = tmp_path / "pwned"
    torch.save({"state_dict": official_stego_state(dino_path), "evil": _Evil(marker)}, tmp_path / "evil.ckpt")
    with pytest.raises(UnsafeCheckpointError, match="refusing to unpickle.*system"):
        load_checkpoint(tmp_path / "evil.ckpt")
    with pytest.raises(UnsafeCheckpointError):
        load_baseline("stego", checkpoint=tmp_path / "evil.ckpt", model=str(dino_path))
    with open(tmp_path / "legacy.ckpt", "wb") as f:  # a plain (non-zip) pickle
        pickle.dump(_Evil(marker), f, protocol=2)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "legacy.ckpt")
    assert not marker.exists()


def test_only_configuration_globals_become_inert():
    assert is_config_global("omegaconf.nodes.AnyNode") and is_config_global("typing.Any")
    assert is_config_global("builtins.dict") and is_config_global("pytorch_lightning.utilities.AttributeDict")
    for name in ("builtins.eval", "builtins.exec", "builtins.getattr", "os.system", "subprocess.Popen", "torch.load"):
        assert not is_config_global(name)


def test_bad_checkpoints_are_clear_errors(tmp_path, dino_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.ckpt")
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "junk.ckpt")
    torch.save({"state_dict": {"encoder.weight": torch.zeros(2)}}, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="not a STEGO checkpoint: no net.cluster1.0.weight"):
        load_baseline("stego", checkpoint=tmp_path / "other.ckpt", model=str(dino_path))
    with pytest.raises(BaselineError, match="needs its released checkpoint"):
        load_baseline("stego", model=str(dino_path))


def test_backbone_must_match_the_checkpoint(tmp_path, dino_path):
    from tests.baselines.models import build_dino_vit

    wider = build_dino_vit(tmp_path / "wider", hidden=48)
    ckpt = save_like_lightning(tmp_path / "a.ckpt", official_stego_state(dino_path))
    with pytest.raises(BaselineError, match="32-dim features but the backbone .* gives 48"):
        load_baseline("stego", checkpoint=ckpt, model=str(wider))
    other = save_like_lightning(
        tmp_path / "b.ckpt", official_stego_state(dino_path, patch_weight=torch.zeros(32, 3, 8, 8))
    )
    with pytest.raises(BaselineError, match="not the DINO model"):
        load_baseline("stego", checkpoint=other, model=str(dino_path))
    load_baseline("stego", checkpoint=other, model=str(dino_path), check_backbone=False)
    coarse = save_like_lightning(
        tmp_path / "c.ckpt", official_stego_state(dino_path, patch_weight=torch.zeros(32, 3, 16, 16))
    )
    with pytest.raises(BaselineError, match="patch size 16"):
        load_baseline("stego", checkpoint=coarse, model=str(dino_path))


def test_head_follows_stegos_definitions(dino_path):
    state = official_stego_state(dino_path)
    head = StegoHead.from_state_dict(state)
    feats = torch.randn(1, 32, 3, 4)
    code = F.conv2d(feats, state["net.cluster1.0.weight"], state["net.cluster1.0.bias"])
    hidden = F.relu(F.conv2d(feats, state["net.cluster2.0.weight"], state["net.cluster2.0.bias"]))
    code = code + F.conv2d(hidden, state["net.cluster2.2.weight"], state["net.cluster2.2.bias"])
    torch.testing.assert_close(head.code(feats), code)
    # ClusterLookup.forward(x, alpha=2, log_probs=True) of STEGO's modules.py
    clusters = state["cluster_probe.clusters"]
    inner = torch.einsum("bchw,nc->bnhw", F.normalize(code, dim=1), F.normalize(clusters, dim=1))
    torch.testing.assert_close(head.cluster_log_probs(code), F.log_softmax(inner * 2, dim=1))
    linear = F.conv2d(code, state["linear_probe.weight"], state["linear_probe.bias"])
    torch.testing.assert_close(head.linear_log_probs(code), F.log_softmax(linear, dim=1))
    assert head.n_clusters == K
    assert StegoHead.from_state_dict(official_stego_state(dino_path, nonlinear=False)).cluster2 is None


def test_cluster_output_is_hungarian_ready(stego, image):
    out = stego.predict(image, "a red ball", ["ball"])
    assert out.kind == "clusters" and out.maps is None and out.size == (40, 56)
    assert out.clusters.shape == (40, 56) and out.clusters.dtype == np.int32 and out.n_clusters == K
    assert 0 <= out.clusters.min() and out.clusters.max() < K
    assert out.details["checkpoint"] == "cocostuff27_tiny.ckpt"
    # each word can be matched to one cluster by IoU (the matching itself lives in the metrics)
    from scipy.optimize import linear_sum_assignment

    truth = {"ball": np.zeros((40, 56), bool)}
    truth["ball"][10:30, 20:40] = True
    mask = truth["ball"]
    iou = [[(mask & (out.clusters == c)).sum() / (mask | (out.clusters == c)).sum() for c in range(K)]]
    rows, cols = linear_sum_assignment(np.array(iou), maximize=True)
    assert len(rows) == 1 and 0 <= cols[0] < K


def test_mirrored_image_gives_mirrored_clusters(stego, image):
    """STEGO averages the code of the image and of its mirror, so the result is mirror-symmetric."""
    log_probs, _ = stego.log_probs(image)
    mirrored, _ = stego.log_probs(np.ascontiguousarray(image[:, ::-1]))
    torch.testing.assert_close(mirrored, log_probs.flip(-1), atol=1e-4, rtol=1e-4)
    assert log_probs.shape == (K, 32, 48)  # shorter side 32, longer rounded to the 8-pixel patch


def test_linear_head(ckpt, dino_path, image):
    linear = load_baseline("stego", checkpoint=ckpt, model=str(dino_path), resolution=32, head="linear")
    out = linear.predict(image, "p", [])
    assert out.n_clusters == CLASSES and out.clusters.max() < CLASSES


@pytest.mark.skipif(importlib.util.find_spec("pydensecrf") is None, reason="pydensecrf is optional")
def test_dense_crf_refines_clusters(ckpt, dino_path, image):
    out = load_baseline("stego", checkpoint=ckpt, model=str(dino_path), resolution=32, crf=True).predict(image, "p", [])
    assert out.clusters.shape == (40, 56) and out.clusters.max() < K and out.details["crf"] is True


@pytest.mark.skipif(importlib.util.find_spec("pydensecrf") is not None, reason="pydensecrf is installed")
def test_crf_without_pydensecrf_says_how_to_install(ckpt, dino_path, image):
    stego = load_baseline("stego", checkpoint=ckpt, model=str(dino_path), resolution=32, crf=True)
    with pytest.raises(BaselineError, match="pip install pydensecrf2"):
        stego.predict(image, "p", [])
