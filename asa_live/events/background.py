"""Events that are added to a recording: sensor noise, hot pixels, real background scenes.

Everything here produces time-sorted EVENT_DTYPE arrays and merges them into a sorted stream:

* :func:`poisson_times`: the times of a Poisson process of ``rate_hz`` on ``[t_start, t_end)``,
  already sorted (uniform order statistics from normalised exponential gaps, O(n), no sort);
* :func:`background_activity`: every pixel fires independently at ``hz_per_px`` (a Poisson
  process of rate ``hz_per_px * W * H``, each event on a uniformly drawn pixel, random
  polarity): the shot / leak noise of a DVS pixel array;
* :func:`hot_pixels`: ``count`` distinct pixels each firing at ``hz`` with one fixed polarity
  each (a stuck pixel fires one sign), as the superposition of their Poisson processes;
* :func:`merge_sorted`: the sorted union of two sorted streams (a vectorised merge, ties keep
  the first stream's events first);
* :class:`BackgroundPool`: random crops in time of real recordings (``.aedat4``, ``.aedat``,
  ``.npy`` in a folder, opened with :func:`~asa_live.events.sources.open_source`), mapped to
  the target sensor with :class:`~asa_live.events.adapt.SensorAdapter`. Memory-bounded: only
  the requested span is ever held (AEDAT4 seeks to it through dv-processing's time index; the
  other formats are streamed packet by packet and reading stops at the span's end).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from asa_live.errors import InputFileError
from asa_live.events.adapt import SensorAdapter
from asa_live.events.aedat4 import aedat4_info, open_aedat4, store_to_events
from asa_live.events.dtype import EVENT_DTYPE, empty_events, make_events
from asa_live.events.sources import open_source
from asa_live.events.transforms import RECORD

__all__ = [
    "BACKGROUND_SUFFIXES",
    "BackgroundPool",
    "background_activity",
    "hot_pixels",
    "merge_sorted",
    "poisson_times",
]

BACKGROUND_SUFFIXES = (".aedat4", ".aedat", ".npy")


def poisson_times(
    rate_hz: float, t_start_us: int, t_end_us: int, rng: np.random.Generator
) -> np.ndarray:
    """Sorted int64 times (us) of a Poisson process of ``rate_hz`` on ``[t_start_us, t_end_us)``.

    The count is Poisson(rate * duration); given the count, the times are uniform order
    statistics, drawn sorted as normalised cumulative sums of exponentials."""
    duration_us = int(t_end_us) - int(t_start_us)
    if rate_hz <= 0 or duration_us <= 0:
        return np.zeros(0, np.int64)
    n = int(rng.poisson(rate_hz * duration_us * 1e-6))
    if n == 0:
        return np.zeros(0, np.int64)
    gaps = rng.standard_exponential(n + 1)
    cum = np.cumsum(gaps)
    frac = cum[:-1] / cum[-1]  # sorted, in (0, 1)
    return int(t_start_us) + (frac * duration_us).astype(np.int64)


def background_activity(
    hz_per_px: float,
    t_start_us: int,
    t_end_us: int,
    sensor_size: tuple[int, int],
    rng: np.random.Generator,
) -> np.ndarray:
    """Uniform background-activity noise: each pixel fires at ``hz_per_px``, polarity 50/50."""
    width, height = sensor_size
    t = poisson_times(hz_per_px * width * height, t_start_us, t_end_us, rng)
    return make_events(
        t,
        rng.integers(0, width, len(t), dtype=np.uint16),
        rng.integers(0, height, len(t), dtype=np.uint16),
        rng.integers(0, 2, len(t), dtype=np.uint8),
    )


def hot_pixels(
    count: int,
    hz: float,
    t_start_us: int,
    t_end_us: int,
    sensor_size: tuple[int, int],
    rng: np.random.Generator,
) -> np.ndarray:
    """``count`` distinct random pixels, each firing at ``hz`` with its own fixed polarity."""
    width, height = sensor_size
    count = min(int(count), width * height)
    if count <= 0:
        return empty_events()
    pixels = rng.choice(width * height, size=count, replace=False)
    polarity = rng.integers(0, 2, count, dtype=np.uint8)
    # equal rates: the superposition is one process of count * hz, each event on a random pixel
    t = poisson_times(count * hz, t_start_us, t_end_us, rng)
    which = rng.integers(0, count, len(t))
    return make_events(t, pixels[which] % width, pixels[which] // width, polarity[which])


def merge_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The time-sorted union of two time-sorted EVENT_DTYPE arrays (``a`` first on ties)."""
    if len(b) == 0:
        return a
    if len(a) == 0:
        return b
    # b[j] lands after every a event with t <= b[j].t and after the j earlier b events
    pos_b = np.searchsorted(a["t"], b["t"], side="right") + np.arange(len(b))
    out = np.empty(len(a) + len(b), RECORD)  # records move as raw bytes (see transforms)
    from_a = np.ones(len(out), bool)
    from_a[pos_b] = False
    out[pos_b] = b.view(RECORD)
    out[from_a] = a.view(RECORD)
    return out.view(EVENT_DTYPE)


