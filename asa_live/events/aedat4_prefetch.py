"""Run an iterator in a reader thread, a few items ahead of its consumer.

Worth it only when the producer spends its time outside the GIL (file reads, LZ4
decompression, numpy copies): then producing and consuming overlap on two cores. Items,
the producer's exception and its end arrive in order; closing the consumer's iterator (or
dropping it) stops the producer and joins its thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

__all__ = ["prefetch"]

T = TypeVar("T")
_ITEM, _ERROR, _END = range(3)


def prefetch(make: Callable[[], Iterator[T]], depth: int = 4) -> Iterator[T]:
    """Yield what ``make()`` yields, produced in a daemon thread at most ``depth`` items
    ahead. An exception raised by the producer is raised here, after the items before it."""
    if depth < 1:
        raise ValueError(f"prefetch depth must be >= 1, got {depth}")
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        source = make()
        try:
            for item in source:
                items.put((_ITEM, item))
                if stop.is_set():
                    return
            items.put((_END, None))
        except BaseException as err:  # handed to the consumer, who raises it
            items.put((_ERROR, err))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="asa-live-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == _ITEM:
                yield value
            elif kind == _ERROR:
                raise value
            else:
                return
    finally:
        stop.set()
        _drain_until_done(items, thread)


def _drain_until_done(items: queue.Queue, thread: threading.Thread) -> None:
    """Unblock a producer waiting on a full queue until it has seen ``stop`` and ended."""
    while thread.is_alive():
        with contextlib.suppress(queue.Empty):
            items.get(timeout=0.05)
    thread.join()
