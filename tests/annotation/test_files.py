"""The file path: export tasks, annotate in another Label Studio, import its JSON export."""

from __future__ import annotations

import json

import pytest

from annotation.commands import main
from annotation.files import export_tasks, import_annotations
from annotation.interface import ONTOLOGY_NOUNS
from annotation.judgements import presence_results
from tests.annotation.results import choice

RUN = "coh-run"


@pytest.fixture(scope="module")
def exported(other_bench, annotation_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("files") / "presence-tasks.json"
    return export_tasks(other_bench.store, "presence", RUN, other_bench.workspace, out, document_root=annotation_root)


@pytest.fixture(scope="module")
def elsewhere_export(exported, ls_connection, tmp_path_factory):
    """Another team's Label Studio: our files imported with their raters' answers embedded."""
    tasks_file, config_file = exported
    client = ls_connection.client()
    ids = {n: client.users.create(username=f"team-{n}", email=f"{n}@elsewhere.test").id for n in ("alice", "bob")}
    project = client.projects.create(title="elsewhere: presence", label_config=config_file.read_text())
    tasks = json.loads(tasks_file.read_text())
    answers = [(["giraffe", "zebra"], ["giraffe"]), (["cake"], ["bus", "cake"]), (["dog"], ["unicorn"])]
    for task, (alice, bob) in zip(tasks, answers, strict=True):
        task["annotations"] = [
            {"result": [choice("objects", *alice)], "completed_by": ids["alice"]},
            {"result": [choice("objects", *bob)], "completed_by": ids["bob"]},
        ]
    client.projects.import_tasks(project.id, request=tasks)  # bulk, embedded, completed_by
    raw = b"".join(
        client.projects.exports.download_sync(
            project.id, export_type="JSON", download_all_tasks=True, download_resources=False
        )
    )
    path = tasks_file.with_name("elsewhere-export.json")
    path.write_bytes(raw)
    return path, ids


def test_export_writes_label_studio_tasks_and_config(exported, other_bench):
    tasks_file, config_file = exported
    tasks = json.loads(tasks_file.read_text())
    assert len(tasks) == 3
    generation = other_bench.generations["coh-0"]
    assert tasks[0]["data"] == {
        "image": "/data/local-files/?d=other/images/coh-run/coh-0.png",
        "bench": {
            "key": f"presence/coh-run/{generation.id}",
            "study": "presence",
            "run": RUN,
            "generation_id": generation.id,
            "prompt_id": generation.prompt_id,
        },
    }
    config = config_file.read_text()
    assert config.startswith("<View>") and all(f'"{n}"' in config for n in ONTOLOGY_NOUNS)


def test_export_can_point_images_at_another_host(other_bench, tmp_path):
    tasks_file, _ = export_tasks(
        other_bench.store,
        "segmentation",
        "seg-run",
        other_bench.workspace,
        tmp_path / "t.json",
        image_base_url="https://data.example/ws/",
    )
    first = json.loads(tasks_file.read_text())[0]["data"]
    assert first["image"] == "https://data.example/ws/images/seg-run/seg-0.png"


def test_import_ingests_the_other_teams_export(other_bench, elsewhere_export):
    path, ids = elsewhere_export
    report = import_annotations(
        other_bench.store,
        "presence",
        RUN,
        path,
        other_bench.workspace,
        source="elsewhere",
        rater_names={ids["alice"]: "alice"},
    )
    assert (report.tasks, report.annotations, report.new, report.invalid) == (3, 6, 6, 1)
    assert [p.message for p in report.problems] == ["unknown nouns ['unicorn']: not among the study's choices"]
    assert report.problems[0].rater == f"elsewhere-user-{ids['bob']}"
    rows = other_bench.store.annotations("presence")
    assert len(rows) == 6 and all(r.external_id.startswith("elsewhere:presence/coh-run/") for r in rows)
    assert {r.name for r in other_bench.store.raters()} >= {"alice", f"elsewhere-user-{ids['bob']}"}
    labels = {r.prompt_nouns: r.label for r in presence_results(other_bench.store, RUN)}
    assert labels[("giraffe", "zebra")] == ("giraffe", "zebra")
    assert labels[("cake", "bus")] == ("cake", "bus")
    assert labels[("cat", "dog")] == ("dog",)  # bob's answer was refused
    again = import_annotations(
        other_bench.store,
        "presence",
        RUN,
        path,
        other_bench.workspace,
        source="elsewhere",
        rater_names={ids["alice"]: "alice"},
    )
    assert (again.new, again.edited, again.unchanged) == (0, 0, 6)
    assert len(other_bench.store.annotations("presence")) == 6
    assert report.export_path != again.export_path  # every raw export is kept


def test_export_and_import_commands(other_bench, elsewhere_export, tmp_path, capsys):
    path, ids = elsewhere_export
    ws = str(other_bench.workspace.root)
    out = tmp_path / "rating.json"
    assert (
        main(["annotate", "export", "--study", "rating", "--run", "pos-run", "--workspace", ws, "--out", str(out)]) == 0
    )
    assert len(json.loads(out.read_text())) == 4 and out.with_suffix(".xml").exists()
    names = tmp_path / "names.json"
    names.write_text(json.dumps({str(ids["alice"]): "alice"}))
    assert (
        main(
            [
                "annotate",
                "import",
                "--study",
                "presence",
                "--run",
                RUN,
                str(path),
                "--workspace",
                ws,
                "--source",
                "elsewhere",
                "--rater-names",
                str(names),
            ]
        )
        == 0
    )
    assert "0 new, 0 edited, 6 unchanged" in capsys.readouterr().out
    assert (
        main(
            ["annotate", "import", "--study", "presence", "--run", RUN, str(tmp_path / "nope.json"), "--workspace", ws]
        )
        == 2
    )
    assert "cannot read the Label Studio export" in capsys.readouterr().err
