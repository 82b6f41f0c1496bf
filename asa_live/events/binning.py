"""Time binning: events -> float32 count frames ``[T, 2, H // downsample, W // downsample]``.

Semantics (shared by :func:`bin_events` and :class:`StreamingBinner`):

* window ``i`` counts the events with ``t0 + i * window_us <= t < t0 + (i + 1) * window_us``;
* ``t0`` defaults to the first event's time (the earliest one if the input is not sorted);
* the windows run from 0 through the one holding the last event; empty windows are zero frames;
* channel = polarity (0 = OFF, 1 = ON), rows = ``y // downsample``, columns = ``x // downsample``;
  ``sensor_size = (width, height)``. When ``downsample`` does not divide the sensor, the last
  ``width % downsample`` columns / ``height % downsample`` rows are dropped (floor geometry);
* events before ``t0`` (possible only with an explicit ``t0_us``) are not counted;
* an event outside the sensor (x >= width or y >= height) or with p > 1 is a ValueError.

Streaming policies (:class:`StreamingBinner`):

* **Emission**: a window's frame leaves once an event at or past its end arrives (or
  :meth:`StreamingBinner.advance_to` is told that time has passed), or at :meth:`flush`.
* **Gaps**: after a run of more than ``max_gap_windows`` empty windows, only the first
  ``max_gap_windows`` of them leave as zero frames; the rest are not emitted but counted in
  ``skipped_windows``, and the next frame keeps its true ``index`` / ``t_start_us`` (so a
  consumer sees the jump). A gap of hours therefore costs at most ``max_gap_windows`` frames.
  As long as no gap exceeds ``max_gap_windows``, the frames equal :func:`bin_events` exactly.
* **Backwards time**: an event whose window has already left (t earlier than the open window's
  start) is dropped and counted in ``late_events``. Events that go backwards only inside the
  still-open window or later ones are counted normally (order inside a packet does not matter).

Speed: time-sorted input is cut into windows with ``np.searchsorted`` on the window edges
(no per-event division), and counted with one ``np.bincount`` per group of windows whose
counts fit in cache, so temporaries stay small. Unsorted input is detected on the way and
stably sorted first (O(N log N)), giving the same result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asa_live.events.dtype import EVENT_DTYPE

__all__ = ["BinnedWindow", "StreamingBinner", "bin_events"]

# Events per bincount call and the most windows per call: 64 Ki events keep the int64
# temporaries (~0.5 MiB each) in L2; 16 windows of 2x128x128 int64 counts are 4 MiB.
_CHUNK_EVENTS = 1 << 16
_GROUP_COUNT_BYTES = 4 << 20
# Lookup-table value of an invalid coordinate or polarity: larger than any real index.
_INVALID = np.int64(1) << 48
# Below one event per this many cells, a group is counted by sorting its indices instead.
_SPARSE_RATIO = 16
# Refuse outputs that would exhaust memory; the streaming binner has no such limit.
_MAX_OUTPUT_BYTES = 8 << 30


def _geometry(sensor_size: tuple[int, int], downsample: int) -> tuple[int, int, int, int]:
    if len(sensor_size) != 2:
        raise ValueError(f"sensor_size must be (width, height), got {sensor_size!r}")
    width, height = int(sensor_size[0]), int(sensor_size[1])
    if width < 1 or height < 1:
        raise ValueError(f"sensor_size must be positive, got {sensor_size!r}")
    if int(downsample) != downsample or downsample < 1:
        raise ValueError(f"downsample must be a positive integer, got {downsample!r}")
    downsample = int(downsample)
    if downsample > min(width, height):
        raise ValueError(f"downsample {downsample} is larger than the sensor {width}x{height}")
    return width, height, width // downsample, height // downsample


def _check_events(events: np.ndarray) -> np.ndarray:
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
        dtype = getattr(events, "dtype", type(events).__name__)
        raise ValueError(f"events must be a numpy array of EVENT_DTYPE, got {dtype}")
    if events.ndim != 1:
        raise ValueError(f"events must be 1-D, got shape {events.shape}")
    return events


def _searchsorted_left(t: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.searchsorted(t, values, side="left")`` for a strided ``t`` without copying it.

    ``np.searchsorted`` first makes a contiguous copy of a strided field view (8 bytes per
    event, ~10 ms per 10 M events); a vectorised bisection touches only
    ``len(values) * log2(len(t))`` elements.
    """
    if t.flags.c_contiguous or len(t) < 1 << 20 or len(values) * 4 > len(t):
        return np.searchsorted(t, values, side="left")
    lo = np.zeros(len(values), dtype=np.int64)
    hi = np.full(len(values), len(t), dtype=np.int64)
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) >> 1
        # clip keeps finished lanes (lo == hi == len(t)) indexable; they do not move
        below = t[np.minimum(mid, len(t) - 1)] < values
        lo = np.where(active & below, mid + 1, lo)
        hi = np.where(active & ~below, mid, hi)


