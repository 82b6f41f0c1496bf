"""Event sources: iterables of EVENT_DTYPE packets that know their sensor size.

Every source has ``sensor_size`` (width, height), ``name``, ``close()`` and works as a context
manager. Iterating yields packets in time order (t in microseconds); readers stream packet by
packet, so an hour-long recording never has to fit in memory.

* :class:`Aedat4FileSource`: AEDAT4 file replay through dv-processing, as fast as possible
  (``speed=None``) or paced in real time at ``speed`` x (0.1 .. 100), optionally looping;
* :class:`~asa_live.events.camera.CameraSource`: a live camera through ``dv.io.camera``;
* :class:`IbmAedatSource`: DVS128 Gesture AEDAT 3.1 ``.aedat`` (numpy reader);
* :class:`TonicNpySource`: tonic's DVSGesture ``.npy`` (t in ms -> us);
* :class:`ArraySource`: an in-memory array cut into ``packet_us`` slices.

:func:`open_source` picks one by suffix (``.aedat4``, ``.aedat``, ``.npy``) or ``camera`` /
``camera:SERIAL``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from asa_live.errors import ConfigError
from asa_live.events.camera import CameraSource
from asa_live.events.dtype import EVENT_DTYPE
from asa_live.events.formats import detect_format, open_file_source
from asa_live.events.prophesee_camera import PropheseeCameraSource

__all__ = [
    "Aedat4FileSource",
    "ArraySource",
    "CameraSource",
    "EventSource",
    "IbmAedatSource",
    "Pacer",
    "TonicNpySource",
    "open_source",
]

MIN_SPEED = 0.1
MAX_SPEED = 100.0


@runtime_checkable
class EventSource(Protocol):
    """An iterable of EVENT_DTYPE packets with a known sensor geometry."""

    sensor_size: tuple[int, int]
    name: str

    def __iter__(self) -> Iterator[np.ndarray]: ...

    def close(self) -> None: ...

    def __enter__(self) -> EventSource: ...

    def __exit__(self, *exc: object) -> None: ...


class _SourceBase:
    sensor_size: tuple[int, int]
    name: str

    def __init__(self) -> None:
        self._closed = False

    def close(self) -> None:
        """Stop iteration at the next packet and release the file."""
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, sensor_size={self.sensor_size})"


class Pacer:
    """Releases packets in real time at ``speed`` x: a packet whose last event is at
    ``t_us`` leaves when ``(t_us - t_first) / speed`` has elapsed since the first packet.

    One ``sleep`` per packet (never a busy loop); a consumer that falls behind is not slowed
    further. ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        speed: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.speed = _check_speed(speed)
        self._clock = clock
        self._sleep = sleep
        self._t_first: int | None = None
        self._wall_first = 0.0

    def wait_for(self, t_us: int) -> None:
        """Sleep until the wall-clock moment of event time ``t_us``."""
        now = self._clock()
        if self._t_first is None:
            self._t_first = int(t_us)
            self._wall_first = now
            return
        due = self._wall_first + (int(t_us) - self._t_first) / (self.speed * 1e6)
        if due > now:
            self._sleep(due - now)


def _check_speed(speed: float) -> float:
    try:
        speed = float(speed)
    except (TypeError, ValueError):
        raise ConfigError(f"The replay speed must be a number, got {speed!r}.") from None
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ConfigError(
            f"The replay speed must be between {MIN_SPEED}x and {MAX_SPEED:g}x, got {speed:g}x."
        )
    return speed


class Aedat4FileSource(_SourceBase):
    """Replay of an AEDAT4 file (dv-processing), one packet per dv event batch.

    ``speed=None`` reads as fast as possible; a float in [0.1, 100] paces the packets in real
    time at that factor. ``loop=True`` starts over at the end; each new pass is shifted by the
    file's duration + 1 us so that time keeps increasing (binners see no backwards jump).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        speed: float | None = None,
        loop: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from asa_live.events.aedat4 import aedat4_info

        super().__init__()
        self.path = Path(path)
        self.speed = None if speed is None else _check_speed(speed)
        self.loop = bool(loop)
        self._clock = clock
        self._sleep = sleep
        info = aedat4_info(self.path)  # opens once: a bad file fails here, not mid-run
        self.info = info
        self.sensor_size = info.sensor_size
        self.name = self.path.name

    def __iter__(self) -> Iterator[np.ndarray]:
        pacer = Pacer(self.speed, self._clock, self._sleep) if self.speed else None
        for packet in self._passes():
            if pacer is not None:
                pacer.wait_for(int(packet["t"][-1]))
            yield packet

    def _passes(self) -> Iterator[np.ndarray]:
        from asa_live.events.aedat4 import iter_aedat4, open_aedat4

        offset = 0
        while not self._closed:
            recording = open_aedat4(self.path)
            t_lo, t_hi = None, None
            for packet in iter_aedat4(self.path, recording=recording):
                if self._closed:
                    return
                if t_lo is None:
                    t_lo = int(packet["t"][0])
                t_hi = int(packet["t"][-1])
                if offset:
                    packet["t"] += offset
                yield packet
            if not self.loop or t_lo is None:
                return
            offset += t_hi - t_lo + 1


class IbmAedatSource(_SourceBase):
    """DVS128 Gesture AEDAT 3.1 file, streamed packet by packet (numpy reader).

    ``speed`` (optional, 0.1 .. 100) paces the packets in real time like a file replay.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        max_events_per_packet: int = 1 << 16,
        speed: float | None = None,
    ) -> None:
        from asa_live.events.ibm import read_aedat31_header

        super().__init__()
        self.path = Path(path)
        self.header = read_aedat31_header(self.path)
        self.sensor_size = self.header.sensor_size
        self.name = self.path.name
        self.max_events_per_packet = max_events_per_packet
        self.speed = None if speed is None else _check_speed(speed)

    def __iter__(self) -> Iterator[np.ndarray]:
        from asa_live.events.ibm import iter_aedat31

        pacer = Pacer(self.speed) if self.speed else None
        for packet in iter_aedat31(self.path, self.max_events_per_packet):
            if self._closed:
                return
            if pacer is not None:
                pacer.wait_for(int(packet["t"][-1]))
            yield packet


