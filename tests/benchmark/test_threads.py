"""CPU threads: the idle cores by default, what the user says otherwise."""

import pytest
import torch

from benchmark.threads import busy_cores, configure_threads, idle_threads


def test_idle_threads_leave_busy_cores_alone():
    assert idle_threads(2, 0.05) == 2
    assert idle_threads(2, 1.1) == 1  # a training job on one core
    assert idle_threads(2, 7.0) == 1  # never below one
    assert idle_threads(16, 3.4) == 13


def test_configure_threads(monkeypatch):
    before = torch.get_num_threads()
    try:
        assert configure_threads(1) == (1, None) and torch.get_num_threads() == 1
        with pytest.raises(ValueError, match="at least 1"):
            configure_threads(0)
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert configure_threads(None)[1] is None  # the user's environment decides
        monkeypatch.delenv("OMP_NUM_THREADS")
        monkeypatch.setattr("benchmark.threads.available_cores", lambda: 4)
        monkeypatch.setattr("benchmark.threads.busy_cores", lambda: 2.0)
        n, note = configure_threads(None)
        assert n == 2 == torch.get_num_threads() and "2 of 4 cores are busy" in note
    finally:
        torch.set_num_threads(before)


def test_busy_cores_do_not_count_this_process():
    import os

    busy = busy_cores(0.2)
    if busy is None:
        pytest.skip("no /proc/stat here")
    assert 0.0 <= busy <= len(os.sched_getaffinity(0)) + 0.5  # this process sleeps while it samples
