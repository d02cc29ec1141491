import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.splits import (
    MissingOptionError,
    SplitDataError,
    SplitInfo,
    SplitOptions,
    build_split,
    list_splits,
    split_info,
    split_sizes,
)
from benchmark.splits.catalogue import parse_catalogue
from core.registry import SPLITS, UnknownNameError

PAPER_SPLITS = {"coco-gen", "unreal-gen", "pos", "syntax", "cohyponym", "adjective", "prompts"}
TOY_SPLITS = {
    "shapes": ("benchmark.toy.splits:build_shapes", "shapes"),
    "shapes-colour": ("benchmark.toy.splits:build_colour", "adjective"),
    "shapes-relation": ("benchmark.toy.splits:build_relation", "syntax"),
}
REAL_SPLITS = {"coco-real", "voc-real", "imagenet-seg"}  # tests/benchmark/test_real_splits.py
ROOT = Path(__file__).resolve().parents[2]


def test_every_split_is_listed_as_frozen_info():
    infos = list_splits()
    assert {i.name for i in infos} == PAPER_SPLITS | set(TOY_SPLITS) | REAL_SPLITS
    assert all(isinstance(i, SplitInfo) and i.version and i.description for i in infos)
    with pytest.raises(AttributeError):
        infos[0].version = "2"  # frozen
    assert split_info("coco-gen").needs == ("coco_captions",)
    assert split_info("coco-gen").default_size == 500
    assert split_info("pos").default_size == 200
    assert split_info("cohyponym").default_size == 1000


def test_toy_splits_are_registered_for_the_toy_module():
    from benchmark.splits.catalogue import spec

    for name, (builder, study) in TOY_SPLITS.items():
        assert spec(name).builder == builder
        assert split_info(name).study == study


def test_toy_sizes_match_the_toy_builders():
    from benchmark.toy import splits as toy

    assert split_info("shapes").default_size == toy.SHAPES_SIZE
    assert split_info("shapes-colour").default_size == toy.COLOUR_SIZE
    assert split_info("shapes-relation").default_size == toy.RELATION_SIZE


def test_listing_imports_no_builder():
    code = (
        "import sys\n"
        "from benchmark.splits import list_splits, split_sizes\n"
        "list_splits(); split_sizes()\n"
        "heavy = [m for m in ('spacy', 'torch', 'pycocotools', 'benchmark.splits.coco_gen', "
        "'benchmark.splits.pos', 'benchmark.toy.splits') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert out.stdout.strip() == "[]"


def test_builders_are_registered():
    # laziness itself is checked in a fresh interpreter above: other tests here resolve entries
    from benchmark.toy.splits import build_shapes

    list_splits()
    assert "pos" in SPLITS and "shapes" in SPLITS
    assert SPLITS.get("shapes") is build_shapes


def test_split_sizes():
    sizes = dict((info.name, size) for info, size in split_sizes())
    assert sizes["coco-gen"] == "500 captions"
    assert sizes["prompts"] == "depends on input"
    assert sizes["shapes"] == "200 scenes"
    assert sizes["pos"].startswith("200 words per POS tag")


def test_unknown_split_suggests_the_nearest():
    with pytest.raises(UnknownNameError, match="did you mean 'coco-gen'"):
        split_info("coco-gn")
    with pytest.raises(UnknownNameError, match="did you mean 'cohyponym'"):
        build_split("cohyponyms", SplitOptions())


def test_missing_coco_captions_names_the_flag():
    for name in ("coco-gen", "unreal-gen", "pos", "syntax"):
        with pytest.raises(MissingOptionError, match="--coco-captions"):
            build_split(name, SplitOptions())
    with pytest.raises(MissingOptionError, match="prompts_file.*--prompts"):
        build_split("prompts", SplitOptions())


def test_missing_file_and_bad_options_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="--coco-captions .*nope.json is not a file"):
        build_split("coco-gen", SplitOptions(coco_captions=tmp_path / "nope.json"))
    with pytest.raises(ValueError, match="--seed"):  # InvalidOptionError is a ValueError
        build_split("cohyponym", SplitOptions(seed=-1))
    with pytest.raises(ValueError, match="--size"):
        build_split("cohyponym", SplitOptions(size=0))


def test_limit_keeps_a_prefix():
    full = build_split("cohyponym", SplitOptions(size=40))
    assert build_split("cohyponym", SplitOptions(size=40, limit=7)) == full[:7]


def _entry(**kw):
    entry = {"name": "x", "version": "1", "study": "rating", "description": "d", "builder": "m.n:f"}
    entry.update(kw)
    return entry


@pytest.mark.parametrize(
    "entries, message",
    [
        ([_entry(), _entry()], "listed twice"),
        ([_entry(builder="m.n.f")], "module:function"),
        ([_entry(study="vibes")], "study 'vibes'"),
        ([_entry(needs=["coco"])], "SplitOptions fields"),
        ([_entry(default_size=0)], "default_size"),
        ([_entry(version=1)], "quote versions"),
        ([_entry(colour="red")], "unknown keys \\['colour'\\]"),
        ([_entry(generation={"mode": "real-image", "samples": "m:f"})], "strength must be a number"),
        ([_entry(generation={"mode": "real-image", "samples": "m:f", "strength": 1.5})], "strength must be"),
        ([_entry(generation={"mode": "real-image", "strength": 0.5})], "needs a 'samples' hook"),
        ([_entry(generation={"mode": "plain", "strength": 0.5})], "real-image' only"),
    ],
)
def test_malformed_catalogue_is_rejected(entries, message):
    with pytest.raises(SplitDataError, match=message):
        parse_catalogue({"format": 1, "splits": entries}, "test.yaml")


def test_catalogue_file_parses_as_shipped():
    import yaml

    data = yaml.safe_load((ROOT / "benchmark/splits/data/splits.yaml").read_text())
    specs = parse_catalogue(data)
    assert list(specs) == [i.name for i in list_splits()]
    json.dumps({n: dict(s.params) for n, s in specs.items()})  # params are plain data


def test_user_errors_share_one_base():
    from benchmark.splits import SplitError
    from benchmark.splits.coco import CocoCaptionsError
    from benchmark.splits.nlp import SpacyModelError
    from benchmark.splits.pos import NotEnoughWordsError
    from benchmark.splits.prompts import PromptsFileError

    for error in (
        MissingOptionError,
        SplitDataError,
        CocoCaptionsError,
        SpacyModelError,
        NotEnoughWordsError,
        PromptsFileError,
    ):
        assert issubclass(error, SplitError)
    with pytest.raises(SplitError, match="--seed must be a non-negative integer"):
        build_split("adjective", SplitOptions(seed=-3))


def test_bench_splits_defaults_shows_each_generation_mode(capsys):
    from benchmark.cli import main

    assert main(["splits", "--defaults"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "real-image (strength 0.6)" in rows["coco-real"]
    assert "fixed-layout" in rows["adjective"] and "strength" not in rows["adjective"]