class TonicNpySource(_SourceBase):
    """One tonic DVSGesture sample (``.npy``, t in ms, converted to us), 128x128.

    ``speed`` (optional, 0.1 .. 100) paces the packets in real time like a file replay.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        packet_events: int = 1 << 16,
        speed: float | None = None,
    ) -> None:
        from asa_live.events.tonic_npy import TONIC_SENSOR_SIZE, _load

        super().__init__()
        self.path = Path(path)
        _load(self.path)  # validate now
        self.sensor_size = TONIC_SENSOR_SIZE
        self.name = self.path.name
        self.packet_events = packet_events
        self.speed = None if speed is None else _check_speed(speed)

    def __iter__(self) -> Iterator[np.ndarray]:
        from asa_live.events.tonic_npy import iter_tonic_npy

        pacer = Pacer(self.speed) if self.speed else None
        for packet in iter_tonic_npy(self.path, self.packet_events, self.sensor_size):
            if self._closed:
                return
            if pacer is not None:
                pacer.wait_for(int(packet["t"][-1]))
            yield packet


class ArraySource(_SourceBase):
    """In-memory events cut into consecutive ``packet_us`` slices (sorted by time first).

    Empty slices are not yielded. ``speed`` (optional) paces the slices like a file replay.
    """

    def __init__(
        self,
        events: np.ndarray,
        sensor_size: tuple[int, int],
        packet_us: int = 10_000,
        name: str = "array",
        speed: float | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
            raise ValueError("ArraySource: events must be an EVENT_DTYPE array")
        if packet_us < 1:
            raise ValueError(f"ArraySource: packet_us must be >= 1, got {packet_us}")
        t = events["t"]
        if len(events) > 1 and np.any(t[1:] < t[:-1]):
            events = events[np.argsort(t, kind="stable")]
        self.events = events
        self.sensor_size = (int(sensor_size[0]), int(sensor_size[1]))
        self.packet_us = int(packet_us)
        self.name = name
        self.speed = None if speed is None else _check_speed(speed)

    def __iter__(self) -> Iterator[np.ndarray]:
        if len(self.events) == 0:
            return
        t = self.events["t"]
        t0 = int(t[0])
        n_packets = (int(t[-1]) - t0) // self.packet_us + 1
        edges = t0 + np.arange(n_packets + 1, dtype=np.int64) * self.packet_us
        bounds = np.searchsorted(t, edges, side="left")
        pacer = Pacer(self.speed) if self.speed else None
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            if self._closed:
                return
            if b > a:
                packet = self.events[a:b]
                if pacer is not None:
                    pacer.wait_for(int(packet["t"][-1]))
                yield packet


def open_source(
    spec: str | os.PathLike, format: str | None = None, sensor_size: object = None, **kw
) -> EventSource:
    """Open a source by ``format``, else by file suffix or content; or ``camera[:SERIAL]``
    (iniVation, dv-processing), ``prophesee[:SERIAL]`` (eventcv).

    Formats: .aedat4, .aedat, .npy, Prophesee .raw (EVT 2.0/2.1/3.0) and .dat, t,x,y,p .csv;
    ``format="evt2" | "evt21" | "evt3"`` with ``sensor_size=(W, H)`` or ``"WxH"`` reads a
    headerless Prophesee stream. Other keyword arguments go to the chosen source.
    """
    text = str(spec)
    if text == "camera" or text.startswith("camera:"):
        serial = text.split(":", 1)[1] or None if ":" in text else None
        return CameraSource(serial=serial, **kw)
    if text == "prophesee" or text.startswith("prophesee:"):
        serial = text.split(":", 1)[1] or None if ":" in text else None
        return PropheseeCameraSource(serial=serial, **kw)
    path = Path(text)
    kind = detect_format(path, format)
    if kind in ("aedat4", "aedat", "npy") and sensor_size is not None:
        raise ConfigError(f"A .{kind} file states its own sensor size: drop --sensor-size.")
    if kind == "aedat4":
        return Aedat4FileSource(path, **kw)
    if kind == "aedat":
        return IbmAedatSource(path, **kw)
    if kind == "npy":
        return TonicNpySource(path, **kw)
    return open_file_source(path, kind, sensor_size, **kw)
