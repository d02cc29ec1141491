"""`bench annotate serve` as a user runs it, the CLI against it, and a server that dies mid-pull."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import annotation.pull
from annotation.commands import main
from tests.annotation.results import brush, random_mask

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(other_bench, ls_template, tmp_path_factory):
    """``bench annotate serve`` in its own process, for the ``other`` workspace."""
    out = tmp_path_factory.mktemp("serve") / "serve.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABEL_STUDIO_")}
    env.update(PYTHONPATH=str(REPO_ROOT), BENCH_LABEL_STUDIO_TEMPLATE=str(ls_template.parent))
    with open(out, "w") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "annotation.commands",
                "annotate",
                "serve",
                "--workspace",
                str(other_bench.workspace.root),
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO_ROOT,
        )
    deadline = time.monotonic() + 600
    while "Label Studio is running at" not in out.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"bench annotate serve did not come up:\n{out.read_text()}")
        time.sleep(0.5)
    yield process, out
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


@pytest.fixture
def no_user_server(monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)


def _credentials(workspace) -> dict:
    return json.loads(workspace.credentials_file.read_text())


def test_serve_prints_the_url_and_how_to_log_in_but_no_secret(served, other_bench):
    _, out = served
    text = out.read_text()
    ws = other_bench.workspace
    url = json.loads(ws.connection_file.read_text())["url"]
    assert url.startswith("http://127.0.0.1:")
    assert f"Label Studio is running at {url}" in text
    assert f"log in as admin@daam-bench.local; the password is in {ws.credentials_file}" in text
    assert stat.S_IMODE(ws.credentials_file.stat().st_mode) == 0o600
    creds = _credentials(ws)
    assert creds["token"] not in text and creds["password"] not in text


def test_cli_push_and_status_find_the_served_instance(served, other_bench, no_user_server, capsys):
    ws = str(other_bench.workspace.root)
    assert main(["annotate", "push", "--study", "segmentation", "--run", "seg-run", "--workspace", ws]) == 0
    pushed = capsys.readouterr().out
    assert "segmentation / seg-run: project" in pushed and "3 tasks imported, 0 already there" in pushed
    assert main(["annotate", "status", "--workspace", ws, "--study", "segmentation"]) == 0
    status = capsys.readouterr().out
    assert "segmentation  seg-run" in status and "0 / 9" in status
    creds = _credentials(other_bench.workspace)
    assert creds["token"] not in pushed + status


def test_a_server_stopped_mid_pull_is_a_clear_error_and_stores_nothing(
    served, other_bench, no_user_server, monkeypatch, capsys
):
    from annotation.client import resolve_connection
    from annotation.projects import find_project, task_keys

    process, out = served
    store, ws = other_bench.store, other_bench.workspace
    client = resolve_connection(ws).client()
    project = find_project(client, "segmentation", "seg-run")
    rater = client.users.create(username="midpull", email="midpull@daam-bench.test").id
    for task_id in task_keys(client, project.id).values():
        client.annotations.create(id=task_id, completed_by=rater, result=[brush(random_mask(task_id, 64, 64), "dog")])
    before = (len(store.annotations("segmentation")), len(store.masks()), len(store.raters()))
    exports_before = sorted(ws.exports.glob("*")) if ws.exports.exists() else []
    real_export = annotation.pull.export_project

    def stop_then_export(client_, project_id):
        process.send_signal(signal.SIGTERM)  # the user stops `serve` while the pull runs
        process.wait(60)
        return real_export(client_, project_id)

    monkeypatch.setattr(annotation.pull, "export_project", stop_then_export)
    code = main(["annotate", "pull", "--workspace", str(ws.root), "--study", "segmentation"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: Label Studio stopped answering while trying to export project {project.id}" in err
    assert (len(store.annotations("segmentation")), len(store.masks()), len(store.raters())) == before
    assert (sorted(ws.exports.glob("*")) if ws.exports.exists() else []) == exports_before
    creds = _credentials(ws)
    assert creds["token"] not in err


def test_serve_stops_cleanly_and_leaves_no_secret_anywhere(served, other_bench):
    process, out = served
    assert process.wait(60) == 0
    text = out.read_text()
    assert text.rstrip().endswith("Label Studio stopped") and "Traceback" not in text
    ws = other_bench.workspace
    assert not ws.connection_file.exists()
    creds = _credentials(ws)
    log = ws.server_log.read_text()
    assert "GET /api/" in log
    for secret in (creds["token"], creds["password"]):
        assert secret not in text and secret not in log


def test_a_server_of_your_own_through_the_standard_settings(bench, ls_server, annotation_root, monkeypatch, capsys):
    monkeypatch.setenv("LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    ws = str(bench.workspace.root)
    assert (
        main(
            [
                "annotate",
                "push",
                "--study",
                "presence",
                "--run",
                "coh-run",
                "--workspace",
                ws,
                "--document-root",
                str(annotation_root),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "presence / coh-run: project" in printed and ls_server.token not in printed
    monkeypatch.delenv("LABEL_STUDIO_URL")
    assert main(["annotate", "pull", "--workspace", ws]) == 2
    err = capsys.readouterr().err
    assert "LABEL_STUDIO_URL is not set" in err and ls_server.token not in err


def test_without_any_server_the_error_says_how_to_get_one(tmp_path, no_user_server, capsys):
    assert main(["annotate", "pull", "--workspace", str(tmp_path / "empty")]) == 2
    assert "start one with `bench annotate serve" in capsys.readouterr().err


def test_commands_register_on_a_bench_parser():
    import argparse

    from annotation.commands import register

    parser = argparse.ArgumentParser(prog="bench")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["annotate", "push", "--study", "rating", "--run", "r", "--raters", "5"])
    assert (args.study, args.run, args.raters, args.workspace) == ("rating", "r", 5, None)
    assert callable(args.func)
    with pytest.raises(SystemExit):
        parser.parse_args(["annotate", "push", "--study", "likert", "--run", "r"])
