"""BLAS/OpenMP thread caps while validation gates run: overlapping jobs keep the cap until the last ends."""

from __future__ import annotations

import threading

import numpy  # noqa: F401 - loads the BLAS whose thread pool is capped
from threadpoolctl import threadpool_info

from app.jobs.gating import limited_threads


def pools() -> list[int]:
    """Threads of every BLAS/OpenMP pool as this thread sees them (OpenMP limits are per thread)."""
    return [pool["num_threads"] for pool in threadpool_info()]


def test_overlapping_gate_runs_keep_the_cap_until_the_last_ends():
    before = pools()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, list[int]] = {}

    def first() -> None:
        with limited_threads(1):
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second() -> None:
        first_in.wait(10)
        with limited_threads(1):
            second_in.set()
            first_out.wait(10)
            seen["after_first_left"] = pools()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen["after_first_left"] and all(n == 1 for n in seen["after_first_left"])
    assert pools() == before


def test_a_long_lived_thread_that_capped_once_does_not_lock_out_later_jobs():
    """Pool threads outlive their jobs: threadpoolctl would keep the first one as the only thread
    allowed to set OpenBLAS, and a later job on another pool thread would run uncapped."""
    before = pools()
    first_done, release_first = threading.Event(), threading.Event()
    seen: dict[str, list[int]] = {}

    def first() -> None:  # a pool thread: runs one job's gates, then idles, still alive
        with limited_threads(1):
            pass
        first_done.set()
        release_first.wait(10)

    def later() -> None:
        first_done.wait(10)
        with limited_threads(1):
            seen["later"] = pools()

    idle = threading.Thread(target=first)
    idle.start()
    try:
        with limited_threads(1):  # the main thread runs gates too (as run_job does in tests)
            pass
        worker = threading.Thread(target=later)
        worker.start()
        worker.join(20)
    finally:
        release_first.set()
        idle.join(20)
    assert seen["later"] and all(n == 1 for n in seen["later"])
    assert pools() == before
