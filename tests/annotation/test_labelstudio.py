"""The three studies end to end against the session's real Label Studio server.

Push every study, let three simulated raters (plus one careless rater in the rating study)
annotate through the API, pull, and check the database row by row; then re-push, re-pull,
edit, and break things on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import krippendorff
import numpy as np
import pytest

import db
from annotation.agreement import mask_agreement, presence_agreement, rating_agreement
from annotation.client import Connection, LabelStudioError
from annotation.interface import label_config
from annotation.judgements import presence_results, rating_results
from annotation.projects import find_project, task_keys
from annotation.pull import pull
from annotation.push import push
from annotation.status import all_status
from tests.annotation.results import brush, choice, polygon, random_mask

RUNS = {"segmentation": "seg-run", "rating": "pos-run", "presence": "coh-run"}
RATERS = ("rater1", "rater2", "rater3", "careless")
S = 64  # image size of the tiny pipeline's generations


def email(name: str) -> str:
    return f"{name}@daam-bench.test"


@pytest.fixture(scope="module")
def client(ls_connection):
    return ls_connection.client()


@pytest.fixture(scope="module")
def pushed(bench, client, annotation_root):
    reports = {
        s: push(bench.store, client, s, run, bench.workspace, document_root=annotation_root) for s, run in RUNS.items()
    }
    return reports


@pytest.fixture(scope="module")
def users(client, pushed) -> dict[str, int]:
    return {name: client.users.create(username=name, email=email(name)).id for name in RATERS}


def tasks_of(client, project_id: int) -> dict[str, int]:
    return task_keys(client, project_id)


@dataclass
class Expected:
    masks: dict[tuple[str, str, str], np.ndarray]  # (prompt key, noun, rater) -> mask
    invalid: dict[tuple[str, str], str]  # (prompt key, rater) -> problem fragment


@pytest.fixture(scope="module")
def annotated(bench, client, pushed, users) -> Expected:
    """What the simulated raters draw and choose, posted as their annotations."""
    seg_tasks = tasks_of(client, pushed["segmentation"].project_id)
    m = {seed: random_mask(seed, S, S) for seed in range(1, 12)}
    rect = np.zeros((S, S), bool)
    rect[16:48, 8:32] = True  # polygon x 12.5..50 %, y 25..75 %
    seg_rect = polygon([[12.5, 25], [50, 25], [50, 75], [12.5, 75]], "cat", S, S)
    truncated = brush(m[1], "car")
    truncated["value"]["rle"] = truncated["value"]["rle"][:-8]
    segmentation = {
        ("seg-0", "rater1"): [brush(m[1], "dog"), seg_rect],
        ("seg-1", "rater1"): [brush(m[2], "car")],
        ("seg-2", "rater1"): [brush(m[3], "giraffe"), brush(m[4], "zebra"), brush(m[5], "zebra")],
        ("seg-0", "rater2"): [brush(m[6], "dog")],
        ("seg-1", "rater2"): [brush(m[7], "car")],
        ("seg-2", "rater2"): [brush(m[3], "unicorn")],
        ("seg-0", "rater3"): [brush(m[8], "dog"), brush(m[9], "cat")],
        ("seg-1", "rater3"): [truncated],
        ("seg-2", "rater3"): [brush(m[10], "giraffe")],
    }
    for (prompt, rater), result in segmentation.items():
        client.annotations.create(
            id=seg_tasks[f"segmentation/seg-run/{bench.generations[prompt].id}"],
            result=result,
            completed_by=users[rater],
        )
    z = np.zeros((S, S), bool)
    masks = {
        ("seg-0", "dog", "rater1"): m[1],
        ("seg-0", "cat", "rater1"): rect,
        ("seg-1", "car", "rater1"): m[2],
        ("seg-2", "giraffe", "rater1"): m[3],
        ("seg-2", "zebra", "rater1"): m[4] | m[5],
        ("seg-0", "dog", "rater2"): m[6],
        ("seg-0", "cat", "rater2"): z,
        ("seg-1", "car", "rater2"): m[7],
        ("seg-0", "dog", "rater3"): m[8],
        ("seg-0", "cat", "rater3"): m[9],
        ("seg-2", "giraffe", "rater3"): m[10],
        ("seg-2", "zebra", "rater3"): z,
    }
    # A task that is not ours, with an annotation, arrives by bulk import with completed_by.
    client.projects.import_tasks(
        pushed["segmentation"].project_id,
        request=[
            {
                "data": {
                    "image": "/data/local-files/?d=ws/images/seg-run/seg-0.png",
                    "prompt": "a dog",
                    "nouns": [{"value": "dog"}],
                },
                "annotations": [{"result": [brush(m[1], "dog")], "completed_by": users["rater1"]}],
            }
        ],
    )

    rating_tasks = tasks_of(client, pushed["rating"].project_id)
    rating = [  # (prompt, rater, choice) in submission order
        ("pos-0", "rater1", "good"),
        ("pos-0", "rater2", "fair"),
        ("pos-0", "rater3", "excellent"),
        ("pos-0", "careless", "bad"),
        ("pos-1", "rater1", "poor"),
        ("pos-1", "rater2", "word too abstract"),
        ("pos-1", "rater3", "good"),
        ("pos-2", "rater1", "excellent"),
        ("pos-2", "rater2", "image too poor"),
        ("pos-2", "rater3", "good"),
        ("pos-3", "rater1", "word too abstract"),
        ("pos-3", "rater2", "image too poor"),
        ("pos-3", "rater3", "word too abstract"),
        ("pos-3", "careless", "good"),
    ]
    for prompt, rater, value in rating:
        client.annotations.create(
            id=rating_tasks[f"rating/pos-run/{bench.generations[prompt].id}"],
            result=[choice("rating", value)],
            completed_by=users[rater],
        )

    presence_tasks = tasks_of(client, pushed["presence"].project_id)
    presence = [
        ("coh-0", "rater1", ["giraffe", "zebra"]),
        ("coh-0", "rater2", ["giraffe"]),
        ("coh-0", "rater3", ["zebra", "elephant"]),
        ("coh-1", "rater1", ["bus"]),
        ("coh-1", "rater2", ["cake", "truck"]),
        ("coh-1", "rater3", ["truck", "bus"]),
        ("coh-2", "rater3", ["horse"]),
        ("coh-2", "rater1", ["cat"]),
        ("coh-2", "rater2", ["dog"]),
    ]
    for prompt, rater, nouns in presence:
        client.annotations.create(
            id=presence_tasks[f"presence/coh-run/{bench.generations[prompt].id}"],
            result=[choice("objects", *nouns)],
            completed_by=users[rater],
        )
    invalid = {("seg-2", "rater2"): "unknown label 'unicorn'", ("seg-1", "rater3"): "malformed"}
    return Expected(masks, invalid)


@pytest.fixture(scope="module")
def pulled(bench, client, annotated):
    return {r.study: r for r in pull(bench.store, client, bench.workspace)}


# ----------------------------------------------------------------------------- push
def test_push_creates_one_project_per_study_with_every_task(bench, client, pushed, ls_server):
    assert {s: (r.project_state, r.imported, r.already_there, r.skipped) for s, r in pushed.items()} == {
        "segmentation": ("created", 3, 0, ()),
        "rating": ("created", 4, 0, ()),
        "presence": ("created", 3, 0, ()),
    }
    for study, run in RUNS.items():
        project = find_project(client, study, run)
        assert project.id == pushed[study].project_id
        stored = client.projects.get(project.id)
        assert stored.maximum_annotations == 3
        if study != "presence":
            assert stored.label_config.strip() == label_config(study).strip()
    task = client.tasks.get(
        str(tasks_of(client, pushed["rating"].project_id)[f"rating/pos-run/{bench.generations['pos-0'].id}"])
    )
    assert task.data["image"] == "/data/local-files/?d=ws/images/pos-run/pos-0.png"
    assert task.data["overlay"].startswith("/data/local-files/?d=ws/overlays/rating/pos-run/")
    assert task.data["word"] == "running"


def test_images_are_served_from_the_workspace_not_copied(bench, client, pushed, ls_server):
    task_id = tasks_of(client, pushed["segmentation"].project_id)[
        f"segmentation/seg-run/{bench.generations['seg-1'].id}"
    ]
    url = client.tasks.get(str(task_id)).data["image"]
    got = httpx.get(ls_server.url + url, headers={"Authorization": f"Token {ls_server.token}"})
    assert got.status_code == 200
    assert got.content == bench.workspace.file("images/seg-run/seg-1.png").read_bytes()
    outside = httpx.get(
        ls_server.url + "/data/local-files/?d=ws/bench.sqlite", headers={"Authorization": f"Token {ls_server.token}"}
    )
    assert outside.status_code == 404  # only the connected image folders are served


def test_push_again_adds_only_what_is_missing(bench, client, pushed, annotation_root):
    project = pushed["segmentation"].project_id
    before = tasks_of(client, project)
    again = push(bench.store, client, "segmentation", "seg-run", bench.workspace, document_root=annotation_root)
    assert (again.project_id, again.project_state, again.imported, again.already_there) == (project, "unchanged", 0, 3)
    assert again.storages_added == ()
    assert tasks_of(client, project) == before
    lost = before[f"segmentation/seg-run/{bench.generations['seg-2'].id}"]
    client.tasks.delete(str(lost))
    refill = push(bench.store, client, "segmentation", "seg-run", bench.workspace, document_root=annotation_root)
    assert (refill.imported, refill.already_there) == (1, 2)
    assert set(tasks_of(client, project)) == set(before)
    more = push(
        bench.store, client, "segmentation", "seg-run", bench.workspace, raters=5, document_root=annotation_root
    )
    assert more.project_state == "updated" and client.projects.get(project).maximum_annotations == 5
    back = push(bench.store, client, "segmentation", "seg-run", bench.workspace, document_root=annotation_root)
    assert (back.project_state, back.imported) == ("updated", 0)


def test_project_descriptions_are_readable_text(bench, client, pushed):
    stored = client.projects.get(pushed["segmentation"].project_id).description
    assert "{" not in stored
    lines = stored.splitlines()
    assert lines[0] == "The daam-bench **segmentation** study of run **seg-run**."
    for expected in ("- split: coco-gen", "- model: tiny-sd (revision test)", "- what to do: paint or outline"):
        assert any(line.startswith(expected) for line in lines), expected
    assert lines[-1] == "daam-bench: study=segmentation run=seg-run"


def test_error_reporting_and_analytics_are_off_in_the_served_pages(ls_server):
    import re

    with httpx.Client(base_url=ls_server.url, follow_redirects=True) as browser:
        login = browser.get("/user/login/")
        assert "APP_SETTINGS.collect_analytics = false" in login.text
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)[1]
        creds = ls_server.credentials
        home = browser.post(
            "/user/login/",
            data={"csrfmiddlewaretoken": csrf, "email": creds.email, "password": creds.password},
            headers={"Referer": ls_server.url + "/user/login/"},
        )
    assert home.status_code == 200 and "APP_SETTINGS" in home.text  # the app's own page (base.html)
    assert "sentry_dsn: null" in home.text and "collect_analytics: false" in home.text
    assert "sentry.io" not in home.text


# ----------------------------------------------------------------------------- pull: segmentation
def _by_rater(store: db.Store) -> dict[int, str]:
    return {r.id: r.name.split("@")[0] for r in store.raters()}


def test_pull_reports_counts_and_problems_per_task(pulled):
    seg = pulled["segmentation"]
    assert (seg.tasks, seg.annotations, seg.new, seg.edited, seg.unchanged) == (4, 10, 10, 0, 0)
    assert seg.invalid == 3 and seg.masks == 12
    messages = [str(p) for p in seg.problems]
    assert any("(rater2@daam-bench.test): region #0 has unknown label 'unicorn'" in p for p in messages)
    assert any("(rater3@daam-bench.test): region #0 ('car') is malformed" in p for p in messages)
    assert any(p.startswith("label studio task") and "unknown task" in p for p in messages)
    assert seg.export_path and pulled["rating"].export_path != seg.export_path


def test_segmentation_masks_are_stored_pixel_exact(bench, pulled, annotated):
    names = _by_rater(bench.store)
    run = bench.store.get_run("seg-run")
    stored = bench.store.masks(run_id=run.id, source="human")
    prompt_of = {g.id: k for k, g in bench.generations.items()}
    got = {(prompt_of[m.generation_id], m.word, names[m.rater_id]): m for m in stored}
    assert set(got) == set(annotated.masks)
    for ident, mask in got.items():
        assert mask.version == 1 and mask.occurrence == 0 and mask.method is None
        assert np.array_equal(db.decode_mask(mask), annotated.masks[ident]), ident


def test_segmentation_annotations_keep_raw_and_parsed(bench, pulled, annotated):
    names = _by_rater(bench.store)
    prompt_of = {g.id: k for k, g in bench.generations.items()}
    rows = bench.store.annotations("segmentation")
    assert len(rows) == 10
    ours = [a for a in rows if a.generation_id is not None]
    assert len({a.external_id for a in rows}) == 10
    for a in ours:
        ident = (prompt_of[a.generation_id], names[a.rater_id])
        assert a.version == 1
        assert a.external_id.startswith(f"labelstudio:segmentation/seg-run/{a.generation_id}#")
        assert a.raw["annotation"]["result"]
        assert a.raw["task"]["data"]["bench"]["generation_id"] == a.generation_id
        if ident in annotated.invalid:
            assert not a.valid and annotated.invalid[ident] in a.problems[0]
        else:
            assert a.valid and a.problems == ()
            for noun, summary in a.parsed.items():
                assert summary["area"] == int(annotated.masks[(ident[0], noun, ident[1])].sum())
    stranger = [a for a in rows if a.generation_id is None]
    assert len(stranger) == 1 and not stranger[0].valid
    assert "carries no daam-bench key" in stranger[0].problems[0]


# ----------------------------------------------------------------------------- pull: rating
def test_rating_excludes_the_rater_who_failed_the_attention_check(bench, pulled):
    assert pulled["rating"].excluded_raters == (email("careless"),)
    careless = bench.store.get_rater(email("careless"))
    assert careless.excluded and "attention check" in careless.exclusion_reason
    assert "'.'" in careless.exclusion_reason and "'good'" in careless.exclusion_reason
    for name in ("rater1", "rater2", "rater3"):
        assert not bench.store.get_rater(email(name)).excluded
    # the careless rater's annotations stay stored, just out of the scores
    assert len(bench.store.annotations("rating", rater_id=careless.id)) == 2


def test_rating_scores_are_medians_and_too_abstract_drops_the_item(bench, pulled):
    items = {i.word: i for i in rating_results(bench.store, "pos-run")}
    assert set(items) == {"running", "blue", "cat"}  # the attention check is no item
    assert items["running"].score == 4.0 and items["running"].pos == "VERB"  # the careless 'bad' is out
    assert items["running"].raters == tuple(email(n) for n in ("rater1", "rater2", "rater3"))
    assert items["blue"].score is None and "too abstract" in items["blue"].dropped
    assert items["cat"].score == 4.5  # 'image too poor' carries no rating


def test_presence_labels_break_ties_by_submission_order(bench, pulled):
    results = {r.prompt_nouns: r for r in presence_results(bench.store, "coh-run")}
    assert results[("giraffe", "zebra")].label == ("giraffe", "zebra")
    assert results[("giraffe", "zebra")].correct
    assert results[("cake", "bus")].label == ("bus", "truck") and not results[("cake", "bus")].correct
    assert results[("cat", "dog")].label == ("horse", "cat") and not results[("cat", "dog")].correct


# ----------------------------------------------------------------------------- agreement, status
def test_agreement_measures(bench, pulled, annotated):
    # ratings (raters 1-3, attention check and flags left out): running 4,3,5; blue 2,-,4; cat 5,-,4
    matrix = np.array([[4, 2, 5], [3, np.nan, np.nan], [5, 4, 4]], dtype=float)
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal", value_domain=[1, 2, 3, 4, 5])
    rating = rating_agreement(bench.store, "pos-run")
    assert rating.value == pytest.approx(expected) and rating.n_units == 3
    presence = presence_agreement(bench.store, "coh-run", bench.workspace)
    assert presence.n_units == 3 * 42 and -1 <= presence.value <= 1
    ious = []
    groups: dict = {}
    for (prompt, noun, _), mask in annotated.masks.items():
        groups.setdefault((prompt, noun), []).append(mask)
    for masks in groups.values():
        for i in range(len(masks)):
            for j in range(i + 1, len(masks)):
                union = (masks[i] | masks[j]).sum()
                if union:
                    ious.append((masks[i] & masks[j]).sum() / union)
    masks = mask_agreement(bench.store, "seg-run")
    assert masks.n_units == len(ious) and masks.value == pytest.approx(np.mean(ious))


def test_status_shows_done_over_needed(bench, pulled):
    rows = {r.study: r for r in all_status(bench.store, bench.workspace)}
    assert (rows["segmentation"].done, rows["segmentation"].needed) == (7, 9)
    assert (rows["rating"].done, rows["rating"].needed) == (12, 12)
    assert (rows["presence"].done, rows["presence"].needed) == (9, 9)
    assert rows["segmentation"].invalid == 2
    assert rows["rating"].excluded_raters == (email("careless"),)
    assert "7 / 9" in rows["segmentation"].line()


def test_a_normal_push_and_pull_log_no_errors(ls_server, pulled):
    errors = [line for line in ls_server.log_path.read_text().splitlines() if "[ERROR]" in line]
    assert errors == []  # e.g. no 404 "Invalid page" tracebacks from asking past the last page


# ----------------------------------------------------------------------------- again, edits, errors
def test_pulling_again_stores_nothing_twice(bench, client, pulled):
    counts = (len(bench.store.annotations()), len(bench.store.masks()), len(bench.store.raters()))
    again = {r.study: r for r in pull(bench.store, client, bench.workspace)}
    for study, report in again.items():
        assert (report.new, report.edited, report.masks) == (0, 0, 0), study
        assert report.unchanged == pulled[study].annotations
    assert (len(bench.store.annotations()), len(bench.store.masks()), len(bench.store.raters())) == counts


def test_an_edited_annotation_becomes_a_new_version(bench, client, pushed, pulled, users):
    generation = bench.generations["seg-1"]
    task = tasks_of(client, pushed["segmentation"].project_id)[f"segmentation/seg-run/{generation.id}"]
    ours = [a for a in client.annotations.list(id=task) if a.completed_by == users["rater1"]]
    fixed = random_mask(99, S, S)
    client.annotations.update(id=ours[0].id, result=[brush(fixed, "car")])
    report = pull(bench.store, client, bench.workspace, study="segmentation", run="seg-run")[0]
    assert (report.new, report.edited, report.unchanged, report.masks) == (0, 1, 9, 1)
    rater = bench.store.get_rater(email("rater1"))
    versions = [
        a for a in bench.store.annotations("segmentation", rater_id=rater.id) if a.generation_id == generation.id
    ]
    assert [a.version for a in versions] == [1, 2]
    assert versions[0].external_id == versions[1].external_id
    masks = bench.store.masks(generation.id, word="car", rater_id=rater.id)
    assert [m.version for m in masks] == [1, 2]
    assert np.array_equal(db.decode_mask(masks[1]), fixed)
    latest = bench.store.masks(generation.id, word="car", rater_id=rater.id, latest_only=True)
    assert [m.version for m in latest] == [2]


def test_a_wrong_token_is_refused_without_showing_it(bench, ls_server):
    wrong = "not-the-token-0123456789abcdef"
    from annotation.redact import register_secret

    register_secret(wrong)
    with pytest.raises(LabelStudioError) as caught:
        pull(bench.store, Connection(ls_server.url, wrong).client(), bench.workspace)
    assert "HTTP 401" in str(caught.value) and "check the API token" in str(caught.value)
    assert wrong not in str(caught.value) and ls_server.token not in str(caught.value)


def test_the_server_log_never_shows_the_token(ls_server, pulled):
    log = ls_server.log_path.read_text()
    assert "GET /api/" in log  # it does log requests
    assert ls_server.token not in log and ls_server.credentials.password not in log
