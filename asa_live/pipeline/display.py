"""The event view's data: recent events kept for display and rendered ON/OFF in two colours.

:class:`EventAccumulator` holds the most recent events (in the network's input geometry, i.e.
after sensor adaptation) for at most ``max_span_us`` and ``max_events``, so it never grows
without bound. :func:`render_events` turns events into an RGB image: ON in amber, OFF in
blue, pixels with both a mix, brightness rising with the count and saturating.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

ON_RGB = np.array([255, 176, 32], dtype=np.float32)
OFF_RGB = np.array([40, 140, 255], dtype=np.float32)
BACKGROUND_RGB = np.array([12, 12, 16], dtype=np.float32)


def polarity_counts(events: np.ndarray, sensor_size: tuple[int, int]) -> np.ndarray:
    """Count events per pixel and polarity: float32 ``[2, H, W]`` (channel 0 OFF, 1 ON)."""
    width, height = sensor_size
    x = events["x"].astype(np.int64)
    y = events["y"].astype(np.int64)
    p = events["p"].astype(np.int64)
    keep = (x < width) & (y < height)
    flat = (p[keep] * height + y[keep]) * width + x[keep]
    counts = np.bincount(flat, minlength=2 * height * width).astype(np.float32)
    return counts.reshape(2, height, width)


def render_counts(counts: np.ndarray, saturation: float = 3.0) -> np.ndarray:
    """``[2, H, W]`` counts -> ``[H, W, 3]`` uint8 RGB; ``saturation`` events reach ~95 %."""
    scale = 3.0 / max(saturation, 1e-6)
    off = 1.0 - np.exp(-counts[0] * scale)
    on = 1.0 - np.exp(-counts[1] * scale)
    rgb = BACKGROUND_RGB + on[..., None] * ON_RGB + off[..., None] * OFF_RGB
    return np.clip(rgb, 0, 255).astype(np.uint8)


def render_events(
    events: np.ndarray, sensor_size: tuple[int, int], saturation: float = 3.0
) -> np.ndarray:
    """Events -> ``[H, W, 3]`` uint8 RGB (ON amber, OFF blue)."""
    return render_counts(polarity_counts(events, sensor_size), saturation)


class EventAccumulator:
    """Thread-safe store of the most recent events, for drawing.

    Args:
        sensor_size: (width, height) of the coordinates pushed in.
        max_span_us: events older than this behind the newest one are discarded.
        max_events: at most this many events are kept (oldest packets go first).
    """

    def __init__(
        self,
        sensor_size: tuple[int, int],
        max_span_us: int = 2_000_000,
        max_events: int = 2_000_000,
    ) -> None:
        self.sensor_size = (int(sensor_size[0]), int(sensor_size[1]))
        self.max_span_us = int(max_span_us)
        self.max_events = int(max_events)
        self._packets: deque[np.ndarray] = deque()
        self._count = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    @property
    def latest_t_us(self) -> int | None:
        with self._lock:
            return int(self._packets[-1]["t"][-1]) if self._packets else None

    def clear(self) -> None:
        with self._lock:
            self._packets.clear()
            self._count = 0

    def push(self, events: np.ndarray) -> None:
        """Add a time-sorted packet; a packet earlier than the stored ones clears the store."""
        if len(events) == 0:
            return
        with self._lock:
            if self._packets and events["t"][0] < self._packets[-1]["t"][-1] - self.max_span_us:
                self._packets.clear()  # the source started over
                self._count = 0
            self._packets.append(events)
            self._count += len(events)
            newest = int(events["t"][-1])
            while self._packets and (
                self._count > self.max_events
                or int(self._packets[0]["t"][-1]) < newest - self.max_span_us
            ):
                self._count -= len(self._packets.popleft())

    def recent(self, span_us: int, until_us: int | None = None) -> np.ndarray:
        """The events with ``until_us - span_us < t <= until_us`` (default: up to the newest)."""
        with self._lock:
            packets = list(self._packets)
        if not packets:
            from asa_live.events import empty_events

            return empty_events()
        if until_us is None:
            until_us = int(packets[-1]["t"][-1])
        lo = until_us - span_us
        chosen = [p for p in packets if p["t"][-1] > lo and p["t"][0] <= until_us]
        if not chosen:
            return packets[0][:0]
        events = np.concatenate(chosen) if len(chosen) > 1 else chosen[0]
        t = events["t"]
        return events[np.searchsorted(t, lo, side="right") : np.searchsorted(t, until_us, "right")]

    def render(
        self, span_us: int, until_us: int | None = None, saturation: float = 3.0
    ) -> np.ndarray:
        """RGB ``[H, W, 3]`` uint8 of the last ``span_us`` microseconds of events."""
        return render_events(self.recent(span_us, until_us), self.sensor_size, saturation)