class _Counter:
    """Counts time-sorted events into frames; the shared kernel of both binners."""

    def __init__(self, sensor_size: tuple[int, int], downsample: int) -> None:
        self.width, self.height, self.out_w, self.out_h = _geometry(sensor_size, downsample)
        self.downsample = int(downsample)
        self.plane = self.out_w * self.out_h
        self.frame_size = 2 * self.plane
        self.crops = self.width % self.downsample or self.height % self.downsample
        self.max_group = max(1, _GROUP_COUNT_BYTES // (8 * self.frame_size))
        coords = np.arange(1 << 16, dtype=np.int64)
        # the margin a non-dividing downsample drops is invalid too (_in_grid removes it first)
        grid_w, grid_h = self.out_w * self.downsample, self.out_h * self.downsample
        self._lut_x = np.where(coords < grid_w, coords // self.downsample, _INVALID)
        self._lut_y = np.where(coords < grid_h, (coords // self.downsample) * self.out_w, _INVALID)
        self._lut_p = np.full(256, _INVALID, dtype=np.int64)
        self._lut_p[1] = self.plane
        self._lut_p[0] = 0

    def count_sorted(
        self,
        events: np.ndarray,
        t0: int,
        window_us: int,
        out: np.ndarray,
        known_sorted: bool = False,
    ) -> np.ndarray | None:
        """Write the counts of the events into ``out [T, 2, h, w]`` (window 0 starts at ``t0``);
        every window of ``out`` is overwritten, so it may come from ``np.empty``.

        ``events`` must lie in ``[t0, t0 + T * window_us)``. Returns the per-window event
        counts, or None (``out`` then holds garbage) if the events are not sorted.
        """
        n_windows = out.shape[0]
        t = events["t"]
        edges = t0 + np.arange(n_windows + 1, dtype=np.int64) * window_us
        bounds = _searchsorted_left(t, edges)
        if bounds[0] != 0 or bounds[-1] != len(events):
            return None  # not sorted (or not inside the windows): the caller sorts
        flat = out.reshape(n_windows, self.frame_size)
        g0 = 0
        prev_last_t = None
        while g0 < n_windows:
            a = int(bounds[g0])
            # largest group of windows whose events fit one chunk, at least one window
            g1 = min(n_windows, g0 + self.max_group)
            by_events = int(np.searchsorted(bounds, a + _CHUNK_EVENTS, side="right")) - 1
            g1 = max(g0 + 1, min(g1, by_events))
            b = int(bounds[g1])
            if b == a:
                flat[g0:g1] = 0  # ``out`` may come from np.empty: every window is written
            else:
                if g1 - g0 == 1 and b - a > _CHUNK_EVENTS:
                    # one very dense window: count it in chunks
                    flat[g0] = 0
                    for c in range(a, b, _CHUNK_EVENTS):
                        part = events[c : min(b, c + _CHUNK_EVENTS)]
                        if not known_sorted and not self._sorted_after(part["t"], prev_last_t):
                            return None
                        prev_last_t = part["t"][-1]
                        counts = np.bincount(self._spatial(part), minlength=self.frame_size)
                        flat[g0] += counts
                else:
                    part = events[a:b]
                    if not known_sorted and not self._sorted_after(part["t"], prev_last_t):
                        return None
                    prev_last_t = part["t"][-1]
                    index = self._spatial(part)
                    if g1 - g0 > 1:
                        per_window = np.diff(bounds[g0 : g1 + 1])
                        offsets = np.arange(0, (g1 - g0) * self.frame_size, self.frame_size)
                        index += np.repeat(offsets, per_window)
                    cells = (g1 - g0) * self.frame_size
                    if (b - a) * _SPARSE_RATIO < cells:
                        # Sparse windows: a dense int64 bincount would zero and read 8 bytes
                        # per cell for few events; sorting the few indices is cheaper.
                        flat[g0:g1] = 0
                        cell, count = np.unique(index, return_counts=True)
                        flat[g0:g1].reshape(-1)[cell] = count
                    else:
                        counts = np.bincount(index, minlength=cells)
                        flat[g0:g1] = counts.reshape(g1 - g0, self.frame_size)
            g0 = g1
        return np.diff(bounds)

    @staticmethod
    def _sorted_after(t: np.ndarray, prev_last_t: np.int64 | None) -> bool:
        if prev_last_t is not None and t[0] < prev_last_t:
            return False
        return bool(np.all(t[1:] >= t[:-1]))

    def _spatial(self, part: np.ndarray) -> np.ndarray:
        """Flat index ``p * h * w + (y // ds) * w + x // ds`` (int64) of each event.

        Three lookup-table gathers (``np.take``) replace the shifts, products and range checks:
        an out-of-sensor coordinate or p > 1 maps to a huge value caught by one ``max``.
        Events must already lie inside the downsampled grid (see :func:`_in_grid`)."""
        index = np.take(self._lut_p, part["p"])
        index += np.take(self._lut_y, part["y"])
        index += np.take(self._lut_x, part["x"])
        if len(index) and index.max() >= _INVALID:
            x, y, p = part["x"], part["y"], part["p"]
            raise ValueError(
                f"events outside the {self.width}x{self.height} sensor or with p > 1 "
                f"(max x {x.max()}, max y {y.max()}, max p {p.max()})"
            )
        return index


def _in_grid(events: np.ndarray, counter: _Counter) -> np.ndarray:
    """Validate coordinates, then drop the margin that ``downsample`` does not cover."""
    if len(events) == 0:
        return events
    x, y = events["x"], events["y"]
    if x.max() >= counter.width or y.max() >= counter.height:
        raise ValueError(
            f"events outside the {counter.width}x{counter.height} sensor "
            f"(max x {x.max()}, max y {y.max()})"
        )
    keep = (x < counter.out_w * counter.downsample) & (y < counter.out_h * counter.downsample)
    return events if keep.all() else events[keep]


def _empty_frames(counter: _Counter) -> np.ndarray:
    return np.zeros((0, 2, counter.out_h, counter.out_w), dtype=np.float32)


def _alloc(n_windows: int, counter: _Counter) -> np.ndarray:
    nbytes = n_windows * counter.frame_size * 4
    if nbytes > _MAX_OUTPUT_BYTES:
        raise ValueError(
            f"bin_events would allocate {nbytes / 2**30:.1f} GiB ({n_windows} windows); "
            "use StreamingBinner for long recordings"
        )
    return np.empty((n_windows, 2, counter.out_h, counter.out_w), dtype=np.float32)


def bin_events(
    events: np.ndarray,
    window_us: int,
    sensor_size: tuple[int, int],
    downsample: int = 1,
    t0_us: int | None = None,
) -> np.ndarray:
    """Count events into frames of ``window_us`` microseconds.

    Args:
        events: EVENT_DTYPE packet, time-sorted or not (sorted is faster).
        window_us: window length in microseconds (> 0).
        sensor_size: (width, height) of the events' coordinate space.
        downsample: integer spatial pooling factor (sum pooling).
        t0_us: start of window 0; default the first (earliest) event's time.

    Returns:
        float32 ``[T, 2, height // downsample, width // downsample]``; ``T`` runs through the
        window holding the last event (0 when there are no events at or after ``t0_us``).
    """
    events = _check_events(events)
    window_us = _check_window(window_us)
    counter = _Counter(sensor_size, downsample)
    if len(events) == 0:
        return _empty_frames(counter)
    if t0_us is None and counter.crops:
        # t0 is the earliest event's time, including events in the margin dropped below
        t0_us = int(events["t"].min())
    if counter.crops:
        events = _in_grid(events, counter)
        if len(events) == 0:
            return _empty_frames(counter)
    t = events["t"]
    # Fast path: assume time order; count_sorted verifies it on the way (cache-hot).
    t0 = int(t[0]) if t0_us is None else int(t0_us)
    lo = 0 if t0_us is None else int(_searchsorted_left(t, np.array([t0], np.int64))[0])
    if lo == 0 or bool(np.all(t[:lo] < t0)):
        body = events[lo:]
        if len(body) and int(body["t"][-1]) >= t0:
            out = _alloc((int(body["t"][-1]) - t0) // window_us + 1, counter)
            if counter.count_sorted(body, t0, window_us, out) is not None:
                return out
            del out
    # General path: unsorted input, sorted stably first (the counts do not depend on order).
    if t0_us is None:
        t0 = int(t.min())
    else:
        events = events[t >= t0]
        if len(events) == 0:
            return _empty_frames(counter)
    events = events[np.argsort(events["t"], kind="stable")]
    out = _alloc((int(events["t"][-1]) - t0) // window_us + 1, counter)
    if counter.count_sorted(events, t0, window_us, out) is None:  # pragma: no cover
        raise RuntimeError("internal error: sorted events reported as unsorted")
    return out


def _check_window(window_us: int) -> int:
    if int(window_us) != window_us or window_us < 1:
        raise ValueError(f"window_us must be a positive integer (microseconds), got {window_us!r}")
    return int(window_us)


@dataclass(frozen=True)
class BinnedWindow:
    """One closed window: ``frame`` float32 ``[2, H // downsample, W // downsample]`` counts
    of the events with ``t_start_us <= t < t_end_us``; ``index`` counts windows from t0."""

    index: int
    t_start_us: int
    t_end_us: int
    frame: np.ndarray
    n_events: int


class StreamingBinner:
    """Bins a stream of event packets into the same frames as :func:`bin_events`.

    See the module docstring for the emission, gap and backwards-time policies.
    ``push`` accepts packets split at any points; frames leave in window order.
    """

    def __init__(
        self,
        window_us: int,
        sensor_size: tuple[int, int],
        downsample: int = 1,
        t0_us: int | None = None,
        max_gap_windows: int = 100,
    ) -> None:
        self.window_us = _check_window(window_us)
        self._counter = _Counter(sensor_size, downsample)
        if int(max_gap_windows) != max_gap_windows or max_gap_windows < 0:
            raise ValueError(f"max_gap_windows must be an integer >= 0, got {max_gap_windows!r}")
        self.max_gap_windows = int(max_gap_windows)
        self.sensor_size = (self._counter.width, self._counter.height)
        self.downsample = self._counter.downsample
        self._t0_arg = None if t0_us is None else int(t0_us)
        self.reset()

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(2, H // downsample, W // downsample)``."""
        return (2, self._counter.out_h, self._counter.out_w)

    @property
    def t0_us(self) -> int | None:
        """Start of window 0 (None until the first event when not given)."""
        return self._t0

    @property
    def open_window_index(self) -> int:
        """Index of the window that is still accumulating events."""
        return self._open

    def reset(self) -> None:
        """Forget all state: t0 (back to the constructor's), the open window and the counters."""
        self._t0: int | None = self._t0_arg
        self._open = 0
        self._acc = np.zeros(self.frame_shape, dtype=np.float32)
        self._acc_events = 0
        self.late_events = 0
        self.skipped_windows = 0
        self.total_events = 0

    def _window(self, index: int, frame: np.ndarray, n_events: int) -> BinnedWindow:
        start = self._t0 + index * self.window_us
        return BinnedWindow(index, start, start + self.window_us, frame, int(n_events))

    def _close_open(self, out: list[BinnedWindow]) -> None:
        out.append(self._window(self._open, self._acc, self._acc_events))
        self._open += 1
        self._acc = np.zeros(self.frame_shape, dtype=np.float32)
        self._acc_events = 0

    def _advance_open_to(self, target: int, out: list[BinnedWindow]) -> None:
        """Close windows until ``target`` is the open one, applying the gap policy."""
        if target <= self._open:
            return
        self._close_open(out)
        empty = target - self._open
        emit = min(empty, self.max_gap_windows)
        for _ in range(emit):
            self._close_open(out)
        if empty > emit:
            self.skipped_windows += empty - emit
            self._open = target

    def push(self, events: np.ndarray) -> list[BinnedWindow]:
        """Add a packet; returns the windows it closed (possibly none), oldest first."""
        events = _check_events(events)
        out: list[BinnedWindow] = []
        if len(events) == 0:
            return out
        t = events["t"]
        if self._t0 is None:
            self._t0 = int(t.min())
        # one diff serves the order check and the gap split below
        steps = np.diff(t)
        if len(steps) and steps.min() < 0:
            events = events[np.argsort(t, kind="stable")]
            t = events["t"]
            steps = np.diff(t)
        open_start = self._t0 + self._open * self.window_us
        if t[0] < open_start:
            n_late = int(np.searchsorted(t, open_start, side="left"))
            self.late_events += n_late
            events, t, steps = events[n_late:], t[n_late:], steps[n_late:]
            if len(events) == 0:
                return out
        if self._counter.crops:
            keep_all = _in_grid(events, self._counter)
            if len(keep_all) != len(events):
                events = keep_all
                t = events["t"]
                steps = np.diff(t)
                if len(events) == 0:
                    return out
        self.total_events += len(events)
        # Split the packet where more than max_gap_windows empty windows may lie between two
        # events (a step > (max_gap_windows + 1) * window_us is necessary for that), so that
        # no frame stack spans a long gap; _advance_open_to applies the exact rule.
        gap_us = (self.max_gap_windows + 1) * self.window_us
        if len(steps) == 0 or steps.max() <= gap_us:
            self._push_sorted(events, out)
            return out
        cuts = np.flatnonzero(steps > gap_us)
        bounds = [0, *(cuts + 1).tolist(), len(events)]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            self._push_sorted(events[a:b], out)
        return out

    def _push_sorted(self, events: np.ndarray, out: list[BinnedWindow]) -> None:
        t = events["t"]
        first_w = (int(t[0]) - self._t0) // self.window_us
        last_w = (int(t[-1]) - self._t0) // self.window_us
        self._advance_open_to(first_w, out)
        n = last_w - self._open + 1
        stack = np.empty((n, *self.frame_shape), dtype=np.float32)
        start = self._t0 + self._open * self.window_us
        per_window = self._counter.count_sorted(
            events, start, self.window_us, stack, known_sorted=True
        )
        if per_window is None:  # pragma: no cover - push() sorted the events
            raise RuntimeError("internal error: sorted events reported as unsorted")
        stack[0] += self._acc
        per_window[0] += self._acc_events
        for i in range(n - 1):
            out.append(self._window(self._open + i, stack[i], per_window[i]))
        self._open += n - 1
        self._acc = stack[n - 1].copy() if n > 1 else stack[0]
        self._acc_events = int(per_window[n - 1])

    def advance_to(self, t_us: int) -> list[BinnedWindow]:
        """Declare that no event earlier than ``t_us`` will come (e.g. a live camera is idle):
        closes every window that ends at or before ``t_us``, as an event at ``t_us`` would."""
        out: list[BinnedWindow] = []
        if self._t0 is None:
            return out
        target = (int(t_us) - self._t0) // self.window_us
        self._advance_open_to(target, out)
        return out

    def flush(self) -> list[BinnedWindow]:
        """End of stream: emit the open window if it holds events. The window grid is kept,
        so later pushes continue on it (events in the flushed window then count as late)."""
        out: list[BinnedWindow] = []
        if self._acc_events:
            self._close_open(out)
        return out