class BackgroundPool:
    """Random time crops of real recordings, adapted to a target sensor, to mix into samples.

    ``BackgroundPool.from_dir(folder)`` takes every ``.aedat4``, ``.aedat`` and ``.npy`` file in
    ``folder`` (not recursive, sorted by name); ``BackgroundPool(paths)`` takes a list. Every
    file is opened once here, so a missing or unreadable file fails now with an
    InputFileError, not in the middle of training.

    ``crop(t_start_us, t_end_us, sensor_size, rng)`` picks a recording and a start uniformly,
    reads ``t_end - t_start`` us of it, shifts it onto ``[t_start, t_end)`` and maps it to
    ``sensor_size`` (``adapt_mode`` of :class:`SensorAdapter`). A recording shorter than the
    span is repeated end to end.
    """

    def __init__(self, paths: list[str | os.PathLike], adapt_mode: str = "crop_scale") -> None:
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise InputFileError("No background recordings were given: name at least one file.")
        self.adapt_mode = adapt_mode
        self.sensor_sizes: list[tuple[int, int]] = []
        for path in self.paths:
            if path.suffix.lower() not in BACKGROUND_SUFFIXES:
                raise InputFileError(
                    f"'{path}' is not a recording asa-live can mix in: give .aedat4, .aedat "
                    "or .npy files."
                )
            with open_source(path) as source:
                self.sensor_sizes.append(tuple(source.sensor_size))
        self._ranges: dict[int, tuple[int, int] | None] = {}
        self._adapters: dict[tuple[int, tuple[int, int]], SensorAdapter] = {}

    @classmethod
    def from_dir(cls, folder: str | os.PathLike, adapt_mode: str = "crop_scale") -> BackgroundPool:
        """Every recording (.aedat4, .aedat, .npy) directly inside ``folder``."""
        folder = Path(folder)
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise InputFileError(
                f"The background folder '{folder}' {what}: give a folder of recordings."
            )
        files = sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in BACKGROUND_SUFFIXES
        )
        if not files:
            raise InputFileError(
                f"The background folder '{folder}' holds no .aedat4, .aedat or .npy recording."
            )
        return cls(files, adapt_mode)

    def __len__(self) -> int:
        return len(self.paths)

    def time_range(self, index: int) -> tuple[int, int] | None:
        """(first, last) event time of recording ``index`` (None if it holds no events)."""
        if index not in self._ranges:
            self._ranges[index] = _time_range(self.paths[index])
        return self._ranges[index]

    def crop(
        self,
        t_start_us: int,
        t_end_us: int,
        sensor_size: tuple[int, int],
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Events of a random background crop on ``[t_start_us, t_end_us)``, time-sorted,
        in ``sensor_size`` coordinates."""
        span = int(t_end_us) - int(t_start_us)
        index = int(rng.integers(len(self.paths)))
        limits = self.time_range(index)
        if span <= 0 or limits is None:
            return empty_events()
        first, last = limits
        length = last - first + 1
        adapt = self._adapter(index, sensor_size)
        if length >= span:
            a = first + int(rng.integers(0, length - span + 1))
            events = adapt(_read_span(self.paths[index], a, a + span))
            events["t"] += int(t_start_us) - a
            return events
        # shorter than the span: the whole recording, adapted once, repeated end to end
        whole = adapt(_read_span(self.paths[index], first, last + 1))
        reps = -(-span // length)
        events = np.tile(whole.view(RECORD), reps).view(EVENT_DTYPE)
        events["t"] += np.repeat(np.arange(reps, dtype=np.int64) * length, len(whole))
        events["t"] += int(t_start_us) - first
        return events[: np.searchsorted(events["t"], int(t_end_us), side="left")]

    def _adapter(self, index: int, sensor_size: tuple[int, int]) -> SensorAdapter:
        key = (index, (int(sensor_size[0]), int(sensor_size[1])))
        if key not in self._adapters:
            self._adapters[key] = SensorAdapter(
                self.sensor_sizes[index], key[1], mode=self.adapt_mode
            )
        return self._adapters[key]


def _time_range(path: Path) -> tuple[int, int] | None:
    if path.suffix.lower() == ".aedat4":
        first, last = aedat4_info(path).time_range_us
        return int(first), int(last)
    first = last = None
    with open_source(path) as source:
        for packet in source:
            if first is None:
                first = int(packet["t"][0])
            last = int(packet["t"][-1])
    return None if first is None else (first, last)


def _read_span(path: Path, a_us: int, b_us: int) -> np.ndarray:
    """The events of ``path`` with ``a_us <= t < b_us``, holding no more than that span."""
    if path.suffix.lower() == ".aedat4":
        recording = open_aedat4(path)
        try:
            store = recording.getEventsTimeRange(int(a_us), int(b_us))
        except (RuntimeError, IndexError, ValueError):
            raise InputFileError(
                f"Cannot read the background recording '{path}': the AEDAT4 file is damaged."
            ) from None
        return empty_events() if store is None else store_to_events(store)
    parts = []
    with open_source(path) as source:
        for packet in source:
            t = packet["t"]
            if t[-1] < a_us:
                continue
            lo = np.searchsorted(t, a_us, side="left")
            hi = np.searchsorted(t, b_us, side="left")
            parts.append(packet[lo:hi].view(RECORD))  # the concatenation copies
            if hi < len(packet):
                break
    return np.concatenate(parts).view(EVENT_DTYPE) if parts else empty_events()
