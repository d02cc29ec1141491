"""Worker ids and claim leases: two processes never share a generation; a killed worker's claims
come back (at once on its own host, after the lease elsewhere); a live worker's never do."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import db
from db.workers import parse_worker, worker_gone

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}

# claims batches of 3 until none are left; prints the worker id and the claimed ids
CLAIM_ALL = """
import json, sys, db
with db.connect(sys.argv[1]) as store:
    worker = db.worker_id("0/1")
    got = []
    while batch := store.claim_generations(int(sys.argv[2]), worker, 3):
        got.extend(g.id for g in batch)
print(json.dumps({"worker": worker, "ids": got}))
"""

# claims 2 rows, says so, then waits to be killed
CLAIM_AND_HANG = """
import json, sys, time, db
store = db.connect(sys.argv[1])
worker = db.worker_id()
ids = [g.id for g in store.claim_generations(int(sys.argv[2]), worker, 2)]
print(json.dumps({"worker": worker, "ids": ids}), flush=True)
time.sleep(600)
"""


def _plan(store: db.Store, seeded, images: int) -> list[db.Generation]:
    specs = [db.GenerationSpec(p.id, i, seed=i) for p in seeded.prompts for i in range(images)]
    return store.plan_generations(seeded.run.id, specs)


def _python(code: str, *args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        env=ENV,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _status(store: db.Store, run_id: int, ids: list[int]) -> list[str]:
    return [store.get_generation(i).status for i in ids]


@pytest.fixture
def hanging_worker(sqlite_store: db.Store, db_path: Path, request):
    """A second process holding two claims; killed (and reaped) at the end of the test."""
    procs: list[subprocess.Popen] = []

    def start(run_id: int) -> tuple[subprocess.Popen, str, list[int]]:
        proc = _python(CLAIM_AND_HANG, db_path, run_id)
        procs.append(proc)
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        out = json.loads(line)
        return proc, out["worker"], out["ids"]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)


def test_worker_ids_are_unique_per_process_and_name_host_pid_start() -> None:
    mine = db.worker_id()
    assert mine == db.worker_id() and db.worker_id("1/2") == f"{mine}:1/2"
    host, pid, start = parse_worker(mine)
    assert pid == os.getpid() and start and host
    others = [
        subprocess.run(
            [sys.executable, "-c", "import db; print(db.worker_id('0/1'))"],
            env=ENV,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert len({mine, *others}) == 3
    assert not worker_gone(mine)
    assert all(worker_gone(w) for w in others)  # those processes have exited
    assert not worker_gone("some-other-host:1:1") and not worker_gone("host:0/1")  # unknown means alive


def test_two_processes_never_claim_the_same_generation(sqlite_store: db.Store, sqlite_seeded, db_path: Path) -> None:
    planned = _plan(sqlite_store, sqlite_seeded, 40)  # 120 rows
    procs = [_python(CLAIM_ALL, db_path, sqlite_seeded.run.id) for _ in range(2)]
    outs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        outs.append(json.loads(stdout))
    a, b = (set(o["ids"]) for o in outs)
    assert len(a) == len(outs[0]["ids"]) and len(b) == len(outs[1]["ids"])
    assert not a & b and a | b == {g.id for g in planned}
    assert outs[0]["worker"] != outs[1]["worker"]
    holders = {g.id: g.claimed_by for g in sqlite_store.generations(sqlite_seeded.run.id, "claimed")}
    assert all(holders[i] == outs[0]["worker"] for i in a) and all(holders[i] == outs[1]["worker"] for i in b)


def test_a_live_workers_claims_are_never_released(sqlite_store: db.Store, sqlite_seeded, hanging_worker) -> None:
    _plan(sqlite_store, sqlite_seeded, 2)
    _, _, ids = hanging_worker(sqlite_seeded.run.id)
    assert len(ids) == 2
    # a second worker starting up (the runner's start) frees nothing of a live worker's
    assert sqlite_store.release_expired_claims(sqlite_seeded.run.id) == 0
    mine = sqlite_store.claim_generations(sqlite_seeded.run.id, db.worker_id(), 10)
    assert not {g.id for g in mine} & set(ids)
    assert _status(sqlite_store, sqlite_seeded.run.id, ids) == ["claimed", "claimed"]


def test_a_killed_workers_claims_are_freed_on_its_host(sqlite_store: db.Store, sqlite_seeded, hanging_worker) -> None:
    _plan(sqlite_store, sqlite_seeded, 2)
    proc, worker, ids = hanging_worker(sqlite_seeded.run.id)
    proc.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not worker_gone(worker) and time.monotonic() < deadline:  # a zombie until reaped: gone too
        time.sleep(0.05)
    assert worker_gone(worker)
    proc.wait(30)
    assert worker_gone(worker)
    assert sqlite_store.release_expired_claims(sqlite_seeded.run.id, lease_s=3600) == 2  # long before the lease ends
    assert _status(sqlite_store, sqlite_seeded.run.id, ids) == ["pending", "pending"]


def test_a_remote_workers_claims_are_freed_only_after_the_lease(store: db.Store, seeded) -> None:
    _plan(store, seeded, 1)
    remote = "another-host:4242:99:0/1"  # cannot be checked from here: only the lease tells
    ids = [g.id for g in store.claim_generations(seeded.run.id, remote, 2)]
    assert store.release_expired_claims(seeded.run.id, lease_s=3600) == 0
    assert store.claim_generations(seeded.run.id, "w2", 10, lease_s=3600)  # the third row only
    assert _status(store, seeded.run.id, ids) == ["claimed", "claimed"]
    time.sleep(0.3)
    assert store.release_expired_claims(seeded.run.id, lease_s=0.2) == 3  # w2's are unrenewed too
    assert _status(store, seeded.run.id, ids) == ["pending", "pending"]


def test_claiming_takes_expired_claims_and_renewal_keeps_them(store: db.Store, seeded) -> None:
    _plan(store, seeded, 1)
    first = [g.id for g in store.claim_generations(seeded.run.id, "far:1:1", 2)]
    time.sleep(0.3)
    assert store.renew_claims(seeded.run.id, "far:1:1") == 2
    assert store.claim_generations(seeded.run.id, "w2", 10, lease_s=0.25) != []  # the third, unclaimed row
    assert _status(store, seeded.run.id, first) == ["claimed", "claimed"]  # just renewed
    time.sleep(0.3)
    taken = store.claim_generations(seeded.run.id, "w3", 10, lease_s=0.25)  # both leases lapsed
    assert {g.id for g in taken} >= set(first) and all(g.claimed_by == "w3" for g in taken)


def test_a_store_renews_its_claims_while_open(url: str, seeded, store: db.Store) -> None:
    _plan(store, seeded, 1)
    holder = db.connect(url)
    holder.claim_lease_s = 0.5  # renewed every 0.1 s in the background
    held = {g.id for g in holder.claim_generations(seeded.run.id, "slow-batch", 2)}
    time.sleep(1.0)  # twice the lease: only renewal keeps the rows
    taken = {g.id for g in store.claim_generations(seeded.run.id, "other", 10, lease_s=0.5)}
    assert not taken & held
    holder.close()  # renewal stops with the store
    time.sleep(0.7)
    taken = {g.id for g in store.claim_generations(seeded.run.id, "other", 10, lease_s=0.5)}
    assert held <= taken


def test_lease_arguments_are_checked(store: db.Store, seeded) -> None:
    with pytest.raises(db.InvalidInputError, match="lease_s must be > 0"):
        store.release_expired_claims(seeded.run.id, lease_s=0)
    with pytest.raises(db.InvalidInputError, match="lease_s must be a finite number"):
        store.claim_generations(seeded.run.id, "w", 1, lease_s=float("nan"))
    with pytest.raises(db.NotFoundError):
        store.renew_claims(999, "w")
