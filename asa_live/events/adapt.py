"""Sensor adaptation: map any sensor's events onto the model's input geometry (128x128).

Rules (``mode``), vectorised integer numpy, never interpolating (every kept event stays one
event):

* ``"crop_scale"`` (default): centre-crop the sensor to the target's aspect ratio (a square
  for 128x128: the central ``min(W, H)`` columns/rows), then scale that crop to the target.
  Keeps the whole height of a landscape sensor (the person's full figure), drops the side
  margins. e.g. 346x260 -> central 260x260 -> 128x128; 240x180 -> 180x180 -> 128x128.
* ``"crop"``: centre-crop (or centre-pad, for a smaller sensor) to the target without any
  scaling: ``x' = x - (W - tw) // 2``; events that fall outside are dropped.
* ``"scale"``: scale each axis on its own, no crop (the aspect ratio changes; every event is
  kept).

Scaling a crop of ``c`` source pixels onto ``t`` target pixels (``t < c``):

* ``area=True`` (default): source pixel ``i`` covers the target interval
  ``[i * t / c, (i + 1) * t / c)``, which overlaps at most two target pixels; an event goes to
  the second one with probability equal to the overlap fraction, decided by a fixed hash of
  the event's (t, x, y) (deterministic, no RNG state). Every target pixel then receives the
  same expected share of a uniform scene. With plain nearest mapping and a non-integer ratio
  (e.g. 240 -> 128, 1.875), target pixels collect alternately 1 and 2 source pixels, which
  paints a fixed stripe pattern onto every frame; ``area=True`` removes it.
* ``area=False``: nearest, ``x' = (x - x0) * t // c`` (exact stripes for non-integer ratios).

For an integer ratio (256 -> 128) both are the same. Upscaling (``t > c``) always uses nearest.
Counts are preserved inside the kept area. Polarity is untouched (0 = OFF, 1 = ON).

:class:`NoiseFilter` wraps dv-processing's ``BackgroundActivityNoiseFilter`` (optional).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from asa_live.errors import ConfigError
from asa_live.events.dtype import EVENT_DTYPE

__all__ = ["ADAPT_MODES", "NoiseFilter", "SensorAdapter", "area_draws"]

ADAPT_MODES = ("crop_scale", "crop", "scale")
_RECORD = np.dtype((np.void, EVENT_DTYPE.itemsize))
# Which uint16 of a uint64 holds its bits 32..47 and 48..63.
_HALF_X, _HALF_Y = (2, 3) if np.little_endian else (1, 0)


@dataclass(frozen=True)
class SensorAdapter:
    """Maps events of a ``sensor_size`` (width, height) sensor to ``target_size``.

    ``__call__(events) -> events`` in target coordinates (events outside the kept area are
    dropped). ``region`` is the source rectangle ``(x0, y0, width, height)`` that is kept.
    """

    sensor_size: tuple[int, int]
    target_size: tuple[int, int] = (128, 128)
    mode: str = "crop_scale"
    area: bool = True
    region: tuple[int, int, int, int] = field(init=False)

    def __post_init__(self) -> None:
        if self.mode not in ADAPT_MODES:
            raise ConfigError(
                f"Unknown sensor adaptation mode '{self.mode}': use one of {', '.join(ADAPT_MODES)}."
            )
        width, height = (int(v) for v in self.sensor_size)
        tw, th = (int(v) for v in self.target_size)
        if min(width, height, tw, th) < 1:
            raise ValueError(
                f"sizes must be positive: sensor {self.sensor_size}, target {self.target_size}"
            )
        object.__setattr__(self, "sensor_size", (width, height))
        object.__setattr__(self, "target_size", (tw, th))
        if self.mode == "crop_scale":
            # the largest centred rectangle with the target's aspect ratio
            if width * th >= height * tw:  # (at least one pixel, on a sliver of a sensor)
                ch, cw = height, max(1, height * tw // th)
            else:
                cw, ch = width, max(1, width * th // tw)
            region = ((width - cw) // 2, (height - ch) // 2, cw, ch)
        elif self.mode == "crop":
            region = ((width - tw) // 2, (height - th) // 2, tw, th)
        else:
            region = (0, 0, width, height)
        object.__setattr__(self, "region", region)

    @property
    def is_identity(self) -> bool:
        return self.sensor_size == self.target_size

    def __call__(self, events: np.ndarray) -> np.ndarray:
        """``events`` (EVENT_DTYPE, sensor coordinates) -> EVENT_DTYPE in target coordinates."""
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
            raise ValueError("SensorAdapter: events must be an EVENT_DTYPE array")
        if self.is_identity or len(events) == 0:
            return events
        tw, th = self.target_size
        # one gather per axis through lookup tables (source coordinate -> first target
        # coordinate, or tw / th for a dropped one; and the 16-bit share of the source pixel
        # that falls on that first target pixel) instead of per-event arithmetic
        (x_lo, x_share), (y_lo, y_share) = self.axis_tables
        xs = events["x"]
        ys = events["y"]
        x = np.take(x_lo, xs, mode="clip")
        y = np.take(y_lo, ys, mode="clip")
        # Drop first (an area draw never moves a kept pixel out of the target), then work on
        # the kept events only. Copies and takes go through an opaque record of the same size:
        # on the packed structured dtype they are ~50x slower (see events/transforms.py).
        keep = x < tw
        keep &= y < th
        n_kept = int(np.count_nonzero(keep))
        if n_kept == len(events):
            out = events.view(_RECORD).copy().view(EVENT_DTYPE)
        elif n_kept * 8 >= len(events) * 7:  # almost all kept: the mask is predictable
            out = events.view(_RECORD)[keep].view(EVENT_DTYPE)
            xs, ys, x, y = out["x"], out["y"], x[keep], y[keep]
        else:  # indices, then gathers: a mixed boolean mask mispredicts (2.5x slower)
            kept = np.flatnonzero(keep)
            out = np.take(events.view(_RECORD), kept).view(EVENT_DTYPE)
            xs, ys, x, y = out["x"], out["y"], np.take(x, kept), np.take(y, kept)
        if x_share is not None or y_share is not None:
            draw_x, draw_y = area_draws(out)
            if x_share is not None:
                x += draw_x >= np.take(x_share, xs, mode="clip")
            if y_share is not None:
                y += draw_y >= np.take(y_share, ys, mode="clip")
        out["x"] = x
        out["y"] = y
        return out

    @property
    def axis_tables(self) -> tuple[tuple[np.ndarray, np.ndarray | None], ...]:
        """``((x_lo, x_share), (y_lo, y_share))``, read-only, indexed by any uint16 source
        coordinate: its first target coordinate (the target's width / height: dropped) and,
        for area mapping, the 16-bit share below which the event's draw keeps it there (an
        event moves one pixel on when ``draw >= share``; None: no pixel ever moves)."""
        luts = self.__dict__.get("_lut_cache")
        if luts is None:
            x0, y0, cw, ch = self.region
            tw, th = self.target_size
            scale = self.mode != "crop"
            luts = (
                _axis_lut(self.sensor_size[0], x0, cw, tw, scale, self.area),
                _axis_lut(self.sensor_size[1], y0, ch, th, scale, self.area),
            )
            object.__setattr__(self, "_lut_cache", luts)
        return luts


def area_draws(events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The area mapping's 16-bit draws of each event along x and y: bits 32..47 and 48..63
    of its fixed hash, as views valid until the next call in this thread."""
    halves = _event_hash(events, *_work_buffers(len(events))).view(np.uint16).reshape(-1, 4)
    return halves[:, _HALF_X], halves[:, _HALF_Y]


