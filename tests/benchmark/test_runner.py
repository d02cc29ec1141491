"""`bench run` end to end on a tiny real pipeline: storage, resume after a kill, errors."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import daam
import db
from benchmark.cli import main
from benchmark.runner import RunConfig, run

PROMPTS = [f"a dog and a cat number {i}" if i % 2 else f"a red car, {i} apples" for i in range(10)]


@pytest.fixture
def prompts_file(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("# my prompts\n" + "\n".join(PROMPTS) + "\n")
    return path


def _config(tmp_path, sd_path, prompts_file, **kw):
    base = dict(
        split="prompts",
        model=str(sd_path),
        prompts_file=prompts_file,
        steps=2,
        height=64,
        width=64,
        workspace=tmp_path / "ws",
        batch_size=3,
        progress=False,
        score=False,
    )
    return RunConfig(**{**base, **kw})


def test_run_stores_images_maps_and_rows(tmp_path, sd_path, prompts_file, sd_pipe):
    summary = run(_config(tmp_path, sd_path, prompts_file, limit=4), pipe=sd_pipe)
    assert (summary.prompts, summary.done, summary.failed, summary.pending) == (4, 4, 0, 0)
    ws = tmp_path / "ws"
    store = db.connect(None, workspace=ws)
    run_rec = store.get_run(summary.run)
    gens = store.generations(run_rec.id)
    assert len(gens) == 4 and all(g.status == "done" for g in gens)
    for g in gens:
        assert (ws / g.image_path).exists() and g.height == g.width == 64
        maps = store.word_maps(g.id)
        assert maps, "every prompt has words to map"
        gm = daam.load(ws / maps[0].path)
        assert gm.prompt == store.get_prompt(g.prompt_id).text
        assert gm.word_map(maps[0].word, maps[0].occurrence).soft.shape == (64, 64)
    # same command again: nothing new
    again = run(_config(tmp_path, sd_path, prompts_file, limit=4), pipe=sd_pipe)
    assert again.generated_now == 0 and again.done == 4
    store.close()


def test_batches_do_not_change_images(tmp_path, sd_path, prompts_file, sd_pipe):
    a = run(_config(tmp_path, sd_path, prompts_file, limit=3, batch_size=3, workspace=tmp_path / "a"), pipe=sd_pipe)
    b = run(_config(tmp_path, sd_path, prompts_file, limit=3, batch_size=1, workspace=tmp_path / "b"), pipe=sd_pipe)
    sa, sb = db.connect(None, workspace=tmp_path / "a"), db.connect(None, workspace=tmp_path / "b")
    ha = sorted(g.seed for g in sa.generations(sa.get_run(a.run).id))
    hb = sorted(g.seed for g in sb.generations(sb.get_run(b.run).id))
    assert ha == hb  # seeds depend on the prompt, not the batch
    sa.close(), sb.close()


def _done(db_file: Path) -> int:
    try:
        with sqlite3.connect(db_file, timeout=5) as con:
            return con.execute("select count(*) from generations where status='done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_resume_after_kill(tmp_path, sd_path, prompts_file):
    ws = tmp_path / "ws"
    cmd = [
        sys.executable,
        "-m",
        "benchmark.cli",
        "run",
        "--split",
        "prompts",
        "--prompts",
        str(prompts_file),
        "--model",
        str(sd_path),
        "--steps",
        "2",
        "--height",
        "64",
        "--width",
        "64",
        "--batch-size",
        "1",
        "--workspace",
        str(ws),
        "--no-score",
        "--json",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while _done(ws / "bench.sqlite") < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)  # no chance to clean up
    proc.wait()
    killed_at = _done(ws / "bench.sqlite")
    assert 3 <= killed_at < len(PROMPTS)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout)
    assert summary["done"] == len(PROMPTS) and summary["generations"] == len(PROMPTS)
    assert summary["generated_now"] == len(PROMPTS) - killed_at  # only what was not done is redone
    with sqlite3.connect(ws / "bench.sqlite") as con:
        assert con.execute("select count(*) from prompts").fetchone()[0] == len(PROMPTS)
        assert con.execute("select count(*) from generations").fetchone()[0] == len(PROMPTS)
        dup = con.execute(
            "select count(*) from (select generation_id, word, occurrence, method, count(*) c "
            "from word_maps group by 1,2,3,4 having c > 1)"
        ).fetchone()[0]
        assert dup == 0
    images = list((ws / "images").rglob("*"))
    assert len([p for p in images if p.suffix == ".png"]) == len(PROMPTS)
    assert not [p for p in (ws).rglob("*.tmp")], "no half-written files under final names or left over"
    assert len(list((ws / "maps").rglob("*.safetensors"))) == len(PROMPTS)


def test_unknown_split_and_model_are_one_line_errors(tmp_path, capsys):
    assert main(["run", "--split", "coco-gne", "--workspace", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "coco-gen" in err and err.count("\n") == 1
    assert main(["run", "--split", "shapes", "--model", str(tmp_path / "nope"), "--workspace", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and err.count("\n") == 1


def test_shard_argument_is_checked(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--shard", "3/2"])
    assert "--shard" in capsys.readouterr().err


def test_distributed_launch_splits_the_work(tmp_path, sd_path, prompts_file):
    """Under `accelerate launch` / torchrun each process takes its own share; none twice."""
    ws = tmp_path / "ws"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "-m",
        "benchmark.cli",
        "run",
        "--split",
        "prompts",
        "--prompts",
        str(prompts_file),
        "--limit",
        "4",
        "--model",
        str(sd_path),
        "--steps",
        "2",
        "--height",
        "64",
        "--width",
        "64",
        "--workspace",
        str(ws),
        "--no-score",
        "--json",
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    made = [int(line.split(":")[1].strip(" ,")) for line in out.stdout.splitlines() if '"generated_now"' in line]
    assert len(made) == 2 and sum(made) == 4  # shards are by row id: sizes may differ, never overlap
    with sqlite3.connect(ws / "bench.sqlite") as con:
        rows = con.execute("select status, claimed_by from generations").fetchall()
    assert len(rows) == 4 and all(s == "done" for s, _ in rows)
    assert len({c.rsplit(":", 1)[1] for _, c in rows}) == sum(n > 0 for n in made)  # one worker per shard


def test_run_with_baseline_methods(tmp_path, sd_path, prompts_file, sd_pipe):
    summary = run(
        _config(tmp_path, sd_path, prompts_file, limit=2, methods=("centre-disc", "whole-image")), pipe=sd_pipe
    )
    store = db.connect(None, workspace=tmp_path / "ws")
    for g in store.generations(store.get_run(summary.run).id):
        methods = {r.method for r in store.word_maps(g.id)}
        assert {"daam", "centre-disc", "whole-image"} <= methods
    store.close()


def test_a_generation_method_with_vocabulary_traces_the_batch_words(tmp_path, sd_path, prompts_file, sd_pipe):
    """`daam-vocabulary` generates through daam.trace with the batch's words as its vocabulary
    (Baseline.trace_options), and its stored maps resolve each word from its own encoding."""
    from baselines.runner import run_baseline

    summary = run(_config(tmp_path, sd_path, prompts_file, limit=2, generation_method="daam-vocabulary"), pipe=sd_pipe)
    assert summary.done == 2 and summary.failed == 0
    store = db.connect(None, workspace=tmp_path / "ws")
    run_rec = store.get_run(summary.run)
    for g in store.generations(run_rec.id):
        rows = store.word_maps(g.id)
        assert rows and {r.method for r in rows} == {"daam-vocabulary"}
        gm = daam.load(tmp_path / "ws" / rows[0].path)
        assert set(store.get_prompt(g.prompt_id).words) <= {e.lower() for e in gm.vocabulary}
    done = run_baseline(store, tmp_path / "ws", summary.run, "daam-vocabulary", progress=False)
    assert done.computed == 2
