"""Worker ids for generation claims: unique per process, and checkable for liveness.

A worker id is ``<host>:<pid>:<start>[:<tag>]``: the host name (with the pid namespace), the
process id, the process's start time (clock ticks since boot on Linux, so a reused pid gets
another id) and an optional tag such as the shard ("0/2"). Two ``bench run`` processes on one workspace therefore
never share an id, and a process can tell that a worker on its own host is gone: its pid no
longer runs, or runs a process started at another time. Claims of such a worker can be freed at
once; claims of a worker on another host only when its lease expires (``Store.renew_claims``).
"""

from __future__ import annotations

import os
import socket
import time
from functools import cache

CLAIM_LEASE_S = 300.0  # a claim not renewed for this long is freed for other workers
_FALLBACK_START = f"t{time.time_ns() // 1_000_000}"  # where /proc is missing: this import's time


@cache
def _host() -> str:
    """The host name, plus the pid namespace where there is one: containers on one machine can
    share a host name, but a pid means something only inside its own namespace."""
    host = socket.gethostname().replace(":", "_") or "localhost"  # ':' separates the fields
    try:
        namespace = os.readlink("/proc/self/ns/pid")  # e.g. "pid:[4026531836]"
    except OSError:
        return host
    return f"{host}+{namespace.rpartition('[')[2].rstrip(']')}"


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of ``pid`` from /proc; None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # field 2 (comm) may hold spaces and ')': the fields after the last ')' are fixed
    fields = stat.rsplit(b")", 1)[-1].split()
    return (fields[0].decode(), fields[19].decode()) if len(fields) >= 20 else None  # fields 3 and 22


def process_start(pid: int) -> str | None:
    """A token for when ``pid`` started (None when no such process or it cannot be told)."""
    stat = _stat(pid)
    return stat[1] if stat else None


@cache
def _own_start(pid: int) -> str:
    return process_start(pid) or _FALLBACK_START


def worker_id(tag: str | None = None) -> str:
    """This process's worker id, e.g. ``node1:4242:918273`` or ``node1:4242:918273:0/2``."""
    if tag is not None and (":" in tag or not tag.strip()):
        raise ValueError(f"worker tag must be non-empty and hold no ':', got {tag!r}")
    pid = os.getpid()
    base = f"{_host()}:{pid}:{_own_start(pid)}"
    return base if tag is None else f"{base}:{tag}"


def parse_worker(worker: str) -> tuple[str, int, str] | None:
    """(host, pid, start) of an id made by ``worker_id``; None for other names."""
    parts = worker.split(":", 3)
    if len(parts) < 3 or not parts[1].isdigit() or not parts[2]:
        return None
    return parts[0], int(parts[1]), parts[2]


def worker_gone(worker: str) -> bool:
    """True only when ``worker`` provably no longer runs: an id of this host whose process has
    exited (or whose pid now belongs to a later process). Unknown means alive."""
    parsed = parse_worker(worker)
    if parsed is None or parsed[0] != _host():
        return False
    _, pid, start = parsed
    if start.startswith("t"):  # no /proc where it was made: only a missing pid is proof
        return not _pid_exists(pid)
    stat = _stat(pid)
    if stat is None:  # exited, or hidden from us (hidepid): only a missing pid is proof
        return not _pid_exists(pid)
    state, now = stat
    return state in ("Z", "X") or now != start  # a zombie has exited; another start is a reused pid


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, under another user
        return True
    return True
