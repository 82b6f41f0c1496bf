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
counts fit in cache, so temporaries stay small (the kernel: :mod:`asa_live.events.counting`).
Unsorted input is detected on the way and
stably sorted first (O(N log N)), giving the same result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asa_live.events.counting import Counter, searchsorted_left
from asa_live.events.dtype import EVENT_DTYPE

__all__ = ["BinnedWindow", "StreamingBinner", "bin_events"]

# Refuse outputs that would exhaust memory; the streaming binner has no such limit.
_MAX_OUTPUT_BYTES = 8 << 30
_RECORD = np.dtype((np.void, EVENT_DTYPE.itemsize))


def _check_events(events: np.ndarray) -> np.ndarray:
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
        dtype = getattr(events, "dtype", type(events).__name__)
        raise ValueError(f"events must be a numpy array of EVENT_DTYPE, got {dtype}")
    if events.ndim != 1:
        raise ValueError(f"events must be 1-D, got shape {events.shape}")
    return events


def _take(events: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``events[index]`` (integer or boolean) through an opaque same-size record: indexing
    the packed structured dtype directly is ~50x slower (see events/transforms.py)."""
    return events.view(_RECORD)[index].view(EVENT_DTYPE)


def _in_grid(events: np.ndarray, counter: Counter) -> np.ndarray:
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
    return events if keep.all() else _take(events, keep)


def _empty_frames(counter: Counter) -> np.ndarray:
    return np.zeros((0, 2, counter.out_h, counter.out_w), dtype=np.float32)


def _alloc(n_windows: int, counter: Counter) -> np.ndarray:
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
    counter = Counter(sensor_size, downsample)
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
    lo = 0 if t0_us is None else int(searchsorted_left(t, np.array([t0], np.int64))[0])
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
        events = _take(events, t >= t0)
        if len(events) == 0:
            return _empty_frames(counter)
    events = _take(events, np.argsort(events["t"], kind="stable"))
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
        self._counter = Counter(sensor_size, downsample)
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
        if len(events) == 0:
            return []
        # a contiguous copy of the times: the diff, the searchsorted and the order checks
        # below would each copy the strided field otherwise
        return self._push(events["t"].copy(), events, None)

    def push_cells(self, t: np.ndarray, cells: np.ndarray) -> list[BinnedWindow]:
        """Add a packet given as its events' times and flat cells: exactly ``push`` of those
        events (see :meth:`cell_index_dtype` and the counting kernel for the layout).

        ``t``: contiguous int64; ``cells``: ``p * h * w + (y // ds) * w + x // ds`` in
        ``cell_index_dtype``, every one inside the frame. Both are consumed (overwritten).
        Only for a binner whose ``downsample`` divides its sensor (``crops_margin`` False):
        the margin rule needs the coordinates."""
        if self._counter.crops:
            raise ValueError("push_cells: the downsample does not divide the sensor")
        if len(t) == 0:
            return []
        return self._push(t, None, cells)

    @property
    def cell_index_dtype(self) -> type:
        """The integer type of the flat cells :meth:`push_cells` takes."""
        return self._counter.index_dtype

    @property
    def crops_margin(self) -> bool:
        """Whether ``downsample`` leaves a margin of the sensor uncounted."""
        return bool(self._counter.crops)

    def _push(
        self, t: np.ndarray, events: np.ndarray | None, cells: np.ndarray | None
    ) -> list[BinnedWindow]:
        """``push`` of the events with times ``t``, given as records or as flat cells."""
        out: list[BinnedWindow] = []
        if self._t0 is None:
            self._t0 = int(t.min())
        if len(t) > 1 and bool((t[1:] < t[:-1]).any()):
            order = np.argsort(t, kind="stable")
            t = t[order]
            events = None if events is None else _take(events, order)
            cells = None if cells is None else cells[order]
        open_start = self._t0 + self._open * self.window_us
        if t[0] < open_start:
            n_late = int(np.searchsorted(t, open_start, side="left"))
            self.late_events += n_late
            t = t[n_late:]
            events = None if events is None else events[n_late:]
            cells = None if cells is None else cells[n_late:]
            if len(t) == 0:
                return out
        if self._counter.crops and events is not None:
            keep_all = _in_grid(events, self._counter)
            if len(keep_all) != len(events):
                events = keep_all
                t = events["t"].copy()
                if len(events) == 0:
                    return out
        self.total_events += len(t)
        # Split the packet where more than max_gap_windows empty windows may lie between two
        # events (a step > (max_gap_windows + 1) * window_us is necessary for that), so that
        # no frame stack spans a long gap; _advance_open_to applies the exact rule. No step
        # is longer than the whole packet: most packets need no diff.
        gap_us = (self.max_gap_windows + 1) * self.window_us
        if int(t[-1]) - int(t[0]) <= gap_us:
            self._push_sorted(t, events, cells, out)
            return out
        cuts = np.flatnonzero(np.diff(t) > gap_us)
        bounds = [0, *(cuts + 1).tolist(), len(t)]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            part_events = None if events is None else events[a:b]
            part_cells = None if cells is None else cells[a:b]
            self._push_sorted(t[a:b], part_events, part_cells, out)
        return out

    def _push_sorted(
        self,
        t: np.ndarray,
        events: np.ndarray | None,
        cells: np.ndarray | None,
        out: list[BinnedWindow],
    ) -> None:
        window_us = self.window_us
        first_w = (int(t[0]) - self._t0) // window_us
        last_w = (int(t[-1]) - self._t0) // window_us
        self._advance_open_to(first_w, out)
        n = last_w - self._open + 1
        stack = np.empty((n, *self.frame_shape), dtype=np.float32)
        start = self._t0 + self._open * window_us
        per_window = self._counter.count_sorted(
            events, start, window_us, stack, known_sorted=True, t=t, cells=cells
        )
        if per_window is None:  # pragma: no cover - push() sorted the events
            raise RuntimeError("internal error: sorted events reported as unsorted")
        stack[0] += self._acc
        per_window[0] += self._acc_events
        counts = per_window.tolist()
        for i in range(n - 1):
            out.append(BinnedWindow(self._open + i, start, start + window_us, stack[i], counts[i]))
            start += window_us
        self._open += n - 1
        self._acc = stack[n - 1].copy() if n > 1 else stack[0]
        self._acc_events = counts[n - 1]

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
