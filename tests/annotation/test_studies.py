"""Task builders on a real workspace (tiny pipeline images and DAAM maps), without a server."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import daam
import db
from annotation.interface import ONTOLOGY_NOUNS, StudyError
from annotation.overlays import render_overlays
from annotation.studies import build_tasks, highlight, local_files_url, rating_target, word_span
from annotation.workspace import WorkspaceError


def test_segmentation_tasks_have_per_task_noun_labels(bench):
    taskset = build_tasks(bench.store, "segmentation", "seg-run", bench.workspace)
    assert taskset.skipped == ()
    assert [t.labels for t in taskset.tasks] == [("dog", "cat"), ("car",), ("giraffe", "zebra")]
    first = taskset.tasks[0]
    generation = bench.generations["seg-0"]
    assert first.key == f"segmentation/seg-run/{generation.id}"
    assert first.data["nouns"] == [{"value": "dog"}, {"value": "cat"}]
    assert first.data["image"] == "/data/local-files/?d=images/seg-run/seg-0.png"
    assert first.data["bench"] == {
        "key": first.key,
        "study": "segmentation",
        "run": "seg-run",
        "generation_id": generation.id,
        "prompt_id": generation.prompt_id,
    }
    assert (first.height, first.width) == (64, 64)


def test_image_urls_are_relative_to_the_document_root(bench, annotation_root):
    taskset = build_tasks(bench.store, "segmentation", "seg-run", bench.workspace, local_files_url(annotation_root))
    assert taskset.tasks[0].data["image"] == "/data/local-files/?d=ws/images/seg-run/seg-0.png"
    with pytest.raises(WorkspaceError, match="outside the Label Studio document root"):
        build_tasks(
            bench.store, "segmentation", "seg-run", bench.workspace, local_files_url(annotation_root / "elsewhere")
        )


def test_rating_tasks_highlight_the_target_and_flag_attention_checks(bench):
    tasks = build_tasks(bench.store, "rating", "pos-run", bench.workspace).tasks
    assert [(t.target, t.attention_check) for t in tasks] == [
        ("running", False),
        ("blue", False),
        ("cat", False),
        (".", True),
    ]
    assert (
        'a dog <span style="font-weight: bold; text-decoration: underline; text-decoration-thickness: 2px">running</span> fast'
        in tasks[0].data["prompt_html"]
    )
    assert (
        tasks[3]
        .data["prompt_html"]
        .endswith(
            'the grass<span style="font-weight: bold; text-decoration: underline; text-decoration-thickness: 2px">.</span></p>'
        )
    )
    overlay = f"/data/local-files/?d=overlays/rating/pos-run/{tasks[0].generation_id}.png"
    assert tasks[0].data["overlay"] == overlay
    # the other studies find no items in this run
    assert build_tasks(bench.store, "presence", "pos-run", bench.workspace).tasks == ()


def test_overlay_is_daams_own_overlay_of_the_target_word(bench):
    tasks = build_tasks(bench.store, "rating", "pos-run", bench.workspace).tasks
    assert render_overlays(tasks, bench.workspace) == {}
    for task in tasks:
        image = np.asarray(Image.open(bench.workspace.file(task.image_path)).convert("RGB"))
        maps = daam.load(bench.workspace.file(task.word_map_path))
        expected = daam.overlay(image, maps.word_map(task.target).soft)
        drawn = np.asarray(Image.open(bench.workspace.file(task.overlay_path)))
        assert np.array_equal(drawn, expected)


def test_presence_tasks_offer_the_ontology(bench):
    taskset = build_tasks(bench.store, "presence", "coh-run", bench.workspace)
    assert taskset.choices == ONTOLOGY_NOUNS
    assert [t.prompt_nouns for t in taskset.tasks] == [("giraffe", "zebra"), ("cake", "bus"), ("cat", "dog")]
    assert all(t.labels == ONTOLOGY_NOUNS for t in taskset.tasks)
    assert "prompt" not in taskset.tasks[0].data  # raters judge the image, not the prompt


def test_word_span_and_highlight_escape_html():
    assert word_span("a dog and a dog.", "dog", 1) == (12, 15)
    assert word_span("a dog and a dog.", ".") == (15, 16)
    with pytest.raises(StudyError, match="not a word"):
        word_span("a dog", "cat")
    assert highlight("<b> & dog", (6, 9)) == (
        '<p style="font-size: 1.3em">&lt;b&gt; &amp; <span style="font-weight: bold; text-decoration: underline; text-decoration-thickness: 2px">dog</span></p>'
    )


def test_unknown_run_and_study_are_clear_errors(bench):
    with pytest.raises(db.NotFoundError, match="unknown run name 'nope'"):
        build_tasks(bench.store, "rating", "nope", bench.workspace)
    with pytest.raises(StudyError, match="unknown study 'likert'"):
        build_tasks(bench.store, "likert", "pos-run", bench.workspace)


def _prompt(provenance: dict, words: tuple[str, ...]) -> db.Prompt:
    return db.Prompt(1, "pos", "v1", "k", "a dog running", provenance, words)


def test_rating_items_come_from_the_pos_split_or_an_explicit_target():
    assert rating_target(_prompt({"pos": "VERB", "occurrence": 0}, ("running",))) == ("running", 0)
    assert rating_target(_prompt({"target": "dog", "target_occurrence": 0}, ())) == ("dog", 0)
    assert rating_target(_prompt({"nouns": ["dog"]}, ("dog",))) is None
    with pytest.raises(StudyError, match="non-empty string"):
        rating_target(_prompt({"target": ""}, ()))
    with pytest.raises(StudyError, match="integer >= 0"):
        rating_target(_prompt({"pos": "VERB", "occurrence": -1}, ("running",)))


def test_only_cohyponym_prompts_are_presence_items_and_only_named_nouns_are_segmented(bench):
    assert [t.labels for t in build_tasks(bench.store, "segmentation", "coh-run", bench.workspace).tasks] == [
        ("giraffe", "zebra"),
        ("cake", "bus"),
        ("cat", "dog"),
    ]
    assert build_tasks(bench.store, "presence", "seg-run", bench.workspace).tasks == ()
    assert build_tasks(bench.store, "segmentation", "pos-run", bench.workspace).tasks == ()
