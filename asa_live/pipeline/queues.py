"""The worker's two bounded queues: windows waiting for the network, reports waiting for a reader.

Overload policy of :class:`WindowQueue` (when a new window arrives and the queue is full):

* ``"drop"`` (cameras and paced replays): the oldest pending window is discarded and counted
  in ``dropped``; ``on_drop(total)`` is called so that the GUI can show it;
* ``"merge"``: the new window is folded into the newest pending one (event counts summed, the
  span extended), counted in ``merged``; no event is lost, time resolution is;
* ``"block"`` (unpaced file replay, where there is no real time to fall behind): the producer
  waits, so every window is inferred.

The inference thread takes everything that is queued at once (adaptive batching), so the
queue only overflows when even batched inference cannot keep up.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace

from asa_live.errors import ConfigError
from asa_live.pipeline.ingest import PendingWindow
from asa_live.pipeline.report import WindowReport

POLICIES = ("drop", "merge", "block")


class WindowQueue:
    """A bounded FIFO of PendingWindow with the overload ``policy`` (see the module doc)."""

    def __init__(
        self,
        capacity: int,
        policy: str,
        stop: threading.Event,
        on_drop: Callable[[int], None] | None = None,
    ) -> None:
        if policy not in POLICIES:
            raise ConfigError(f"The overload policy '{policy}' is unknown: use one of {POLICIES}.")
        if capacity < 1:
            raise ConfigError(f"The window queue needs room for at least 1 window, got {capacity}.")
        self.capacity = capacity
        self.policy = policy
        self.on_drop = on_drop
        self._items: deque[PendingWindow] = deque()
        self._cond = threading.Condition()
        self._stop = stop
        self._closed = False
        self.dropped = 0
        self.merged = 0
        self._in_hand = False  # a window was taken and its consumer has not called done()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing taken out that is still being worked on."""
        with self._cond:
            return not self._items and not self._in_hand

    def done(self) -> None:
        """The consumer finished with the windows it took."""
        with self._cond:
            self._in_hand = False

    @property
    def exhausted(self) -> bool:
        """Closed and empty: no window will ever come out again (until ``reopen``)."""
        with self._cond:
            return self._closed and not self._items

    def put(self, item: PendingWindow) -> None:
        dropped = 0
        with self._cond:
            if len(self._items) >= self.capacity:
                if self.policy == "block":
                    while len(self._items) >= self.capacity and not self._stop.is_set():
                        self._cond.wait(0.05)
                elif self.policy == "merge" and not item.state_reset:
                    self._merge(item)
                    return
                else:  # drop (a merge cannot cross a reset: drop there too)
                    old = self._items.popleft()
                    if old.state_reset:  # a reset carried by the dropped window must still happen
                        item.state_reset = True
                    self.dropped += old.merged
                    dropped = self.dropped
            self._items.append(item)
            self._cond.notify_all()
        if dropped and self.on_drop is not None:
            self.on_drop(dropped)

    def _merge(self, item: PendingWindow) -> None:
        last = self._items[-1]
        self._items[-1] = replace(
            last,
            t_end_us=item.t_end_us,
            frame=last.frame + item.frame,
            n_events=last.n_events + item.n_events,
            t_known=item.t_known,
            merged=last.merged + item.merged,
        )
        self.merged += item.merged
        self._cond.notify_all()

    def close(self) -> None:
        """No more windows will come; ``exhausted`` turns True once the queue is empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        """Empty the queue and accept windows again (a restart); the counters keep going."""
        with self._cond:
            self._items.clear()
            self._closed = False
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._items.clear()
            self._cond.notify_all()

    def take_ready(self, max_items: int) -> list[PendingWindow]:
        """Up to ``max_items`` windows that are queued now (never waits; maybe none)."""
        with self._cond:
            n = min(max_items, len(self._items))
            out = [self._items.popleft() for _ in range(n)]
            if out:
                self._in_hand = True
                self._cond.notify_all()
            return out

    def get(self, timeout: float = 0.1) -> PendingWindow | None:
        """The next window, or None if none came within ``timeout`` (see ``exhausted``)."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout)
            if not self._items:
                return None
            item = self._items.popleft()
            self._in_hand = True
            self._cond.notify_all()
            return item


class ResultBuffer:
    """Bounded buffer of reports. ``lossless``: put() waits when full; else the oldest goes."""

    def __init__(self, capacity: int, lossless: bool, stop: threading.Event) -> None:
        self._items: deque[WindowReport] = deque()
        self.capacity = capacity
        self.lossless = lossless
        self._cond = threading.Condition()
        self._stop = stop
        self.discarded = 0
        self.latest: WindowReport | None = None

    def put(self, report: WindowReport) -> None:
        with self._cond:
            while self.lossless and len(self._items) >= self.capacity and not self._stop.is_set():
                self._cond.wait(0.05)
            if len(self._items) >= self.capacity:
                self._items.popleft()
                self.discarded += 1
            self._items.append(report)
            self.latest = report
            self._cond.notify_all()

    def drain(self, max_items: int | None = None) -> list[WindowReport]:
        with self._cond:
            n = len(self._items) if max_items is None else min(max_items, len(self._items))
            out = [self._items.popleft() for _ in range(n)]
            self._cond.notify_all()
            return out

    def wait(self, timeout: float) -> None:
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)

    def notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def until(self, finished: threading.Event) -> Iterator[WindowReport]:
        """Yield every report until ``finished`` is set and the buffer is empty (blocking)."""
        while True:
            batch = self.drain()
            if batch:
                yield from batch
            elif finished.is_set():
                yield from self.drain()  # what came in after the drain above
                return
            else:
                self.wait(0.1)
