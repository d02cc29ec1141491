"""A user's own prompts file: --prompts implies its split, edits continue the run, versions pin,
failed images are retried, runs are listed with their status; the CLI's conventions."""

from __future__ import annotations

import argparse
import json
import os

import pytest

import db
from benchmark.cli import _parser, main
from benchmark.pipelines import model_revision
from benchmark.runner import RunConfig, run, run_name


def _config(tmp_path, sd_path, prompts_file, **kw):
    base = dict(
        split="prompts",
        model=str(sd_path),
        prompts_file=prompts_file,
        steps=2,
        height=64,
        width=64,
        workspace=tmp_path / "ws",
        batch_size=2,
        progress=False,
        score=False,
    )
    return RunConfig(**{**base, **kw})


def test_prompts_imply_their_split_and_other_splits_refuse_the_file(tmp_path, capsys):
    from benchmark.cli import _split_of

    path = tmp_path / "mine.txt"
    path.write_text("a dog\n")
    args = _parser().parse_args(["run", "--prompts", str(path)])
    assert _split_of(args) == "prompts"
    assert main(["run", "--prompts", str(path), "--split", "shapes", "--workspace", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--prompts" in err and "shapes" in err and "--split prompts" in err and err.count("\n") == 1
    assert main(["run", "--split", "shapes", "--split-version", "7", "--workspace", str(tmp_path)]) == 2
    assert "--split-version" in capsys.readouterr().err
    assert not (tmp_path / "bench.sqlite").exists()  # refused before any work


def test_editing_the_file_continues_the_run(tmp_path, sd_path, sd_pipe):
    path = tmp_path / "mine.txt"
    path.write_text("a dog and a cat\na red car\na bird on a tree\n")
    first = run(_config(tmp_path, sd_path, path), pipe=sd_pipe)
    assert (first.generated_now, first.done) == (3, 3)
    # reordered, one line removed, one added: only the new prompt is generated, in the same run
    path.write_text("# edited\na bird on a tree\n\na dog and a cat\na horse in a field\n")
    again = run(_config(tmp_path, sd_path, path), pipe=sd_pipe)
    assert again.run == first.run and again.generated_now == 1
    with db.connect(None, workspace=tmp_path / "ws") as store:
        prompts = {p.text: p for p in store.prompts("prompts", "2")}
        assert prompts["a horse in a field"].provenance["nouns"] == ["horse", "field"]
        assert "line" not in prompts["a dog and a cat"].provenance  # where a line sits is not stored
    # a pinned version is a run of its own, and the run records it
    pinned = _config(tmp_path, sd_path, path, split_version="mine-v1")
    assert run_name(pinned) != first.run
    third = run(pinned, pipe=sd_pipe)
    assert third.generated_now == 3
    with db.connect(None, workspace=tmp_path / "ws") as store:
        assert len(store.prompts("prompts", "mine-v1")) == 3
        assert store.get_run(third.run).settings["split_version"] == "mine-v1"


def test_retry_failed_bounds_attempts_and_runs_settle(tmp_path, sd_path, sd_pipe, capsys):
    path = tmp_path / "mine.txt"
    path.write_text("a dog\na cat\n")
    config = _config(tmp_path, sd_path, path)
    summary = run(config, pipe=sd_pipe)
    with db.connect(None, workspace=tmp_path / "ws") as store:
        r = store.get_run(summary.run)
        assert store.settle_run(r.name).status == "done"
        g = store.generations(r.id)[0]
        error = db.failure(None, "RuntimeError: boom")  # as the runner records a failed attempt
        store.record_generation(r.id, g.prompt_id, g.image_index, status="failed", error=error)
        assert store.settle_run(r.id).status == "failed"  # nothing left to try, one failure
        for attempt in (2, 3):
            assert store.retry_failed(r.name, max_attempts=3) == (1, 0)
            back = store.get_generation(g.id)
            assert back.status == "pending" and back.error == f"attempt {attempt - 1}/3: RuntimeError: boom"
            assert store.get_run(r.name).status == "running"
            # the runner records the next failure counting on from the last one
            error = db.failure(back.error, "RuntimeError: boom")
            store.record_generation(r.id, g.prompt_id, g.image_index, status="failed", error=error)
            assert store.get_generation(g.id).error == f"attempt {attempt}/3: RuntimeError: boom"
        assert store.retry_failed(r.id, max_attempts=3) == (0, 1)  # tried 3 times: it stays failed
        assert store.settle_run(r.id).status == "failed"  # as `bench run` leaves it
        assert store.generation_counts(r.name) == {"pending": 0, "claimed": 0, "done": 1, "failed": 1}
        with pytest.raises(db.NotFoundError, match="unknown run name"):
            store.retry_failed("nope")

    assert main(["runs", "--json", "--workspace", str(tmp_path / "ws")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {
            "name": summary.run,
            "split": "prompts",
            "model": str(sd_path),
            "done": 1,
            "failed": 1,
            "pending": 0,
            "status": "failed",
        }
    ]
    assert main(["runs", "--workspace", str(tmp_path / "ws")]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["name", "split", "model", "done", "failed", "pending", "status"]
    assert main(["runs", "--workspace", str(tmp_path / "empty")]) == 0
    assert "no runs" in capsys.readouterr().err and not (tmp_path / "empty").exists()


def test_swapped_weights_of_equal_size_are_a_new_revision(tmp_path):
    folder = tmp_path / "model"
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text("{}")
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(b"\x00" * 4096)
    before = model_revision(str(folder))
    assert model_revision(str(folder)) == before  # cached, same answer
    stat = weights.stat()
    weights.write_bytes(b"\x01" * 4096)  # same size, even the same mtime
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert model_revision(str(folder)) != before


def test_every_option_has_help_and_shared_options_one_spelling():
    seen_dtype = []

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*path, name])
            elif action.option_strings and action.help is None:
                pytest.fail(f"{' '.join(path)} {action.option_strings} has no help")
            elif "--db" in action.option_strings:
                assert action.metavar == "URL", path
            elif "--dtype" in action.option_strings:
                seen_dtype.append(set(action.choices) - {"auto"})
            assert not {"--precision", "--db-url"} & set(action.option_strings)

    walk(_parser(), ["bench"])
    assert seen_dtype and all(c == {"fp16", "bf16", "fp32"} for c in seen_dtype)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("bench ")


def test_report_defaults_to_the_workspace_report_folder():
    args = _parser().parse_args(["report"])
    assert args.out is None  # run_report writes to <workspace>/report


def test_a_workspace_with_a_legacy_revision_continues(tmp_path):
    """Workspaces made before content hashing stored a size-based fingerprint: the same folder
    keeps that model row, so their runs continue instead of conflicting."""
    import db
    from benchmark.pipelines import legacy_revision, model_revision, stored_revision

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model_index.json").write_text("{}")
    (folder / "w.safetensors").write_bytes(b"a" * 64)
    store = db.connect(None, workspace=tmp_path / "ws")
    try:
        assert stored_revision(store, str(folder)) == model_revision(str(folder))
        store.get_or_create_model(str(folder), legacy_revision(str(folder)), "diffusion", {})
        assert stored_revision(store, str(folder)) == legacy_revision(str(folder))
        (folder / "w.safetensors").write_bytes(b"b" * 65)  # changed weights: a new revision
        assert stored_revision(store, str(folder)) == model_revision(str(folder))
    finally:
        store.close()
