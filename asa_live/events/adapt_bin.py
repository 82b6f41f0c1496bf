"""Sensor adaptation fused with time binning, for when only the frames are needed:

    AdaptingBinner(adapter, binner).push(events) == binner.push(adapter(events))   (exactly)

without materialising the adapted events. The adapter sends a kept event to target pixel
``(lo_x[x] + dx, lo_y[y] + dy)``, ``dx, dy`` in {0, 1} from its area draw (see
:mod:`asa_live.events.adapt`); the binner counts it in the flat cell
``p * h * w + ((lo_y[y] + dy) // ds) * w + (lo_x[x] + dx) // ds``. One table per axis maps a
source coordinate straight to its cell term, with flag bits above the cells: "dropped", and
"a move would change the cell" (the source pixel straddles two target pixels that lie in
different cells). Only flagged events need the draw: 1280x720 -> 128x128, downsample 4 flags
~4 % of the kept columns and rows, where the adapter hashes every event. The rest is three
gathers and one sum per event, and the times of the kept events.

Falls back to ``binner.push(adapter(events))`` where the tables do not apply: an identity
adapter (it keeps out-of-sensor events, which the binner must refuse), a downsample that
leaves a margin (the binner's margin rule), a target that is not the binner's sensor, and
frames too large for the flag bits.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from asa_live.events.adapt import SensorAdapter, area_draws
from asa_live.events.binning import BinnedWindow, StreamingBinner
from asa_live.events.dtype import EVENT_DTYPE

__all__ = ["AdaptingBinner"]

# Flag bits above every cell index (cells < _MOVE_X): distinct bits, so that the sum of an
# event's three terms carries none of them into another.
_MOVE_X, _MOVE_Y = 1 << 22, 1 << 23
_DROP_X, _DROP_Y = 1 << 26, 1 << 27
_BAD_P = 1 << 28
_CELL_MASK = _MOVE_X - 1
_RECORD = np.dtype((np.void, EVENT_DTYPE.itemsize))


class AdaptingBinner:
    """``push(events)`` (source coordinates) -> the windows ``binner.push(adapter(events))``
    would close, with the same binner state afterwards. ``binner`` stays usable on its own
    (``flush``, ``reset``, ``advance_to``)."""

    def __init__(self, adapter: SensorAdapter, binner: StreamingBinner) -> None:
        self.adapter = adapter
        self.binner = binner
        out_h, out_w = binner.frame_shape[1:]
        fused = (
            not adapter.is_identity
            and not binner.crops_margin
            and adapter.target_size == binner.sensor_size
            and 2 * out_h * out_w <= _CELL_MASK
        )
        self._tables = (
            _cell_tables(adapter, binner.downsample, binner.cell_index_dtype) if fused else None
        )
        self._work: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def fused(self) -> bool:
        """Whether pushes take the fused path (else adapter then binner)."""
        return self._tables is not None

    def push(self, events: np.ndarray) -> list[BinnedWindow]:
        """Add a packet in source coordinates; returns the windows it closed, oldest first."""
        if self._tables is None:
            return self.binner.push(self.adapter(events))
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
            raise ValueError("SensorAdapter: events must be an EVENT_DTYPE array")
        if len(events) == 0:
            return []
        cells = self._cells(events)
        if cells is None:  # p > 1 on a kept event: let the binner say so, as it would
            return self.binner.push(self.adapter(events))
        t, cells = cells
        return self.binner.push_cells(t, cells)

    def _buffers(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cells, scratch and times for ``n`` events, reused from packet to packet (the
        binner consumes them within the push): fresh ones of a 64 Ki-event packet are
        mmap-sized and fault their pages in again on every packet."""
        if self._work is None or len(self._work[2]) < n:
            size = max(n, 1 << 16)
            dtype = self._tables[0].dtype
            self._work = (np.empty(size, dtype), np.empty(size, dtype), np.empty(size, np.int64))
        cells, scratch, t = self._work
        return cells[:n], scratch[:n], t[:n]

    def _cells(self, events: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(times, flat cells) of the kept events, or None if a kept event has p > 1."""
        table_x, table_y, table_p, shares = self._tables
        cells, scratch, t = self._buffers(len(events))
        np.take(table_x, events["x"], out=cells, mode="clip")
        cells += np.take(table_y, events["y"], out=scratch, mode="clip")
        cells += np.take(table_p, events["p"], out=scratch, mode="clip")
        top = int(cells.max())
        if top < _MOVE_X:
            np.copyto(t, events["t"])
            return t, cells
        if top >= _BAD_P and bool(((cells >= _BAD_P) & (cells < _BAD_P + _DROP_X)).any()):
            return None
        # the flagged kept events: _MOVE_X <= cell < _DROP_X, one unsigned comparison
        np.subtract(cells, _MOVE_X, out=scratch)
        flagged = np.flatnonzero(scratch.view(_unsigned(scratch.dtype)) < _DROP_X - _MOVE_X)
        if len(flagged):
            cells[flagged] = self._moved(
                events.view(_RECORD)[flagged].view(EVENT_DTYPE), cells[flagged], shares
            )
        if top < _DROP_X:
            np.copyto(t, events["t"])
            return t, cells
        keep = cells < _DROP_X
        n_kept = int(np.count_nonzero(keep))
        if n_kept * 8 >= len(cells) * 7:  # a predictable mask (np.compress: 2x slower)
            return events["t"][keep], cells[keep]
        # indices then gathers: a boolean take with a mixed mask is ~4x slower
        kept = np.flatnonzero(keep)
        t, kept_cells = t[:n_kept], scratch[:n_kept]
        np.take(events["t"], kept, out=t, mode="clip")
        np.take(cells, kept, out=kept_cells, mode="clip")
        return t, kept_cells

    def _moved(
        self, part: np.ndarray, cells: np.ndarray, shares: tuple[np.ndarray | None, ...]
    ) -> np.ndarray:
        """Apply the area draw to flagged kept events: a move crosses into the next cell."""
        share_x, share_y = shares
        draw_x, draw_y = area_draws(part)
        if share_x is not None:
            move = (cells & _MOVE_X) != 0
            move &= draw_x >= np.take(share_x, part["x"], mode="clip")
            cells += move
        if share_y is not None:
            move = (cells & _MOVE_Y) != 0
            move &= draw_y >= np.take(share_y, part["y"], mode="clip")
            cells += move * cells.dtype.type(self.binner.frame_shape[2])
        cells &= _CELL_MASK
        return cells


def _unsigned(dtype: np.dtype) -> type:
    return np.uint64 if dtype == np.int64 else np.uint32


@lru_cache(maxsize=32)
def _cell_tables(
    adapter: SensorAdapter, downsample: int, dtype: type
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray | None, np.ndarray | None]]:
    """Source x -> ``x' // ds`` (+ flags), source y -> ``(y' // ds) * w`` (+ flags),
    p -> ``p * h * w`` (``_BAD_P`` for p > 1), and the adapter's shares; shared, read-only."""
    (x_lo, x_share), (y_lo, y_share) = adapter.axis_tables
    tw, th = adapter.target_size
    out_w = tw // downsample
    table_x = _axis_table(x_lo, x_share, tw, downsample, 1, _MOVE_X, _DROP_X)
    table_y = _axis_table(y_lo, y_share, th, downsample, out_w, _MOVE_Y, _DROP_Y)
    table_p = np.full(256, _BAD_P, np.int64)
    table_p[:2] = (0, out_w * (th // downsample))
    tables = tuple(table.astype(dtype) for table in (table_x, table_y, table_p))
    for table in tables:
        table.flags.writeable = False
    return (*tables, (x_share, y_share))


def _axis_table(
    lo: np.ndarray,
    share: np.ndarray | None,
    target: int,
    ds: int,
    stride: int,
    move: int,
    drop: int,
) -> np.ndarray:
    first = lo.astype(np.int64)
    dropped = first >= target
    table = np.where(dropped, drop, (first // ds) * stride)
    if share is not None:
        # a move to first + 1 (never past the target: see the adapter) changes the cell
        crosses = ~dropped & (share < 65536) & (first + 1 < target)
        crosses &= (first + 1) // ds != first // ds
        table += np.where(crosses, move, 0)
    return table
