"""Failed items: recorded with their reason and attempt, listed in the summary, retried by the
same command up to db.MAX_ATTEMPTS times; a short result list is a failure, not a silent skip."""

import pytest

import benchmark.runner as runner
import db
from benchmark.runner import RunConfig, run
from benchmark.summary import print_summary


@pytest.fixture
def config(tmp_path, sd_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a dog and a cat\na red car\n")
    return RunConfig(
        split="prompts",
        model=str(sd_path),
        prompts_file=prompts,
        steps=2,
        height=64,
        width=64,
        workspace=tmp_path / "ws",
        progress=False,
        score=False,
    )


def test_failed_items_are_retried_up_to_the_bound(config, sd_pipe, monkeypatch, capsys):
    real = runner.call_pipe

    def flaky(pipe, cfg, prompt, seeds):
        if "car" in str(prompt):
            raise RuntimeError("out of memory")
        return real(pipe, cfg, prompt, seeds)

    monkeypatch.setattr(runner, "call_pipe", flaky)
    for attempt in (1, 2, 3):
        with pytest.warns(UserWarning, match="out of memory"):
            s = run(config, pipe=sd_pipe)
        assert (s.done, s.failed, s.generated_now) == (1, 1, 2 if attempt == 1 else 1)
        assert s.failures == [
            {"prompt": "a red car", "image_index": 0, "attempts": attempt, "error": "RuntimeError: out of memory"}
        ]
    s = run(config, pipe=sd_pipe)  # out of attempts: not tried again
    assert (s.failed, s.generated_now) == (1, 0)
    print_summary(s)
    out = capsys.readouterr().out
    assert "1 failed" in out and "a red car" in out and "attempt 3/3" in out and "out of memory" in out
    with db.connect(None, workspace=config.workspace) as store:
        (g,) = store.generations(store.get_run(s.run).id, "failed")
        assert g.error == "attempt 3/3: RuntimeError: out of memory"
        assert store.requeue_failed(g.run_id, max_attempts=4) == 1  # a larger bound frees it
    monkeypatch.setattr(runner, "call_pipe", real)
    s = run(config, pipe=sd_pipe)
    assert (s.done, s.failed, s.failures) == (2, 0, [])


def test_a_short_result_list_fails_the_batch(config, sd_pipe, monkeypatch):
    real = runner.call_pipe
    monkeypatch.setattr(runner, "call_pipe", lambda *a: real(*a)[:1])
    with pytest.warns(UserWarning, match="returned 1 images"):
        s = run(RunConfig(**{**config.__dict__, "batch_size": 2}), pipe=sd_pipe)
    assert (s.done, s.failed) == (0, 2)


def test_the_cli_exits_1_when_items_failed(config, sd_path, monkeypatch, capsys):
    from benchmark.cli import main

    monkeypatch.setattr(runner, "call_pipe", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    argv = ["run", "--split", "prompts", "--prompts", str(config.prompts_file), "--model", str(sd_path)]
    argv += ["--steps", "2", "--height", "64", "--width", "64", "--workspace", str(config.workspace), "--no-score"]
    with pytest.warns(UserWarning, match="boom"):
        assert main(argv) == 1
    assert "2 failed" in capsys.readouterr().out
