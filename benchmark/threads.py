"""How many CPU threads torch should use when nobody said.

PyTorch starts one OpenMP thread per core, and its threads spin while they wait for each other.
When another process already keeps a core busy (a training job in the background, say), every
parallel region waits for a descheduled thread: measured here, the toy model's 35-step batch of
16 took 140 s with 2 threads on 2 cores with one core busy, against 11 s with 1 thread (and 7 s
with 2 threads on an idle machine). So the CLI takes the idle cores only, measured from
/proc/stat while it sleeps (a load average would count the process itself, e.g. a test suite),
unless the user set a number (``--threads``, ``OMP_NUM_THREADS``).
"""

from __future__ import annotations

import os


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _cpu_times() -> tuple[float, float, int] | None:
    """(busy, total) jiffies over all CPUs and the number of CPUs, from /proc/stat (Linux)."""
    try:
        with open("/proc/stat") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    fields = [float(x) for x in lines[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    n = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
    return sum(fields) - idle, sum(fields), max(n, 1)


def busy_cores(interval: float = 0.3) -> float | None:
    """How many cores other processes keep busy right now: /proc/stat sampled over ``interval``
    while this process sleeps (so it does not count itself, as a load average would); None where
    /proc/stat is missing."""
    import time

    a = _cpu_times()
    if a is None:
        return None
    time.sleep(interval)
    b = _cpu_times()
    if b is None or b[1] <= a[1]:
        return None
    return (b[0] - a[0]) / (b[1] - a[1]) * b[2]


def idle_threads(cores: int | None = None, load: float | None = None) -> int:
    """Cores not already kept busy by other processes, at least 1.

    ``load``: busy cores (default: measured by ``busy_cores``, else the 1-minute load average).
    """
    cores = available_cores() if cores is None else cores
    if load is None:
        load = busy_cores()
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            return cores
    return max(1, min(cores, cores - int(round(load))))


def configure_threads(requested: int | None) -> tuple[int, str | None]:
    """Set torch's CPU threads: ``requested``, else OMP_NUM_THREADS, else the idle cores.

    Returns the number set and a note when fewer threads than cores were chosen for the user.
    """
    import torch

    if requested is not None:
        if requested < 1:
            raise ValueError(f"--threads must be at least 1, got {requested}")
        torch.set_num_threads(requested)
        return requested, None
    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads(), None
    cores = available_cores()
    n = idle_threads(cores)
    torch.set_num_threads(n)
    note = None
    if n < cores:
        note = f"{cores - n} of {cores} cores are busy with other work: using {n} CPU thread(s) (--threads to choose)"
    return n, note
