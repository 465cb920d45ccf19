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
