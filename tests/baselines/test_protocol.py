import numpy as np
import pytest
from PIL import Image

from baselines import BaselineError, BaselineOutput, load_baseline, load_output, save_output
from baselines.protocol import as_rgb, check_words
from core.registry import BASELINES, UnknownNameError


def test_every_method_is_registered_lazily():
    assert {"whole-image", "centre-disc", "random", "clipseg", "mask2former", "stego", "daam"} <= set(BASELINES.names())


def test_unknown_baseline_suggests_the_close_name():
    with pytest.raises(UnknownNameError, match="did you mean 'clipseg'"):
        load_baseline("clipsg")


def test_unknown_option_names_the_known_ones():
    with pytest.raises(BaselineError, match="no option 'radiu'.*radius"):
        load_baseline("centre-disc", radiu=0.2)
    assert load_baseline("centre-disc", radius=0.2).radius == 0.2


def test_output_contract_is_enforced():
    ok = np.zeros((4, 5), np.float32)
    with pytest.raises(BaselineError, match="either maps or clusters"):
        BaselineOutput("m", (4, 5))
    with pytest.raises(BaselineError, match="either maps or clusters"):
        BaselineOutput("m", (4, 5), maps={"a": ok}, clusters=np.zeros((4, 5), int), n_clusters=1)
    with pytest.raises(BaselineError, match=r"map of 'a' is \(5, 4\)"):
        BaselineOutput("m", (4, 5), maps={"a": ok.T})
    with pytest.raises(BaselineError, match="float64, expected float32"):
        BaselineOutput("m", (4, 5), maps={"a": ok.astype(np.float64)})
    with pytest.raises(BaselineError, match="leaves"):
        BaselineOutput("m", (4, 5), maps={"a": ok + 1.5})
    with pytest.raises(BaselineError, match="leaves"):
        BaselineOutput("m", (4, 5), maps={"a": np.full((4, 5), np.nan, np.float32)})
    with pytest.raises(BaselineError, match=r"\[0, 3\)"):
        BaselineOutput("m", (4, 5), clusters=np.full((4, 5), 3), n_clusters=3)
    with pytest.raises(BaselineError, match="unsupported words"):
        BaselineOutput("m", (4, 5), maps={"a": ok}, unsupported=("b",))


def test_output_arrays_are_read_only_copies():
    soft = np.zeros((2, 2), np.float32)
    out = BaselineOutput("m", (2, 2), maps={"a": soft})
    soft[0, 0] = 1.0  # the caller's array is not the stored one
    assert out.maps["a"][0, 0] == 0.0
    with pytest.raises(ValueError):
        out.maps["a"][0, 0] = 1.0
    assert out.kind == "soft" and out.words == ["a"]
    clusters = BaselineOutput("m", (2, 2), clusters=np.array([[0, 1], [1, 0]], np.int64), n_clusters=2)
    assert clusters.clusters.dtype == np.int32 and clusters.kind == "clusters" and clusters.words == []


def test_images_and_words_are_checked():
    rgba = np.zeros((3, 4, 4), np.uint8)
    assert as_rgb(rgba).shape == (3, 4, 3)
    assert as_rgb(np.zeros((3, 4), np.uint8)).shape == (3, 4, 3)
    assert as_rgb(Image.new("L", (4, 3))).shape == (3, 4, 3)
    with pytest.raises(BaselineError, match="uint8"):
        as_rgb(np.zeros((3, 4, 3), np.float32))
    with pytest.raises(BaselineError, match="H x W x 3"):
        as_rgb(np.zeros((3, 4, 2), np.uint8))
    assert check_words(["dog", "cat", "dog"]) == ["dog", "cat"]
    with pytest.raises(BaselineError, match="the string 'dog'"):
        check_words("dog")
    with pytest.raises(BaselineError, match="non-empty"):
        check_words(["dog", " "])


def test_saved_outputs_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    maps = {
        "hot dog": rng.random((6, 7), dtype=np.float32),
        "a/b": np.ones((6, 7), np.float32),
        "zebu": np.zeros((6, 7), np.float32),
    }
    out = BaselineOutput("m", (6, 7), maps=maps, unsupported=("zebu",), details={"model": "x"})
    back = load_output(save_output(tmp_path / "sub" / "1.npz", out))
    assert back.words == ["hot dog", "a/b", "zebu"] and back.unsupported == ("zebu",)
    assert back.details == {"model": "x"} and back.size == (6, 7)
    for word in maps:
        assert back.maps[word].dtype == np.float32
        np.testing.assert_allclose(back.maps[word], maps[word], atol=5e-4)
    assert back.maps["a/b"].max() == 1.0
    ids = rng.integers(0, 5, (6, 7))
    back = load_output(save_output(tmp_path / "2.npz", BaselineOutput("s", (6, 7), clusters=ids, n_clusters=5)))
    assert back.n_clusters == 5 and np.array_equal(back.clusters, ids)
    assert not list(tmp_path.rglob("*.tmp"))


def test_loading_a_foreign_file_is_an_error(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(2))
    with pytest.raises(BaselineError, match="not a baseline output"):
        load_output(tmp_path / "x.npz")
    with pytest.raises(FileNotFoundError):
        load_output(tmp_path / "missing.npz")
