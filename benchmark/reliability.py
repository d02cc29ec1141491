"""Kill trials: ``bench run`` survives SIGKILL at any moment, alone and beside a second worker.

    python -m benchmark.reliability --kills 20 --concurrent 5 [--db postgresql+psycopg://...]

1. Reference: one uninterrupted run of a tiny Stable Diffusion pipeline (random weights, 64 px).
2. Kills: one workspace; ``--kills`` times a ``bench run`` subprocess is started and SIGKILLed at a
   random moment (start-up, planning, mid-generation, mid-write), then the same command runs to
   the end. Checked: every planned image done exactly once (row counts, no duplicate word maps),
   no temporary files left, each image byte-identical to the reference's.
3. Concurrent: ``--concurrent`` times, two workers start together on a fresh workspace (or on one
   PostgreSQL database with ``--db``, one run name per trial), one is SIGKILLed at a random
   moment, the other finishes, and the same command once more picks up the dead worker's claims.
   Checked as above, plus: the images each process finished add up to the plan exactly (none
   made twice, none lost).

A benchmark script, not a test: minutes of CPU. The figures go to docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# one image per call: a resume regroups items into other batches, and a batch of another size or
# composition may change an image's low bits (float summation order), which the byte check would flag
BATCH = 1


@dataclass
class Trial:
    kind: str  # "kill" or "concurrent"
    killed_after_s: float
    done_when_killed: int
    ok: bool
    problems: list[str] = field(default_factory=list)


@dataclass
class Report:
    prompts: int
    reference_s: float
    store: str
    trials: list[Trial] = field(default_factory=list)

    def line(self) -> str:
        by = {k: [t for t in self.trials if t.kind == k] for k in ("kill", "concurrent")}
        parts = []
        for kind, ts in by.items():
            if ts:
                mid = sum(0 < t.done_when_killed < self.prompts for t in ts)
                parts.append(f"{kind}: {sum(t.ok for t in ts)}/{len(ts)} ok ({mid} killed mid-run)")
        return f"{self.prompts} images, store {self.store}, reference {self.reference_s:.1f} s; " + "; ".join(parts)


def _command(model: Path, prompts: Path, ws: Path, db_url: str | None, run_name: str) -> list[str]:
    cmd = [sys.executable, "-m", "benchmark.cli", "run", "--split", "prompts", "--prompts", str(prompts)]
    cmd += ["--model", str(model), "--steps", "3", "--height", "64", "--width", "64", "--batch-size", str(BATCH)]
    cmd += ["--workspace", str(ws), "--run-name", run_name, "--no-score", "--json", "--threads", "1"]
    return cmd + (["--db", db_url] if db_url else [])


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


def _store(ws: Path, db_url: str | None):
    import db

    return db.connect(db_url, workspace=ws)


def _done(ws: Path, db_url: str | None, run_name: str) -> int:
    """Finished images so far; SQLite is read directly, so polling never opens (or creates) the store."""
    if db_url is None:
        import sqlite3

        path = ws / "bench.sqlite"
        if not path.exists():
            return 0
        try:
            con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                q = "select count(*) from generations g join runs r on g.run_id = r.id where r.name = ? and g.status = 'done'"
                return con.execute(q, (run_name,)).fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return 0
    try:
        with _store(ws, db_url) as store:
            return len(store.generations(store.get_run(run_name).id, "done"))
    except Exception:  # noqa: BLE001 - not planned yet: nothing done
        return 0


def _kill_at_random(proc, ws: Path, db_url: str | None, run_name: str, target: int, rng) -> float:
    """SIGKILL ``proc`` once ``target`` images are done, up to about one image's time later (so
    mid-generation or mid-write); with ``target`` already reached, at a random moment of its start-up."""
    started = time.time()
    if _done(ws, db_url, run_name) >= target:
        time.sleep(rng.uniform(0.2, 8.0))  # import, split, model load, planning, first claims
    else:
        while _done(ws, db_url, run_name) < target and proc.poll() is None and time.time() - started < 900:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.15))  # about one image: mid-step or mid-write
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return time.time() - started


def _images(ws: Path, db_url: str | None, run_name: str) -> dict[tuple[str, int], str]:
    """(prompt key, image index) -> the sha256 of the image file on disk."""
    with _store(ws, db_url) as store:
        run = store.get_run(run_name)
        out = {}
        for g in store.generations(run.id):
            key = store.get_prompt(g.prompt_id).key
            path = ws / g.image_path if g.image_path else None
            out[(key, g.image_index)] = (
                hashlib.sha256(path.read_bytes()).hexdigest() if path and path.is_file() else g.status
            )
        return out


def _check(ws: Path, db_url: str | None, run_name: str, reference: dict, n: int) -> list[str]:
    problems = []
    with _store(ws, db_url) as store:
        run = store.get_run(run_name)
        gens = store.generations(run.id)
        if len(gens) != n:
            problems.append(f"{len(gens)} generation rows, planned {n}")
        bad = [g.status for g in gens if g.status != "done"]
        if bad:
            problems.append(f"{len(bad)} rows not done: {sorted(set(bad))}")
        seen = set()
        for g in gens:
            for wm in store.word_maps(g.id):
                k = (g.id, wm.method, wm.word, wm.occurrence)
                if k in seen:
                    problems.append(f"duplicate word map {k}")
                seen.add(k)
    images = _images(ws, db_url, run_name)
    if images != reference:
        diff = sum(images.get(k) != v for k, v in reference.items())
        problems.append(f"{diff} images differ from the uninterrupted run")
    pngs = list((ws / "images" / run_name).glob("*.png"))
    if len(pngs) != n:
        problems.append(f"{len(pngs)} image files, planned {n}")
    tmp = list(ws.rglob("*.tmp"))
    if tmp:
        problems.append(f"{len(tmp)} temporary files left")
    return problems


def _finish(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"run failed ({out.returncode}): {out.stderr[-1500:]}")
    return json.loads(out.stdout)


def kill_trials(
    model: Path, prompts: Path, root: Path, kills: int, reference: dict, ref_s: float, rng, n: int
) -> list[Trial]:
    """``kills`` SIGKILLs of one run at random moments, then one run to the end; one check."""
    ws = root / "kills"
    cmd = _command(model, prompts, ws, None, "kills")
    trials = []
    for left in range(kills, 0, -1):
        proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        done = _done(ws, None, "kills")
        target = done + rng.randint(0, max(0, (n - done) // (left + 1)))  # leave work for later kills
        after = _kill_at_random(proc, ws, None, "kills", target, rng)
        trials.append(Trial("kill", round(after, 2), _done(ws, None, "kills"), ok=True))
    _finish(cmd)
    problems = _check(ws, None, "kills", reference, n)
    for t in trials:  # one workspace: the check after the last resume covers every kill
        t.ok, t.problems = not problems, problems
    return trials


def concurrent_trial(
    model: Path, prompts: Path, root: Path, k: int, reference: dict, ref_s: float, rng, n: int, db_url
) -> Trial:
    ws, name = root / f"concurrent-{k}", f"concurrent-{k}"
    cmd = _command(model, prompts, ws, db_url, name)
    a = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    b = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    delay = _kill_at_random(a, ws, db_url, name, rng.randint(0, n // 2), rng)
    done_at_kill = _done(ws, db_url, name)
    out, err = b.communicate(timeout=1800)
    problems = []
    made_b = json.loads(out)["generated_now"] if b.returncode == 0 else 0
    if b.returncode != 0:
        problems.append(f"surviving worker exited {b.returncode}: {err[-500:]}")
    made_c = _finish(cmd)["generated_now"]  # picks up the dead worker's claims
    with _store(ws, db_url) as store:
        gens = store.generations(store.get_run(name).id, "done")
        made_a = sum(f":{a.pid}:" in (g.claimed_by or "") for g in gens)
    if made_a + made_b + made_c != n:
        problems.append(f"images finished by the workers: {made_a} + {made_b} + {made_c}, planned {n}")
    problems += _check(ws, db_url, name, reference, n)
    return Trial("concurrent", round(delay, 2), done_at_kill, not problems, problems)


def trials(kills: int, concurrent: int, n_prompts: int, seed: int, db_url: str | None, root: Path) -> Report:
    from benchmark.tiny import build_sd
    from benchmark.toy.tokenizer import build_clip_tokenizer

    rng = random.Random(seed)
    build_clip_tokenizer(root / "tokenizer")
    model = build_sd(root / "tiny-sd", root / "tokenizer")
    prompts = root / "prompts.txt"
    animals = ["dog", "cat", "horse", "bird", "cow", "sheep", "bear", "zebra"]
    prompts.write_text(
        "\n".join(f"a {animals[i % 8]} next to a {animals[(i * 3 + 1) % 8]} {i}" for i in range(n_prompts))
    )
    started = time.time()
    _finish(_command(model, prompts, root / "reference", None, "reference"))
    ref_s = time.time() - started
    reference = _images(root / "reference", None, "reference")
    report = Report(n_prompts, round(ref_s, 1), "postgresql" if db_url else "sqlite")
    if kills:
        report.trials += kill_trials(model, prompts, root, kills, reference, ref_s, rng, n_prompts)
    for k in range(concurrent):
        report.trials.append(concurrent_trial(model, prompts, root, k, reference, ref_s, rng, n_prompts, db_url))
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=20, help="SIGKILLs of one run before it finishes (default 20)")
    p.add_argument("--concurrent", type=int, default=5, help="two-worker trials, one worker killed (default 5)")
    p.add_argument("--prompts", type=int, default=24, help="images per run (default 24)")
    p.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    p.add_argument("--db", default=None, help="run the two-worker trials on this PostgreSQL URL")
    p.add_argument("--keep", type=Path, default=None, help="keep the workspaces in this folder")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.db:
        import db

        try:
            db.connect(args.db).close()
        except db.StoreError as e:
            print(f"reliability: error: {e}", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="bench-reliability-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        report = trials(args.kills, args.concurrent, args.prompts, args.seed, args.db, root)
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print(report.line())
        for t in report.trials:
            if not t.ok:
                print(f"  {t.kind} killed after {t.killed_after_s} s: {'; '.join(t.problems)}")
    return 0 if all(t.ok for t in report.trials) else 1


if __name__ == "__main__":
    sys.exit(main())
