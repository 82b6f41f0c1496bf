"""Run loader jobs in worker processes (binning and generating are CPU-bound numpy)."""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from asa_live.progress import progress_bar

__all__ = ["map_jobs"]

T = TypeVar("T")


def map_jobs(
    fn: Callable[[Any], T], jobs: list[Any], workers: int, desc: str | None = None
) -> list[T]:
    """``[fn(job) for job in jobs]``, in ``workers`` processes when that is worth it.

    ``desc``: show a progress bar (with an ETA) under this name: generating, reading and
    binning a dataset are the long silent phases of a first run (cached afterwards).
    """
    bar = progress_bar(total=len(jobs), desc=desc, unit="file", disable=desc is None)
    try:
        if workers <= 1 or len(jobs) <= 1:
            out = []
            for job in jobs:
                out.append(fn(job))
                bar.update(1)
            return out
        # forkserver / spawn, not fork: forking a process that already runs torch threads can
        # deadlock.
        ctx = mp.get_context("spawn" if sys.platform != "linux" else "forkserver")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            out = []
            for result in pool.map(fn, jobs, chunksize=1):
                out.append(result)
                bar.update(1)
            return out
    finally:
        bar.close()
