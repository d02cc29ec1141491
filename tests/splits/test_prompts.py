import json

import pytest

from benchmark.splits import SplitOptions, build_split
from benchmark.splits.prompts import PromptsFileError


def _build(path):
    return build_split("prompts", SplitOptions(prompts_file=path))


def test_txt_skips_blanks_and_comments(tmp_path, nlp):
    path = tmp_path / "mine.txt"
    path.write_text("# my prompts\na dog chasing a cat\n\n   \n  # indented comment\nrunning quickly\n")
    items = _build(path)
    assert [i.text for i in items] == ["a dog chasing a cat", "running quickly"]
    assert items[0].words == ("dog", "cat")  # nouns
    assert items[1].words == ("running", "quickly")  # no nouns: every alphabetic word
    assert [i.provenance["line"] for i in items] == [2, 6]
    assert _build(path) == items  # keys are stable


def test_jsonl_fields(tmp_path, nlp):
    path = tmp_path / "mine.jsonl"
    lines = [
        {"text": "a red car, parked"},
        {"text": "a giraffe and a zebra", "words": ["zebra", "and"], "key": "gz", "seed": 7},
        {"text": "a giraffe and a zebra", "key": "gz-again"},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    a, b, c = _build(path)
    assert a.words == ("car",) and a.seed is None and a.key.startswith("prompt-")
    assert (b.key, b.words, b.seed) == ("gz", ("zebra", "and"), 7)
    assert c.words == ("giraffe", "zebra")


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "line 2: not valid JSON"),
        ('["a dog"]', "line 2: expected a JSON object"),
        ('{"text": ""}', "line 2: 'text' must be a non-empty string"),
        ('{"prompt": "a dog"}', r"line 2: unknown fields \['prompt'\]"),
        ('{"text": "a dog", "words": "dog"}', "line 2: 'words' must be a non-empty list"),
        ('{"text": "a dog", "words": ["cat"]}', r"line 2: words \['cat'\] are not words of 'a dog'"),
        ('{"text": "a dog", "seed": "7"}', "line 2: 'seed' must be a non-negative integer"),
        ('{"text": "a cat"}', "line 2: key 'prompt-.*' repeats line 1"),
    ],
)
def test_bad_jsonl_lines_name_file_and_line(tmp_path, nlp, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a cat"}\n' + line + "\n")
    with pytest.raises(PromptsFileError, match=f"bad.jsonl, {message}"):
        _build(path)


def test_bad_files(tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text("a dog\n")
    with pytest.raises(PromptsFileError, match="expected a .txt or .jsonl"):
        _build(csv)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(PromptsFileError, match="has no prompts"):
        _build(empty)
    with pytest.raises(FileNotFoundError, match="--prompts"):
        _build(tmp_path / "missing.txt")
