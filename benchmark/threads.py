"""How many CPU threads torch should use when nobody said.

PyTorch starts one OpenMP thread per core, and its threads spin while they wait for each other.
When another process already keeps a core busy (a training job in the background, say), every
parallel region waits for a descheduled thread: measured here, the toy model's 35-step batch of
16 took 140 s with 2 threads on 2 cores with one core busy, against 11 s with 1 thread (and 7 s
with 2 threads on an idle machine). So the CLI takes the idle cores only, judged from the load
average, unless the user set a number (``--threads``, ``OMP_NUM_THREADS``).
"""
from __future__ import annotations

import os


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def idle_threads(cores: int | None = None, load: float | None = None) -> int:
    """Cores not already kept busy by other processes (1-minute load average), at least 1."""
    cores = available_cores() if cores is None else cores
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
        note = (f"{cores - n} of {cores} cores are busy with other work: using {n} CPU thread(s) "
                "(--threads to choose)")
    return n, note
