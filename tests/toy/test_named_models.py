"""Named toy models: one name -> folder table, one-line errors, used by the CLI's toy commands."""

from __future__ import annotations

import pytest

from benchmark.toy import shipped
from benchmark.toy.shipped import (
    NAMED_MODELS,
    WEIGHTS_DIR,
    ModelNotShippedError,
    resolve_model_name,
)


def test_the_default_and_its_name_are_the_shipped_weights():
    assert resolve_model_name(None) == (str(WEIGHTS_DIR), None)
    assert resolve_model_name("toy") == (str(WEIGHTS_DIR), None)
    assert NAMED_MODELS["toy"].train_dir == "training/toy"


def test_folders_and_hub_ids_pass_through(tmp_path):
    assert resolve_model_name(str(tmp_path)) == (str(tmp_path), None)
    assert resolve_model_name("stabilityai/stable-diffusion-2-base") == ("stabilityai/stable-diffusion-2-base", None)


def test_an_unshipped_variant_says_how_to_export_it(monkeypatch, tmp_path):
    variant = shipped.NamedModel("toy-unsupervised", tmp_path / "weights-unsupervised", "training/toy-unsupervised", "")
    monkeypatch.setitem(NAMED_MODELS, "toy-unsupervised", variant)
    with pytest.raises(ModelNotShippedError) as e:
        resolve_model_name("toy-unsupervised")
    message = str(e.value)
    assert "not shipped yet" in message and "\n" not in message
    assert "bench toy export --out-dir training/toy-unsupervised --dest" in message
    (variant.weights / "model_index.json").parent.mkdir()
    (variant.weights / "model_index.json").write_text("{}")
    assert resolve_model_name("toy-unsupervised") == (str(variant.weights), None)


def test_the_real_variant_folder_is_named():
    model = NAMED_MODELS["toy-unsupervised"]
    assert model.weights == WEIGHTS_DIR.parent / "weights-unsupervised"
    if not model.shipped():
        with pytest.raises(ModelNotShippedError, match="--dest benchmark/toy/weights-unsupervised"):
            resolve_model_name("toy-unsupervised")


def test_a_misspelt_name_gets_a_suggestion():
    from core.registry import UnknownNameError

    with pytest.raises(UnknownNameError, match="did you mean 'toy-unsupervised'"):
        resolve_model_name("toy-unsupervized")


def test_cli_toy_commands_take_names(capsys, monkeypatch, tmp_path):
    from benchmark.cli import main

    variant = shipped.NamedModel("toy-unsupervised", tmp_path / "nothing", "training/toy-unsupervised", "")
    monkeypatch.setitem(NAMED_MODELS, "toy-unsupervised", variant)
    for argv in (["toy", "eval", "--weights", "toy-unsupervised"], ["toy", "figure", "--model", "toy-unsupervised"]):
        assert main(argv) != 0
        err = capsys.readouterr().err
        assert "not shipped yet" in err and "bench toy export --out-dir training/toy-unsupervised" in err