def _event_hash(events: np.ndarray, key: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """A fixed, stateless 'random' draw per event from (t, x, y), so the same events always
    map the same way (splitmix64-style multiply / xor-shift): 32 well-mixed bits, the upper
    half of the returned ``key`` (``>> 32``). ``key`` and ``tmp``: uint64 buffers as long as
    ``events``; each product is one pass."""
    np.multiply(events["t"].view(np.uint64), np.uint64(0x9E3779B97F4A7C15), out=key)
    np.multiply(events["x"], np.uint64(0xC2B2AE3D27D4EB4F), out=tmp, dtype=np.uint64)
    key ^= tmp
    np.multiply(events["y"], np.uint64(0x165667B19E3779F9), out=tmp, dtype=np.uint64)
    key ^= tmp
    np.right_shift(key, np.uint64(31), out=tmp)
    key ^= tmp
    key *= np.uint64(0xBF58476D1CE4E5B9)
    np.right_shift(key, np.uint64(29), out=tmp)
    key ^= tmp
    return key


class _WorkBuffers(threading.local):
    """Per-thread hash buffers for packets up to _WORK_EVENTS: fresh 0.5 MiB temporaries
    per packet are returned to the OS and fault their pages in again on every call."""

    def __init__(self) -> None:
        self.key = np.empty(_WORK_EVENTS, np.uint64)
        self.tmp = np.empty(_WORK_EVENTS, np.uint64)


def _work_buffers(n: int) -> tuple[np.ndarray, np.ndarray]:
    if n > _WORK_EVENTS:
        return np.empty(n, np.uint64), np.empty(n, np.uint64)
    return _WORK.key[:n], _WORK.tmp[:n]


_WORK_EVENTS = 1 << 16
_WORK = _WorkBuffers()


# Building the tables costs ~1 ms per adapter (two 64 Ki-entry int64 passes); a replay opens
# an adapter per file (and per loop), so they are shared, read-only.
@lru_cache(maxsize=64)
def _axis_lut(
    size: int, start: int, length: int, target: int, scale: bool, area: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per source coordinate (0..65535, so any uint16 indexes it): the first target coordinate
    (``target`` marks a dropped one), and, for area mapping, the 16-bit threshold below which
    a draw stays on it (None when no source pixel straddles two target pixels).

    Source pixel ``i`` (relative to ``start``) covers ``[i * target / length, (i + 1) * target
    / length)``; nearest mapping is ``i * target // length``."""
    i = np.arange(1 << 16, dtype=np.int64) - start
    inside = (i >= 0) & (i < length) & (np.arange(1 << 16) < size)
    if not scale:
        return _frozen(np.where(inside & (i < target), i, target).astype(np.uint16)), None
    first = i * target // length
    lo = _frozen(np.where(inside & (first < target), first, target).astype(np.uint16))
    if not area or target >= length:
        return lo, None
    # share of pixel i on `first`: (first + 1 - i * target / length) / (target / length)
    #   = ((first + 1) * length - i * target) / target, in [0, 1]; scaled to 0..65536
    share = ((first + 1) * length - i * target) * 65536 // target
    share = np.clip(share, 0, 65536)
    if not (share[inside] < 65536).any():
        return lo, None  # integer ratio: no pixel straddles two target pixels
    return lo, _frozen(share.astype(np.uint32))


def _frozen(table: np.ndarray) -> np.ndarray:
    table.flags.writeable = False
    return table


class NoiseFilter:
    """dv-processing's background-activity filter: drops an event unless a neighbouring pixel
    fired within ``background_activity_us`` before it. State carries across packets.

    Needs dv-processing. Cost is dominated by copying into a dv.EventStore (~7 M events/s).
    """

    def __init__(self, sensor_size: tuple[int, int], background_activity_us: int = 2000) -> None:
        import datetime

        try:
            import dv_processing as dv
        except ImportError:
            raise ConfigError(
                "Noise filtering needs dv-processing, which is not installed: "
                "run `pip install 'asa-live[camera]'` or turn the filter off."
            ) from None
        if background_activity_us < 1:
            raise ConfigError(
                f"The noise filter's time must be >= 1 us, got {background_activity_us}."
            )
        self._dv = dv
        self.sensor_size = (int(sensor_size[0]), int(sensor_size[1]))
        self._filter = dv.noise.BackgroundActivityNoiseFilter(
            self.sensor_size, datetime.timedelta(microseconds=int(background_activity_us))
        )

    def __call__(self, events: np.ndarray) -> np.ndarray:
        """Filter a time-sorted EVENT_DTYPE packet; returns the events that pass."""
        from asa_live.events.aedat4 import events_to_store, store_to_events

        if len(events) == 0:
            return events
        self._filter.accept(events_to_store(events))
        return store_to_events(self._filter.generateEvents())
