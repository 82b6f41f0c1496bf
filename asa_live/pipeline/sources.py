"""Opening the app's sources: one :class:`SourceSpec` for the CLI, the GUI start-up and Open.

A spec names a recording (path, optional format and sensor size for formats that need them,
loop, speed, labels) or a camera (serial number). ``open()`` gives a plain unpaced
EventSource (the pipeline's :class:`~asa_live.pipeline.pacing.Pacer` paces every file type the
same way and lets the speed change while running); ``labels()`` gives the ground truth.

A looping replay reopens the file after each pass and yields its own timestamps again; the
ingest stage sees the jump back, restarts the binner and the network state, and shifts the
later windows so that reported time keeps increasing (docs/events.md).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from asa_live.errors import AsaLiveError, ConfigError, InputFileError
from asa_live.events.sources import CameraSource, EventSource, open_source
from asa_live.pipeline.labels import GroundTruth, align_labels, labels_path_for
from asa_live.pipeline.pacing import check_speed


@dataclass(frozen=True)
class SourceSpec:
    """What to open: a recording (``path``) or a camera (``path`` None, optional ``serial``).

    Attributes:
        path: the recording; None for a camera.
        serial: the camera's serial number (None: the first camera found).
        loop: replay the file over and over.
        speed: replay speed (None: the caller's default: real time in the GUI, as fast as
            possible headless).
        format: the file format when the suffix does not tell it (passed to ``open_source``).
        sensor_size: (width, height) for formats that do not store it.
        labels_path: the labels CSV (default: ``<stem>_labels.csv`` beside the recording).
        use_labels: False ignores every labels CSV (``--no-labels``).
        labels_offset: None, microseconds added to the label times, or ``"auto"`` (labels
            that end before the recording starts are taken as relative to its first event).
    """

    path: Path | None = None
    serial: str | None = None
    loop: bool = False
    speed: float | None = None
    format: str | None = None
    sensor_size: tuple[int, int] | None = None
    labels_path: Path | None = None
    use_labels: bool = True
    labels_offset: str | int | None = None

    def __post_init__(self) -> None:
        if self.path is None and (self.loop or self.speed is not None):
            raise ConfigError("--loop and --speed apply to --replay only: a camera runs live.")
        check_speed(self.speed)

    @classmethod
    def replay(cls, path: str | os.PathLike, **kw: Any) -> SourceSpec:
        return cls(path=Path(path), **kw)

    @classmethod
    def camera(cls, serial: str | None = None) -> SourceSpec:
        """An iniVation camera by serial, or ``prophesee[:SERIAL]`` for a Prophesee camera."""
        return cls(serial=serial or None)

    @property
    def prophesee(self) -> bool:
        serial = self.serial or ""
        return self.path is None and (serial == "prophesee" or serial.startswith("prophesee:"))

    @property
    def live(self) -> bool:
        return self.path is None

    @property
    def name(self) -> str:
        if self.path is None:
            return f"camera {self.serial or ''}".strip()
        return self.path.name

    def open(self) -> EventSource:
        """A fresh, unpaced EventSource; InputFileError / CameraError (one sentence) if not."""
        if self.prophesee:
            return open_source(self.serial)
        if self.path is None:
            return CameraSource(self.serial)
        if not self.path.exists():
            raise InputFileError(f"The recording '{self.path}' does not exist: check the path.")
        if self.path.is_dir():
            raise InputFileError(f"'{self.path}' is a folder: give a recording file.")
        if self.loop:
            return LoopingSource(self._open_once)
        return self._open_once()

    def _open_once(self) -> EventSource:
        kw: dict[str, Any] = {}
        if self.format is not None:
            kw["format"] = self.format
        if self.sensor_size is not None:
            kw["sensor_size"] = self.sensor_size
        return open_source(self.path, **kw)

    def check(self) -> None:
        """Open and close once, so that a bad file or a missing camera fails here."""
        self.open().close()

    def scan_time_range(self) -> tuple[int, int] | None:
        """(first, last) event time of a recording, by reading it once (one pass of a plain
        reader, packet by packet: memory stays bounded); None for a camera or an unreadable
        or empty file. For the timeline of formats whose header does not state a duration."""
        if self.path is None:
            return None
        first = last = None
        try:
            with self._open_once() as source:
                for packet in source:
                    if len(packet):
                        first = int(packet["t"][0]) if first is None else first
                        last = int(packet["t"][-1])
        except AsaLiveError:
            return None
        return None if first is None or last <= first else (first, last)

    def labels(self) -> GroundTruth | None:
        """The ground truth: ``labels_path``, else the CSV beside the recording, else None.

        With ``labels_offset`` the times are moved (``"auto"``: see :func:`align_labels`);
        labels that end before the recording starts give one ``warnings.warn`` line.
        """
        if not self.use_labels or self.path is None:
            return None
        path = self.labels_path
        found = path is None
        if found:
            path = labels_path_for(self.path)
            if path is None:
                return None
        try:
            truth = GroundTruth.from_csv(path)
        except InputFileError as err:
            if not found:
                raise
            raise InputFileError(
                f"{str(err).rstrip('.')} (found beside the recording): fix it, or replay "
                "without it with --no-labels."
            ) from None
        truth, problem = align_labels(truth, self.first_event_us(), self.labels_offset, path.name)
        if problem:
            warnings.warn(problem, stacklevel=2)
        return truth

    def labels_with_notes(self) -> tuple[GroundTruth | None, list[str]]:
        """For the window: the labels and their warnings as text. A broken CSV found beside
        the recording does not block the replay there: it is a note and no labels."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                truth = self.labels()
            except InputFileError as err:
                if self.labels_path is not None:
                    raise
                truth, caught = None, [*caught, f"labels ignored: {err}"]
        return truth, [str(getattr(w, "message", w)) for w in caught]

    def first_event_us(self) -> int | None:
        """The recording's first timestamp (one packet is read), None if it has no events."""
        with contextlib.closing(self._open_once()) as source:
            for packet in source:
                if len(packet):
                    return int(packet["t"][0])
        return None


