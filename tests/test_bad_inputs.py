"""Bad inputs to `bench` against a workspace holding a finished run (issue 13).

Every case asserts the exit code, one error line naming the problem, no traceback, and that the
workspace's files and store rows are byte-identical afterwards. One tiny run is made per module;
nearly every case fails before any model loads.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmark.cli import main

PROMPTS = ["a dog and a cat", "a red car on a road"]


@dataclass(frozen=True)
class Finished:
    root: Path
    ws: Path
    prompts: Path
    model: Path


@pytest.fixture(scope="module")
def finished(tmp_path_factory, sd_path) -> Finished:
    root = tmp_path_factory.mktemp("bad-inputs")
    prompts = root / "prompts.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n")
    f = Finished(root, root / "ws", prompts, Path(sd_path))
    assert main([*_run_args(f), "--json"]) == 0
    return f


def _run_args(f: Finished, **override) -> list[str]:
    opts = {
        "--split": "prompts",
        "--prompts": str(f.prompts),
        "--model": str(f.model),
        "--steps": "2",
        "--height": "64",
        "--width": "64",
        "--workspace": str(f.ws),
        "--threads": "1",
    }
    opts.update({k: v for k, v in override.items()})
    args = ["run"]
    for k, v in opts.items():
        if v is not None:
            args += [f"{k}={v}"]
    return [*args, "--no-score"]


def _snapshot(ws: Path) -> tuple[dict, list[str]]:
    """Every file's bytes (the database's by its rows: opening may checkpoint its WAL) and the dump."""
    files = {
        str(p.relative_to(ws)): p.read_bytes()
        for p in sorted(ws.rglob("*"))
        if p.is_file() and not p.name.startswith("bench.sqlite")
    }
    con = sqlite3.connect(ws / "bench.sqlite")
    try:
        dump = list(con.iterdump())
    finally:
        con.close()
    return files, dump


def _bench(f: Finished, capsys, argv, code: int, *names: str, usage: bool = False) -> str:
    capsys.readouterr()
    before = _snapshot(f.ws)
    try:
        got = main(argv)
    except SystemExit as e:  # argparse's own usage errors
        got = e.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1 and (usage or len(lines) == 1), err
    for name in names:
        assert name.lower() in errors[0].lower(), errors[0]
    assert got == code, err
    assert _snapshot(f.ws) == before, "the workspace changed"
    return errors[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SETTINGS = [  # (option, value, words the message must hold)
    ("--steps", "0", ["--steps", ">= 1"]),
    ("--steps", "-1", ["--steps"]),
    ("--height", "0", ["--height", "multiple of 8"]),
    ("--height", "33", ["--height", "multiple of 8"]),
    ("--width", "33", ["--width", "multiple of 8"]),
    ("--width", "-64", ["--width"]),
    ("--guidance", "nan", ["--guidance", "finite"]),
    ("--guidance", "inf", ["--guidance", "finite"]),
    ("--guidance", "-inf", ["--guidance"]),
    ("--batch-size", "0", ["--batch-size", ">= 1"]),
    ("--batch-size", "-3", ["--batch-size"]),
    ("--images-per-prompt", "0", ["--images-per-prompt", ">= 1"]),
    ("--limit", "0", ["--limit"]),
    ("--limit", "-1", ["--limit"]),
    ("--size", "0", ["--size"]),
    ("--seed", "-1", ["--seed"]),
    ("--scheduler", "dpm++", ["--scheduler", "ddim"]),
    ("--threads", "0", ["--threads"]),
    ("--device", "gpu7", ["--device"]),
    ("--split", "prompt", ["prompts"]),  # did you mean
    ("--split", "coco-gne", ["coco-gen"]),
    ("--run-name", "../x", ["--run-name"]),
    ("--run-name", "/abs/x", ["--run-name"]),
    ("--run-name", "=HYPERLINK(1)", ["--run-name"]),
    ("--run-name", "a/b", ["--run-name"]),
    ("--run-name", "-x", ["--run-name"]),
    ("--run-name", "", ["--run-name"]),
    ("--run-name", "x" * 101, ["--run-name", "100"]),
]


@pytest.mark.parametrize("option,value,words", SETTINGS, ids=[f"{o}={v[:12]}" for o, v, _ in SETTINGS])
def test_bad_setting(finished, capsys, option, value, words):
    _bench(finished, capsys, _run_args(finished, **{option: value}), 2, *words)


USAGE = [  # argparse rejects these itself
    ("--steps", "abc"),
    ("--dtype", "fp8"),
    ("--shard", "3/2"),
    ("--guidance", "seven"),
]


@pytest.mark.parametrize("option,value", USAGE)
def test_unparsable_option(finished, capsys, option, value):
    _bench(finished, capsys, _run_args(finished, **{option: value}), 2, option, usage=True)


def test_device_that_is_not_here(finished, capsys):
    import torch

    if torch.cuda.is_available() and torch.cuda.device_count() > 7:
        pytest.skip("this machine has cuda:7")
    _bench(finished, capsys, _run_args(finished, **{"--device": "cuda:7"}), 2, "cuda:7")


def test_steps_zero_does_not_succeed_through_the_library(finished, sd_path):
    from benchmark.runner import RunConfig, run
    from benchmark.validate import UsageError

    before = _snapshot(finished.ws)
    config = RunConfig(split="prompts", model=str(sd_path), prompts_file=finished.prompts, steps=0, height=64, width=64)
    with pytest.raises(UsageError, match="--steps"):
        run(RunConfig(**{**config.__dict__, "workspace": finished.ws, "progress": False, "score": False}))
    assert _snapshot(finished.ws) == before


# ------------------------------------------------------------------------------------ workspace
def test_workspace_is_a_file(finished, capsys, tmp_path):
    path = tmp_path / "ws.txt"
    path.write_text("not a folder")
    _bench(finished, capsys, _run_args(finished, **{"--workspace": str(path)}), 2, "--workspace", "file")
    assert path.read_text() == "not a folder"


def test_workspace_under_a_file(finished, capsys, tmp_path):
    path = tmp_path / "ws.txt"
    path.write_text("not a folder")
    _bench(finished, capsys, _run_args(finished, **{"--workspace": str(path / "inner")}), 2, "--workspace", "file")


# -------------------------------------------------------------------------------------- prompts
def _prompts_case(finished, capsys, path, *words):
    return _bench(finished, capsys, _run_args(finished, **{"--prompts": str(path)}), 2, *words)


def test_prompts_missing(finished, capsys, tmp_path):
    _prompts_case(finished, capsys, tmp_path / "nope.txt", "--prompts", "nope.txt")


def test_prompts_folder(finished, capsys, tmp_path):
    (tmp_path / "dir.txt").mkdir()
    _prompts_case(finished, capsys, tmp_path / "dir.txt", "--prompts", "dir.txt")


def test_prompts_empty(finished, capsys, tmp_path):
    (tmp_path / "empty.txt").write_text("")
    _prompts_case(finished, capsys, tmp_path / "empty.txt", "no prompts")


def test_prompts_only_comments(finished, capsys, tmp_path):
    (tmp_path / "c.txt").write_text("# nothing\n\n   \n")
    _prompts_case(finished, capsys, tmp_path / "c.txt", "no prompts")


def test_prompts_binary(finished, capsys, tmp_path):
    (tmp_path / "bin.txt").write_bytes(bytes(range(256)) * 64)
    _prompts_case(finished, capsys, tmp_path / "bin.txt", "bin.txt", "UTF-8")


def test_prompts_huge_line(finished, capsys, tmp_path):
    (tmp_path / "huge.txt").write_text("a dog\n" + "cat " * 2_500_000 + "\n")  # 10 MB
    _prompts_case(finished, capsys, tmp_path / "huge.txt", "huge.txt", "line 2", "characters")


def test_prompts_huge_jsonl_line(finished, capsys, tmp_path):
    (tmp_path / "huge.jsonl").write_text(json.dumps({"text": "dog " * 300_000}) + "\n")
    _prompts_case(finished, capsys, tmp_path / "huge.jsonl", "huge.jsonl", "line 1")


def test_prompts_wrong_suffix(finished, capsys, tmp_path):
    (tmp_path / "p.csv").write_text("a dog\n")
    _prompts_case(finished, capsys, tmp_path / "p.csv", ".txt or .jsonl")


def test_prompts_jsonl_not_json(finished, capsys, tmp_path):
    (tmp_path / "p.jsonl").write_text('{"text": "a dog"}\n{"text": \n')
    _prompts_case(finished, capsys, tmp_path / "p.jsonl", "line 2", "JSON")


def test_prompts_jsonl_unknown_field(finished, capsys, tmp_path):
    (tmp_path / "p.jsonl").write_text('{"text": "a dog", "colour": "red"}\n')
    _prompts_case(finished, capsys, tmp_path / "p.jsonl", "line 1", "colour")


def test_prompts_jsonl_words_not_in_text(finished, capsys, tmp_path):
    (tmp_path / "p.jsonl").write_text('{"text": "a dog", "words": ["cat"]}\n')
    _prompts_case(finished, capsys, tmp_path / "p.jsonl", "line 1", "cat")


def test_coco_split_without_captions(finished, capsys):
    _bench(finished, capsys, _run_args(finished, **{"--split": "coco-gen", "--prompts": None}), 2, "--coco-captions")


# --------------------------------------------------------------------------------------- models
def _model_copy(finished, tmp_path) -> Path:
    import shutil

    dest = tmp_path / "model"
    shutil.copytree(finished.model, dest)
    return dest


def _model_case(finished, capsys, model, *words):
    return _bench(finished, capsys, _run_args(finished, **{"--model": str(model)}), 2, *words)


def test_model_missing(finished, capsys, tmp_path):
    _model_case(finished, capsys, tmp_path / "no-model", "no-model")


def test_model_is_a_file(finished, capsys, tmp_path):
    (tmp_path / "model.bin").write_bytes(b"\0" * 100)
    _model_case(finished, capsys, tmp_path / "model.bin", "model.bin", "file")


def test_model_not_a_pipeline(finished, capsys, tmp_path):
    (tmp_path / "empty-model").mkdir()
    _model_case(finished, capsys, tmp_path / "empty-model", "model_index.json")


def test_model_index_broken(finished, capsys, tmp_path):
    model = _model_copy(finished, tmp_path)
    (model / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline",')
    _model_case(finished, capsys, model, "model_index.json", "JSON")


def test_model_index_names_a_missing_component(finished, capsys, tmp_path):
    import shutil

    model = _model_copy(finished, tmp_path)
    shutil.rmtree(model / "unet")
    _model_case(finished, capsys, model, "unet")


def test_model_component_config_broken(finished, capsys, tmp_path):
    model = _model_copy(finished, tmp_path)
    (model / "unet" / "config.json").write_text("{")
    _model_case(finished, capsys, model, "unet/config.json")


def test_model_weights_truncated(finished, capsys, tmp_path):
    model = _model_copy(finished, tmp_path)
    weights = next((model / "unet").glob("*.safetensors"))
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    _model_case(finished, capsys, model, "truncated", weights.name)


def test_model_weights_garbage(finished, capsys, tmp_path):
    model = _model_copy(finished, tmp_path)
    weights = next((model / "vae").glob("*.safetensors"))
    weights.write_bytes(b"garbage")
    _model_case(finished, capsys, model, weights.name)


def test_model_unknown_scheduler_class(finished, capsys, tmp_path):
    model = _model_copy(finished, tmp_path)
    index = json.loads((model / "model_index.json").read_text())
    index["scheduler"] = ["diffusers", "NoSuchScheduler"]
    (model / "model_index.json").write_text(json.dumps(index))
    _bench(finished, capsys, _run_args(finished, **{"--model": str(model), "--scheduler": "model"}), 2, "model")


def test_hub_id_not_cached(finished, capsys):
    _model_case(finished, capsys, "nobody-here/no-such-model", "no-such-model")


def test_resumed_complete_run_needs_no_model(finished, capsys, monkeypatch):
    import benchmark.runner as runner

    def no_load(*a, **k):
        raise AssertionError("a complete run loaded its model")

    monkeypatch.setattr(runner, "load_pipeline", no_load)
    before = _snapshot(finished.ws)
    assert main([*_run_args(finished), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["done"], summary["generated_now"]) == (len(PROMPTS), 0)
    assert _snapshot(finished.ws) == before


# --------------------------------------------------------------------------------------- stores
def _store_case(finished, capsys, url, *words):
    return _bench(finished, capsys, [*_run_args(finished), "--db", url], 2, "cannot open store", *words)


def test_store_unknown_scheme(finished, capsys):
    _store_case(finished, capsys, "mongodb://localhost/bench", "unknown scheme")


def test_store_postgres_closed_port(finished, capsys):
    _store_case(finished, capsys, f"postgresql+psycopg://bench:secret@127.0.0.1:{_closed_port()}/bench", "127.0.0.1")
    assert "secret" not in capsys.readouterr().err


def test_store_postgres_unknown_driver(finished, capsys):
    _store_case(finished, capsys, "postgresql+nodriver://u@127.0.0.1/x", "nodriver")


def test_store_read_only_folder(finished, capsys, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        _store_case(finished, capsys, f"sqlite:///{folder}/bench.sqlite", "read-only")
    finally:
        folder.chmod(0o755)


def test_store_file_not_a_database(finished, capsys, tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("dear diary")
    _store_case(finished, capsys, str(path), "not an SQLite database")
    assert path.read_text() == "dear diary"


def test_store_is_a_folder_named_like_a_file(finished, capsys, tmp_path):
    (tmp_path / "x.sqlite").mkdir()
    _store_case(finished, capsys, f"sqlite:///{tmp_path}/x.sqlite", "folder")


def test_store_from_a_newer_schema(finished, capsys, tmp_path):
    path = tmp_path / "newer.sqlite"
    con = sqlite3.connect(path)
    con.execute("create table alembic_version (version_num varchar(32))")
    con.execute("insert into alembic_version values ('9999_future')")
    con.commit()
    con.close()
    _store_case(finished, capsys, str(path), "9999_future")


# -------------------------------------------------------------------------------------- imports
def test_import_missing_folder(finished, capsys, tmp_path):
    _bench(finished, capsys, ["import-daam", str(tmp_path / "none"), "--workspace", str(finished.ws)], 2, "none")


def test_import_a_file(finished, capsys, tmp_path):
    (tmp_path / "f.txt").write_text("x")
    _bench(finished, capsys, ["import-daam", str(tmp_path / "f.txt"), "--workspace", str(finished.ws)], 2, "f.txt")


def test_import_symlink_out(finished, capsys, tmp_path):
    """A link out of the imported folder is skipped with its reason (exit 1: the import went on);
    nothing it points at reaches the store."""
    root = tmp_path / "release"
    (root / "0001").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret words")
    (root / "0001" / "prompt.txt").symlink_to(secret)
    capsys.readouterr()
    files_before = _snapshot(finished.ws)[0]
    assert main(["import-daam", str(root), "--workspace", str(finished.ws)]) == 1
    err = capsys.readouterr().err
    skipped = [line for line in err.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 1 and "0001" in skipped[0] and "outside the imported folder" in skipped[0], err
    assert "Traceback" not in err
    files, dump = _snapshot(finished.ws)
    assert files == files_before and not any("top secret" in row for row in dump)


def test_import_bad_run_name(finished, capsys, tmp_path):
    (tmp_path / "release").mkdir()
    argv = ["import-daam", str(tmp_path / "release"), "--run", "../x", "--workspace", str(finished.ws)]
    _bench(finished, capsys, argv, 2, "run name")


# -------------------------------------------------------------------------------------- reports
def test_report_out_is_a_file(finished, capsys, tmp_path):
    out = tmp_path / "report.html"
    out.write_text("mine")
    _bench(finished, capsys, ["report", "--out", str(out), "--workspace", str(finished.ws)], 2, "--out", "file")
    assert out.read_text() == "mine"


def test_report_out_under_a_file(finished, capsys, tmp_path):
    out = tmp_path / "report.html"
    out.write_text("mine")
    argv = ["report", "--out", str(out / "sub"), "--workspace", str(finished.ws)]
    _bench(finished, capsys, argv, 2, "--out", "file")


def test_report_unknown_run(finished, capsys, tmp_path):
    argv = ["report", "--out", str(tmp_path / "r"), "--runs", "nope", "--workspace", str(finished.ws)]
    _bench(finished, capsys, argv, 2, "nope")


def test_report_without_database(finished, capsys, tmp_path):
    argv = ["report", "--out", str(tmp_path / "r"), "--workspace", str(tmp_path / "empty")]
    _bench(finished, capsys, argv, 2, "no database")


# ----------------------------------------------------------------------------------- annotation
@pytest.fixture
def refusing_server():
    """A loopback server that answers every request 401, as Label Studio does for a wrong token."""

    class Refuse(http.server.BaseHTTPRequestHandler):
        def _refuse(self):
            body = b'{"detail": "Invalid token."}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _refuse

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _annotate(finished, capsys, monkeypatch, url, key, command, *words):
    monkeypatch.setenv("LABEL_STUDIO_URL", url)
    if key is None:
        monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    else:
        monkeypatch.setenv("LABEL_STUDIO_API_KEY", key)
    run = _run_name(finished)
    argv = ["annotate", command, "--workspace", str(finished.ws)]
    if command == "push":
        argv += ["--study", "segmentation", "--run", run]
    err = _bench(finished, capsys, argv, 2, *words)
    assert key is None or key not in err
    return err


def _run_name(finished) -> str:
    con = sqlite3.connect(finished.ws / "bench.sqlite")
    try:
        return con.execute("select name from runs order by id").fetchone()[0]  # the finished run
    finally:
        con.close()


@pytest.mark.parametrize("command", ["push", "pull"])
def test_annotate_unreachable_server(finished, capsys, monkeypatch, command):
    url = f"http://127.0.0.1:{_closed_port()}"
    _annotate(finished, capsys, monkeypatch, url, "tok-123456789", command, "Label Studio", "refused")


@pytest.mark.parametrize("command", ["push", "pull"])
def test_annotate_wrong_token(finished, capsys, monkeypatch, refusing_server, command):
    _annotate(finished, capsys, monkeypatch, refusing_server, "wrong-token-0123456789", command, "401")


def test_annotate_key_missing(finished, capsys, monkeypatch):
    _annotate(finished, capsys, monkeypatch, "http://127.0.0.1:1", None, "pull", "LABEL_STUDIO_API_KEY")
