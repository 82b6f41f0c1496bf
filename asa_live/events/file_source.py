"""What every file source of the Prophesee / CSV family shares: the EventSource surface, a
streamed read in fixed-size byte chunks, and the sensor guard that drops (and counts) events
outside the sensor and refuses a header whose geometry is plainly wrong."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from asa_live.errors import InputFileError
from asa_live.events.dtype import EVENT_DTYPE
from asa_live.events.source_base import SourceBase

__all__ = ["FileSource", "SensorGuard", "check_file", "parse_sensor_size", "read_chunks"]

_RECORD = np.dtype((np.void, EVENT_DTYPE.itemsize))
CHUNK_BYTES = 1 << 21  # 2 MiB: 0.5 M EVT 2.0 words per packet, small enough to stay in cache


def check_file(path: str | os.PathLike) -> Path:
    """The path, if it names an existing file; InputFileError otherwise."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"The recording '{path}' does not exist: check the path.")
    if not path.is_file():
        raise InputFileError(f"The recording '{path}' is not a file: give a recording file.")
    return path


def parse_sensor_size(value: object) -> tuple[int, int]:
    """``(W, H)`` or ``"WxH"`` -> (width, height), each in 1..65535; ValueError otherwise
    (the callers word it as a ConfigError or an argparse error)."""
    if isinstance(value, str):
        parts = value.lower().replace(" ", "").split("x")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError(f"the sensor size must look like 1280x720, got {value!r}")
        width, height = int(parts[0]), int(parts[1])
    else:
        try:
            width, height = (int(v) for v in value)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise ValueError(f"the sensor size must be (width, height), got {value!r}") from None
    if not (1 <= width <= 65535 and 1 <= height <= 65535):
        raise ValueError(f"the sensor size must be 1..65535 on each side, got {width}x{height}")
    return width, height


def read_chunks(
    path: Path, offset: int, word_bytes: int, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[bytes]:
    """The file's bytes from ``offset`` in chunks of whole words; InputFileError if the file
    ends inside a word (a truncated recording)."""
    chunk_bytes = max(word_bytes, chunk_bytes // word_bytes * word_bytes)
    with open(path, "rb") as f:
        f.seek(offset)
        position = offset
        while True:
            data = f.read(chunk_bytes)
            if not data:
                return
            usable = len(data) // word_bytes * word_bytes
            if usable != len(data):
                raise InputFileError(
                    f"'{path.name}' ends inside a {word_bytes}-byte word at byte "
                    f"{position + usable}: the recording is truncated."
                )
            position += len(data)
            yield data


class SensorGuard:
    """Drops events outside ``sensor_size`` and counts them in ``dropped``.

    If most events of the first packets (at least ``check_events`` of them) lie outside, the
    stated geometry is wrong rather than a few events noisy: InputFileError naming the extent.
    """

    def __init__(self, sensor_size: tuple[int, int], name: str, check_events: int = 64) -> None:
        self.width, self.height = sensor_size
        self.name = name
        self.dropped = 0
        self.seen = 0
        self._check_events = check_events
        self._checked = False

    def __call__(self, packet: np.ndarray) -> np.ndarray:
        self.seen += len(packet)
        inside = None
        n_out = 0
        # the common case, every event inside, costs two reductions and no mask
        if len(packet) and (packet["x"].max() >= self.width or packet["y"].max() >= self.height):
            inside = (packet["x"] < self.width) & (packet["y"] < self.height)
            n_out = len(packet) - int(np.count_nonzero(inside))
        self.dropped += n_out
        if not self._checked and self.seen >= self._check_events:
            self._checked = True
            if self.dropped * 2 > self.seen:
                raise InputFileError(
                    f"{self.dropped:,} of the first {self.seen:,} events of '{self.name}' lie "
                    f"outside its {self.width}x{self.height} sensor (up to "
                    f"x={int(packet['x'].max())}, y={int(packet['y'].max())}): the stated size "
                    "is wrong; give the right one with --sensor-size WxH."
                )
        if inside is None:
            return packet
        # through an opaque record: boolean takes of the packed dtype are ~50x slower
        return packet.view(_RECORD)[inside].view(packet.dtype)

    def warn(self) -> None:
        if self.dropped:
            warnings.warn(
                f"{self.name}: dropped {self.dropped:,} events outside the "
                f"{self.width}x{self.height} sensor.",
                stacklevel=3,
            )


class FileSource(SourceBase):
    """Base of the file sources: ``sensor_size``, ``name``, ``format``, ``close()``, context
    manager, and counters ``dropped`` (outside the sensor) and ``triggers`` (skipped
    EXT_TRIGGER words). Iterating again starts the file over (re-openable) until ``close()``."""

    format: str = ""

    def __init__(self, path: Path, sensor_size: tuple[int, int]) -> None:
        self.path = path
        self.name = path.name
        self.sensor_size = sensor_size
        self.dropped = 0
        self.triggers = 0
        super().__init__()

    def __iter__(self) -> Iterator[np.ndarray]:
        guard = SensorGuard(self.sensor_size, self.name)
        try:
            for packet in self._packets():
                if self._closed:
                    return
                packet = guard(packet)
                if len(packet):
                    yield packet
        finally:
            self.dropped = guard.dropped
        guard.warn()

    def _packets(self) -> Iterator[np.ndarray]:
        raise NotImplementedError