def open_replay(path: str | os.PathLike, loop: bool = False) -> EventSource:
    """Shorthand for ``SourceSpec.replay(path, loop=loop).open()``."""
    return SourceSpec.replay(path, loop=loop).open()


def open_camera(serial: str | None = None) -> EventSource:
    """Shorthand for ``SourceSpec.camera(serial).open()``."""
    return SourceSpec.camera(serial).open()


class LoopingSource:
    """Replays a file source over and over: ``open_once()`` is called for every pass.

    A pass that yields no events ends the loop (an empty file would otherwise spin).
    """

    def __init__(self, open_once: Callable[[], Any]) -> None:
        self._open_once = open_once
        self._current = open_once()
        self.sensor_size = tuple(self._current.sensor_size)
        self.name = f"{getattr(self._current, 'name', 'replay')} (looping)"
        self.passes = 0
        self._closed = False

    def __iter__(self) -> Iterator[np.ndarray]:
        while not self._closed:
            got_events = False
            for packet in self._current:
                got_events = got_events or len(packet) > 0
                yield packet
            self.passes += 1
            if not got_events or self._closed:
                return
            self._current.close()
            self._current = self._open_once()

    def close(self) -> None:
        self._closed = True
        self._current.close()

    def __enter__(self) -> LoopingSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SeekedSource:
    """A source read from ``t_us`` on: earlier events are skipped (read, not paced), then
    every packet passes, including those of a looping source's later passes."""

    def __init__(self, source: Any, t_us: int) -> None:
        self.inner, self.t_us = source, int(t_us)
        self.sensor_size = tuple(source.sensor_size)
        self.name = getattr(source, "name", "replay")

    def __iter__(self) -> Iterator[np.ndarray]:
        packets = iter(self.inner)
        for packet in packets:
            if len(packet) and packet["t"][-1] >= self.t_us:
                yield packet[np.searchsorted(packet["t"], self.t_us, side="left") :]
                break
        yield from packets

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # path, info, ... of the file source

    def close(self) -> None:
        self.inner.close()
