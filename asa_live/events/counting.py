"""The counting kernel shared by :func:`~asa_live.events.binning.bin_events` and
:class:`~asa_live.events.binning.StreamingBinner`.

    frame[w, p, y // ds, x // ds] = #{events e in window w : (p_e, y_e, x_e) = (p, y, x)}

Time-sorted events are cut into windows with ``np.searchsorted`` on the window edges, and a
group of windows is counted with one ``np.bincount`` over the flat index
``w * 2 * h * w_out + p * h * w_out + (y // ds) * w_out + x // ds``.

Speed (why it looks like this): the flat index is built by three lookup-table gathers into
preallocated scratch buffers, in int32 whenever the indices fit. Fresh temporaries of a few
hundred KiB come from mmap and pay a page fault per 4 KiB on every call (measured here: two
live 1 M-event int64 temporaries cost 10x the gathers themselves), and ``np.take`` with the
default ``mode="raise"`` buffers its output; ``mode="clip"`` is exact because every table
covers the whole range of its index type.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["CHUNK_EVENTS", "Counter", "geometry", "searchsorted_left"]

# Events per bincount call and the most windows per call: 32 Ki events keep the index
# scratch and the int64 temporaries of bincount in L2 (64 Ki: 1.8x slower per event here);
# 16 windows of 2x128x128 int64 counts are 4 MiB.
CHUNK_EVENTS = 1 << 15
_GROUP_COUNT_BYTES = 4 << 20
# Lookup-table value of an invalid coordinate or polarity: larger than any real index, and
# three of them still fit the index type (int32: 3 << 29 < 2**31).
_INVALID = {np.int32: 1 << 29, np.int64: 1 << 48}
# Below one event per this many cells, a group is counted by sorting its indices instead.
_SPARSE_RATIO = 16


def geometry(sensor_size: tuple[int, int], downsample: int) -> tuple[int, int, int, int]:
    """(width, height, out_w, out_h) after validating the sensor size and the downsample."""
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


def searchsorted_left(t: np.ndarray, values: np.ndarray) -> np.ndarray:
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


class Counter:
    """Counts time-sorted events into frames. Holds scratch buffers: one per binner (not
    shared between threads)."""

    def __init__(
        self, sensor_size: tuple[int, int], downsample: int, wide: bool | None = None
    ) -> None:
        """``wide``: int64 indices (default: only when int32 could overflow; tests force it)."""
        self.width, self.height, self.out_w, self.out_h = geometry(sensor_size, downsample)
        self.downsample = int(downsample)
        self.plane = self.out_w * self.out_h
        self.frame_size = 2 * self.plane
        self.crops = self.width % self.downsample or self.height % self.downsample
        self.max_group = max(1, _GROUP_COUNT_BYTES // (8 * self.frame_size))
        if wide is None:
            wide = self.max_group * self.frame_size >= _INVALID[np.int32]
        self.index_dtype = np.int64 if wide else np.int32
        self.invalid = _INVALID[self.index_dtype]
        self._lut_x, self._lut_y, self._lut_p = _tables(
            self.out_w, self.out_h, self.downsample, self.index_dtype
        )
        self._index = np.empty(CHUNK_EVENTS, self.index_dtype)
        self._scratch = np.empty(CHUNK_EVENTS, self.index_dtype)

    def count_sorted(
        self,
        events: np.ndarray | None,
        t0: int,
        window_us: int,
        out: np.ndarray,
        known_sorted: bool = False,
        t: np.ndarray | None = None,
        cells: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """Write the counts of the events into ``out [T, 2, h, w]`` (window 0 starts at ``t0``);
        every window of ``out`` is overwritten, so it may come from ``np.empty``.

        ``events`` must lie in ``[t0, t0 + T * window_us)``; ``t`` may give their times as a
        contiguous array. ``cells`` may give their flat cells ``p * h * w + (y // ds) * w +
        x // ds`` (index dtype, all valid; overwritten): then ``events`` is not read and may
        be None, and ``t`` is needed. Returns the per-window event counts, or None (``out``
        then holds garbage) if the events are not sorted.
        """
        n_windows = out.shape[0]
        if t is None:
            t = events["t"]
        edges = t0 + np.arange(n_windows + 1, dtype=np.int64) * window_us
        bounds = searchsorted_left(t, edges)
        if bounds[0] != 0 or bounds[-1] != len(t):
            return None  # not sorted (or not inside the windows): the caller sorts
        flat = out.reshape(n_windows, self.frame_size)
        g0 = 0
        prev_last_t = None
        while g0 < n_windows:
            a = int(bounds[g0])
            # largest group of windows whose events fit one chunk, at least one window
            g1 = min(n_windows, g0 + self.max_group)
            by_events = int(np.searchsorted(bounds, a + CHUNK_EVENTS, side="right")) - 1
            g1 = max(g0 + 1, min(g1, by_events))
            b = int(bounds[g1])
            if b == a:
                flat[g0:g1] = 0  # ``out`` may come from np.empty: every window is written
                g0 = g1
                continue
            # one very dense window is counted in chunks; otherwise b - a <= CHUNK_EVENTS
            step = CHUNK_EVENTS if g1 - g0 == 1 else b - a
            for c in range(a, b, step):
                part_t = t[c : min(b, c + step)]
                if not known_sorted and not _sorted_after(part_t, prev_last_t):
                    return None
                prev_last_t = part_t[-1]
                d = min(b, c + step)
                index = self._spatial(events[c:d]) if cells is None else cells[c:d]
                if g1 - g0 == 1:
                    counts = np.bincount(index, minlength=self.frame_size)
                    flat[g0] = counts if c == a else flat[g0] + counts
                else:
                    self._count_group(index, bounds[g0 : g1 + 1], flat[g0:g1])
            g0 = g1
        return np.diff(bounds)

    def _count_group(self, index: np.ndarray, bounds: np.ndarray, flat: np.ndarray) -> None:
        """Count one chunk that spans the windows of ``flat`` (``bounds``: their edges)."""
        n_group = len(flat)
        per_window = np.diff(bounds)
        offsets = np.arange(0, n_group * self.frame_size, self.frame_size, self.index_dtype)
        index += np.repeat(offsets, per_window)
        cells = n_group * self.frame_size
        if len(index) * _SPARSE_RATIO < cells:
            # Sparse windows: a dense int64 bincount would zero and read 8 bytes per cell
            # for few events; sorting the few indices is cheaper.
            flat[:] = 0
            cell, count = np.unique(index, return_counts=True)
            flat.reshape(-1)[cell] = count
        else:
            counts = np.bincount(index, minlength=cells)
            flat[:] = counts.reshape(n_group, self.frame_size)

    def _spatial(self, part: np.ndarray) -> np.ndarray:
        """Flat index ``p * h * w + (y // ds) * w + x // ds`` of each event (at most
        CHUNK_EVENTS of them), in the counter's scratch buffer: valid until the next call.

        Three lookup-table gathers replace the shifts, products and range checks: an
        out-of-sensor coordinate or p > 1 maps to a huge value caught by one ``max``.
        Events must already lie inside the downsampled grid (see ``_in_grid``)."""
        n = len(part)
        index, scratch = self._index[:n], self._scratch[:n]
        np.take(self._lut_p, part["p"], out=index, mode="clip")
        np.take(self._lut_y, part["y"], out=scratch, mode="clip")
        index += scratch
        np.take(self._lut_x, part["x"], out=scratch, mode="clip")
        index += scratch
        if n and index.max() >= self.invalid:
            x, y, p = part["x"], part["y"], part["p"]
            raise ValueError(
                f"events outside the {self.width}x{self.height} sensor or with p > 1 "
                f"(max x {x.max()}, max y {y.max()}, max p {p.max()})"
            )
        return index


@lru_cache(maxsize=32)
def _tables(
    out_w: int, out_h: int, downsample: int, dtype: type
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read-only lookup tables x -> x // ds, y -> (y // ds) * out_w, p -> p * plane; shared
    between binners (a replay builds a binner per file and per loop)."""
    invalid = _INVALID[dtype]
    coords = np.arange(1 << 16, dtype=np.int64)
    # the margin a non-dividing downsample drops is invalid too (_in_grid removes it first)
    grid_w, grid_h = out_w * downsample, out_h * downsample
    lut_x = np.where(coords < grid_w, coords // downsample, invalid)
    lut_y = np.where(coords < grid_h, (coords // downsample) * out_w, invalid)
    lut_p = np.full(256, invalid, dtype=np.int64)
    lut_p[1] = out_w * out_h
    lut_p[0] = 0
    tables = tuple(lut.astype(dtype) for lut in (lut_x, lut_y, lut_p))
    for table in tables:
        table.flags.writeable = False
    return tables


def _sorted_after(t: np.ndarray, prev_last_t: np.int64 | None) -> bool:
    if prev_last_t is not None and t[0] < prev_last_t:
        return False
    return bool(np.all(t[1:] >= t[:-1]))
