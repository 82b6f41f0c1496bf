"""Replay pacing: release a recording's events at the rate the source clock dictates.

The one pacer of asa-live (event sources are plain unpaced readers). A packet is cut into
slices of at most ``slice_wall_s`` of wall time (``slice_wall_s * speed`` of source time) and
each slice is released once the wall clock has reached the source time of its last event, so
events are never delivered before they "happened". When the consumer has fallen behind,
everything already due leaves in one slice, so the windows it closes can be inferred in one
batched call (adaptive batching) instead of one by one, late.

The speed can change at run time and the pacer can be paused; both re-anchor the source clock
to the wall clock so that no burst follows. A jump backwards in source time (a looping replay
starting over) also re-anchors. ``clock`` and ``wait`` are injectable, so timing tests are
deterministic and need no sleeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from asa_live.errors import ConfigError

MIN_SPEED = 0.1
MAX_SPEED = 100.0


class Pacer:
    """Paces event packets to ``speed`` x real time (None: as fast as possible).

    Args:
        speed: replay speed factor in [0.1, 100], or None for no pacing.
        stop: an Event that, once set, makes every wait return at once (cooperative cancel).
        slice_wall_s: the longest wall-clock span released at once when on time, in seconds.
        clock: seconds, monotonic (default ``time.perf_counter``).
        wait: ``wait(seconds) -> bool`` sleeps and returns True when cancelled (default:
            ``stop.wait``).
    """

    def __init__(
        self,
        speed: float | None = 1.0,
        stop: threading.Event | None = None,
        slice_wall_s: float = 0.002,
        clock: Callable[[], float] = time.perf_counter,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self._stop = stop or threading.Event()
        self.slice_wall_s = slice_wall_s
        self.clock = clock
        self._wait = wait or self._stop.wait
        self._anchor: tuple[int, float] | None = None  # (source t_us, wall clock s)
        self._last_t_us: int | None = None
        self.speed = check_speed(speed)

    @property
    def paced(self) -> bool:
        return self.speed is not None

    def set_speed(self, speed: float | None) -> None:
        """Change the speed; the current position keeps its wall time (no jump)."""
        self.speed = check_speed(speed)
        self._anchor = None

    def reanchor(self) -> None:
        """Forget the clock mapping (after a pause or a restart)."""
        self._anchor = None

    def wall_time_of(self, t_us: int) -> float | None:
        """The clock time at which source time ``t_us`` is due (None when unpaced)."""
        anchor, speed = self._anchor, self.speed
        if speed is None or anchor is None:
            return None
        return anchor[1] + (t_us - anchor[0]) / (1e6 * speed)

    def _due_now_us(self, speed: float) -> float:
        """The source time that is due at this moment."""
        src0, wall0 = self._anchor
        return src0 + (self.clock() - wall0) * 1e6 * speed

    def pace(self, packet: np.ndarray) -> Iterator[np.ndarray]:
        """Yield ``packet`` (EVENT_DTYPE, time-sorted) in slices, each when it is due."""
        if len(packet) == 0:
            return
        speed = self.speed
        if speed is None:
            yield packet
            return
        t = packet["t"]
        if self._last_t_us is not None and int(t[0]) < self._last_t_us:
            self._anchor = None  # the source started over
        self._last_t_us = int(t[-1])
        slice_us = max(1, int(self.slice_wall_s * 1e6 * speed))
        start = 0
        while start < len(packet):
            if self._anchor is None:
                self._anchor = (int(t[start]), self.clock())
            # On time: one slice. Behind: all that is already due, in one go.
            end_us = max(int(t[start]) + slice_us, self._due_now_us(speed))
            stop = max(int(np.searchsorted(t, end_us, side="left")), start + 1)
            due = self.wall_time_of(int(t[stop - 1]))
            if due is not None:
                delay = due - self.clock()
                if delay > 0 and self._wait(delay):
                    return
            if self._stop.is_set():
                return
            yield packet[start:stop]
            start = stop


def check_speed(speed: float | None) -> float | None:
    """Validate a replay speed factor (None = as fast as possible); ConfigError otherwise."""
    if speed is None:
        return None
    try:
        speed = float(speed)
    except (TypeError, ValueError):
        raise ConfigError(f"The replay speed must be a number, got {speed!r}.") from None
    if not MIN_SPEED <= speed <= MAX_SPEED:  # NaN fails this too
        raise ConfigError(
            f"The replay speed {speed:g} is outside {MIN_SPEED:g}..{MAX_SPEED:g}: "
            "give --speed between those values (1 = real time)."
        )
    return speed
