"""Event sources: iterables of EVENT_DTYPE packets that know their sensor size.

Every source has ``sensor_size`` (width, height), ``name``, ``close()`` and works as a context
manager. Iterating yields packets in time order (t in microseconds); readers stream packet by
packet, so an hour-long recording never has to fit in memory.

* :class:`Aedat4FileSource`: AEDAT4 file replay (direct reader in a thread, or dv-processing);
* :class:`~asa_live.events.camera.CameraSource`: a live camera through ``dv.io.camera``;
* :class:`IbmAedatSource`: DVS128 Gesture AEDAT 3.1 ``.aedat`` (numpy reader);
* :class:`TonicNpySource`: tonic's DVSGesture ``.npy`` (t in ms -> us);
* :class:`ArraySource`: an in-memory array cut into ``packet_us`` slices.

:func:`open_source` picks one by suffix (``.aedat4``, ``.aedat``, ``.npy``) or ``camera`` /
``camera:SERIAL``.

Sources are plain readers: they yield packets as fast as they are read. Pacing (real time at
a speed factor) and looping belong to the pipeline (:mod:`asa_live.pipeline.pacing`,
:class:`asa_live.pipeline.sources.LoopingSource`), the same for every format.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from asa_live.errors import ConfigError
from asa_live.events.aedat4 import aedat4_info
from asa_live.events.aedat4_direct import stream_aedat4
from asa_live.events.camera import CameraSource
from asa_live.events.dtype import EVENT_DTYPE
from asa_live.events.formats import detect_format, open_file_source
from asa_live.events.ibm import iter_aedat31, read_aedat31_header
from asa_live.events.prophesee_camera import PropheseeCameraSource
from asa_live.events.source_base import SourceBase
from asa_live.events.tonic_npy import TONIC_SENSOR_SIZE, _load, iter_tonic_npy

__all__ = [
    "Aedat4FileSource",
    "ArraySource",
    "CameraSource",
    "EventSource",
    "IbmAedatSource",
    "TonicNpySource",
    "open_source",
]


@runtime_checkable
class EventSource(Protocol):
    """An iterable of EVENT_DTYPE packets with a known sensor geometry."""

    sensor_size: tuple[int, int]
    name: str

    def __iter__(self) -> Iterator[np.ndarray]: ...

    def close(self) -> None: ...

    def __enter__(self) -> EventSource: ...

    def __exit__(self, *exc: object) -> None: ...


class Aedat4FileSource(SourceBase):
    """Replay of an AEDAT4 file: EVENT_DTYPE packets of up to 32 Ki events / 100 ms, read in a
    reader thread when the direct reader takes the file, else by dv-processing
    (:func:`~asa_live.events.aedat4_direct.stream_aedat4`)."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__()
        self.path = Path(path)
        info = aedat4_info(self.path)  # opens once: a bad file fails here, not mid-run
        self.info = info
        self.sensor_size = info.sensor_size
        self.name = self.path.name

    def __iter__(self) -> Iterator[np.ndarray]:
        yield from self._until_closed(stream_aedat4(self.path))


class IbmAedatSource(SourceBase):
    """DVS128 Gesture AEDAT 3.1 file, streamed packet by packet (numpy reader)."""

    def __init__(
        self,
        path: str | os.PathLike,
        max_events_per_packet: int = 1 << 16,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.header = read_aedat31_header(self.path)
        self.sensor_size = self.header.sensor_size
        self.name = self.path.name
        self.max_events_per_packet = max_events_per_packet

    def __iter__(self) -> Iterator[np.ndarray]:
        yield from self._until_closed(iter_aedat31(self.path, self.max_events_per_packet))


class TonicNpySource(SourceBase):
    """One tonic DVSGesture sample (``.npy``, t in ms, converted to us), 128x128."""

    def __init__(
        self,
        path: str | os.PathLike,
        packet_events: int = 1 << 16,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        _load(self.path)  # validate now
        self.sensor_size = TONIC_SENSOR_SIZE
        self.name = self.path.name
        self.packet_events = packet_events

    def __iter__(self) -> Iterator[np.ndarray]:
        packets = iter_tonic_npy(self.path, self.packet_events, self.sensor_size)
        yield from self._until_closed(packets)


class ArraySource(SourceBase):
    """In-memory events cut into consecutive ``packet_us`` slices (sorted by time first).

    Empty slices are not yielded.
    """

    def __init__(
        self,
        events: np.ndarray,
        sensor_size: tuple[int, int],
        packet_us: int = 10_000,
        name: str = "array",
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

    def __iter__(self) -> Iterator[np.ndarray]:
        if len(self.events) == 0:
            return
        t = self.events["t"]
        t0 = int(t[0])
        n_packets = (int(t[-1]) - t0) // self.packet_us + 1
        edges = t0 + np.arange(n_packets + 1, dtype=np.int64) * self.packet_us
        bounds = np.searchsorted(t, edges, side="left")
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            if self._closed:
                return
            if b > a:
                packet = self.events[a:b]
                yield packet


def open_source(
    spec: str | os.PathLike, format: str | None = None, sensor_size: object = None, **kw
) -> EventSource:
    """Open a source by ``format``, else by file suffix or content; or ``camera[:SERIAL]``
    (iniVation, dv-processing), ``prophesee[:SERIAL]`` (eventcv).

    Formats: .aedat4, .aedat, .npy, Prophesee .raw (EVT 2.0/2.1/3.0) and .dat, t,x,y,p .csv;
    ``format="evt2" | "evt21" | "evt3"`` with ``sensor_size=(W, H)`` or ``"WxH"`` reads a
    headerless Prophesee stream. Other keyword arguments go to the chosen source. Sources are
    plain unpaced readers: pacing and looping belong to the pipeline (asa_live.pipeline).
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
