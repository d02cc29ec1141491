"""A run of a user's own prompts can be pushed for segmentation and presence; a study with
nothing to annotate is refused before Label Studio is called."""

from __future__ import annotations

import pytest

import db
from annotation.interface import StudyError
from annotation.push import push
from annotation.studies import build_tasks
from annotation.workspace import Workspace
from benchmark.runner import RunConfig, run


class _NoCalls:
    """A client that fails the test on any use."""

    def __getattr__(self, name):
        pytest.fail(f"Label Studio was called ({name}) for a study with nothing to annotate")


@pytest.fixture(scope="module")
def prompts_run(tmp_path_factory, sd_path):
    root = tmp_path_factory.mktemp("user-prompts")
    path = root / "mine.txt"
    path.write_text("a dog and a cat\na dog, a cat and a horse\nrunning quickly\n")
    config = RunConfig(
        split="prompts",
        model=str(sd_path),
        prompts_file=path,
        steps=2,
        height=64,
        width=64,
        workspace=root / "ws",
        progress=False,
        score=False,
    )
    summary = run(config)
    return Workspace.at(root / "ws"), summary.run


def test_user_prompts_become_segmentation_and_presence_tasks(prompts_run):
    workspace, name = prompts_run
    with db.connect(None, workspace=workspace.root) as store:
        seg = build_tasks(store, "segmentation", name, workspace)
        assert sorted(t.labels for t in seg.tasks) == [("dog", "cat"), ("dog", "cat", "horse")]
        assert len(seg.skipped) == 1 and "no nouns" in seg.skipped[0]  # "running quickly"
        presence = build_tasks(store, "presence", name, workspace)
        assert [t.prompt_nouns for t in presence.tasks] == [("dog", "cat")]  # a label holds two nouns


def test_a_study_with_nothing_to_annotate_is_refused_before_any_call(prompts_run):
    workspace, name = prompts_run
    with db.connect(None, workspace=workspace.root) as store:
        with pytest.raises(StudyError, match="nothing to annotate for the rating study: none of the 3 finished"):
            push(store, _NoCalls(), "rating", name, workspace)
