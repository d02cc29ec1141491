"""The Label Studio path when things go wrong, against a real server this module stops at will.

A wrong token, a server stopped mid-push and mid-pull, a project deleted in Label Studio
between push and pull: each is one clear line (exit code 2 from the CLI), nothing half-stored,
and the same command run again does what is left and nothing twice.
"""

from __future__ import annotations

import pytest

import annotation.pull
import annotation.push
from annotation.client import Connection, LabelStudioError
from annotation.commands import main
from annotation.labelstudio import Credentials, LabelStudioServer
from annotation.projects import find_project, task_keys
from annotation.pull import pull
from annotation.push import push
from tests.annotation.conftest import make_bench
from tests.annotation.results import brush, random_mask


class Restartable:
    """A server on its own data folder that tests stop and start again (a new port each time)."""

    def __init__(self, folder, document_root, template) -> None:
        self.folder, self.root, self.template = folder, document_root, template
        self.credentials = Credentials.generate()
        self.server = self.start()

    def start(self) -> LabelStudioServer:
        self.server = LabelStudioServer.start(
            self.folder / "data",
            self.root,
            self.credentials,
            log_path=self.folder / "server.log",
            template=self.template,
        )
        return self.server

    def client(self):
        return Connection(self.server.url, self.server.token).client()


@pytest.fixture(scope="module")
def world(ls_template, sd_path, tmp_path_factory):
    root = tmp_path_factory.mktemp("failures-root")
    bench = make_bench(root, sd_path)
    server = Restartable(tmp_path_factory.mktemp("failures-ls"), root, ls_template)
    yield bench, server
    server.server.stop()
    bench.store.close()


def rows(store) -> tuple:
    """Everything pull may write, to compare before and after a failure."""
    return (
        tuple(sorted((a.study, a.external_id, a.version) for a in store.annotations())),
        len(store.masks()),
        tuple(r.name for r in store.raters()),
    )


def cli(server, monkeypatch, token: str | None = None):
    monkeypatch.setenv("LABEL_STUDIO_URL", server.server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", token or server.server.token)
    return main


def test_a_wrong_token_is_one_line_before_any_work(world, monkeypatch, capsys):
    bench, server = world
    from annotation.redact import register_secret

    wrong = "wrong-token-0123456789abcdef0123"
    register_secret(wrong)
    ws = bench.workspace
    for command in (["push", "--study", "rating", "--run", "pos-run"], ["pull"]):
        code = cli(server, monkeypatch, wrong)(
            ["annotate", *command, "--workspace", str(ws.root), "--document-root", str(server.root)][
                : None if command[0] == "push" else 4
            ]
        )
        err = capsys.readouterr().err
        assert code == 2, command
        assert err.count("\n") == 1 and "Traceback" not in err
        assert "refused the API token (HTTP 401" in err and wrong not in err
    assert not ws.overlays.exists()  # nothing drawn for a push that cannot happen
    assert not ws.pushed_file.exists()
    assert find_project(server.client(), "rating", "pos-run") is None
    assert rows(bench.store) == ((), 0, ())


def test_a_server_stopped_mid_push_then_the_same_push_imports_the_rest(world, monkeypatch):
    bench, server = world
    client = server.client()
    real_import = client.projects.import_tasks
    calls = []

    def import_then_stop(*args, **kwargs):
        result = real_import(*args, **kwargs)
        calls.append(len(kwargs["request"]))
        server.server.stop()  # the server goes away after the first batch
        return result

    monkeypatch.setattr(annotation.push, "IMPORT_BATCH", 1)
    monkeypatch.setattr(client.projects, "import_tasks", import_then_stop)
    with pytest.raises(LabelStudioError) as caught:
        push(bench.store, client, "segmentation", "seg-run", bench.workspace, document_root=server.root)
    assert calls == [1]
    assert "stopped answering while trying to import 1 tasks into project" in str(caught.value)
    assert "\n" not in str(caught.value)
    server.start()
    client = server.client()
    again = push(bench.store, client, "segmentation", "seg-run", bench.workspace, document_root=server.root)
    assert (again.project_state, again.imported, again.already_there) == ("unchanged", 2, 1)
    assert len(task_keys(client, again.project_id)) == 3
    once_more = push(bench.store, client, "segmentation", "seg-run", bench.workspace, document_root=server.root)
    assert (once_more.project_id, once_more.imported, once_more.already_there) == (again.project_id, 0, 3)
    errors = [line for line in (server.folder / "server.log").read_text().splitlines() if "[ERROR]" in line]
    assert errors and all("Invalid token." in line for line in errors)  # the wrong token's; none from paging


def test_a_server_stopped_mid_pull_stores_nothing_and_the_same_pull_stores_everything_once(world, monkeypatch):
    bench, server = world
    client = server.client()
    project = find_project(client, "segmentation", "seg-run")
    rater = client.users.create(username="r1", email="r1@daam-bench.test").id
    for task_id in task_keys(client, project.id).values():
        client.annotations.create(id=task_id, completed_by=rater, result=[brush(random_mask(task_id, 64, 64), "dog")])
    real_export = annotation.pull.export_project

    def stop_then_export(client_, project_id):
        server.server.stop()
        return real_export(client_, project_id)

    monkeypatch.setattr(annotation.pull, "export_project", stop_then_export)
    with pytest.raises(LabelStudioError, match=f"stopped answering while trying to export project {project.id}"):
        pull(bench.store, client, bench.workspace)
    assert rows(bench.store) == ((), 0, ())
    assert not bench.workspace.exports.exists()
    monkeypatch.setattr(annotation.pull, "export_project", real_export)
    server.start()
    first = pull(bench.store, server.client(), bench.workspace)[0]
    assert (first.new, first.edited, first.invalid, first.masks) == (
        3,
        0,
        2,
        2,
    )  # "dog" is a noun of "a dog and a cat" only
    second = pull(bench.store, server.client(), bench.workspace)[0]
    assert (second.new, second.edited, second.unchanged, second.masks) == (0, 0, 3, 0)


def test_a_project_deleted_in_label_studio_is_named_and_a_new_push_brings_it_back(world, monkeypatch, capsys):
    bench, server = world
    client = server.client()
    project = find_project(client, "segmentation", "seg-run")
    stored = rows(bench.store)
    client.projects.delete(project.id)
    ws = str(bench.workspace.root)
    main_ = cli(server, monkeypatch)
    assert main_(["annotate", "pull", "--workspace", ws]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"the segmentation project of run 'seg-run' (Label Studio project {project.id}) is gone" in err
    assert "bench annotate push --study segmentation --run seg-run" in err
    assert rows(bench.store) == stored
    command = ["annotate", "push", "--study", "segmentation", "--run", "seg-run", "--workspace", ws]
    assert main_([*command, "--document-root", str(server.root)]) == 0
    assert "(created); 3 tasks imported, 0 already there" in capsys.readouterr().out
    assert main_(["annotate", "pull", "--workspace", ws]) == 0
    assert "0 annotations on 3 tasks: 0 new" in capsys.readouterr().out
    assert rows(bench.store) == stored  # the annotations pulled before stay, once
