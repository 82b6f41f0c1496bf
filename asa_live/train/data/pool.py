"""Run loader jobs in worker processes (binning and generating are CPU-bound numpy)."""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

__all__ = ["map_jobs"]

T = TypeVar("T")


def map_jobs(fn: Callable[[Any], T], jobs: list[Any], workers: int) -> list[T]:
    """``[fn(job) for job in jobs]``, in ``workers`` processes when that is worth it."""
    if workers <= 1 or len(jobs) <= 1:
        return [fn(job) for job in jobs]
    # forkserver / spawn, not fork: forking a process that already runs torch threads can
    # deadlock.
    ctx = mp.get_context("spawn" if sys.platform != "linux" else "forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return list(pool.map(fn, jobs, chunksize=1))
