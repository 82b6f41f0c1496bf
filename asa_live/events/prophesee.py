"""Prophesee recordings: RAW (EVT 2.0 / 2.1 / 3.0, with a ``%`` header or headerless) and DAT.

* EVT 3.0 with a header streams through eventcv (``[prophesee]`` extra, Apache-2.0): its
  ``open(path, max_events=N)`` decodes slices on demand through a sparse byte/time index, so
  a long file never loads whole. Its events are exactly those of ``eventcv.load``, which
  reads files up to ``EVENTCV_WHOLE_BYTES`` (4 MiB) in one go: building the index costs
  about as much as decoding, so a short file reads twice as fast whole.
* EVT 2.0 / 2.1 go through :mod:`asa_live.events.evt2` (eventcv reads EVT 2.0 only whole and
  has no EVT 2.1), headerless EVT 3.0 through :mod:`asa_live.events.evt3`, DAT through a
  fixed-record numpy reader (eventcv loads DAT whole). All are checked event for event
  against eventcv on the real files.

Sensor size: the caller's ``sensor_size``, else the header's ``% geometry WxH`` (or
``% format ...;width=W;height=H``), else the sensor named by ``% plugin_name``, else an error
asking for ``--sensor-size``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asa_live.errors import InputFileError
from asa_live.events.dtype import EVENT_DTYPE
from asa_live.events.evt2 import WORD_BYTES, EvtDecoder
from asa_live.events.evt3 import Evt3Decoder
from asa_live.events.file_source import FileSource, check_file, read_chunks

__all__ = [
    "RAW_VERSIONS",
    "DatSource",
    "from_eventcv_columns",
    "PropheseeHeader",
    "RawSource",
    "read_header",
]

RAW_VERSIONS = ("evt2", "evt21", "evt3")
PACKET_EVENTS = 1 << 16
# EVT 3.0 files up to this size are decoded whole by eventcv (at most ~1 M events, ~50 MB
# while converting); longer ones stream through its sparse index.
EVENTCV_WHOLE_BYTES = 4 << 20
_TRIGGER_CHUNK_WORDS = 1 << 19
# Sensors named by old headers that carry no geometry line (plugin name -> width, height).
_PLUGIN_SENSORS = (
    ("genx320", (320, 320)),
    ("imx636", (1280, 720)),
    ("imx8", (640, 512)),
    ("gen41", (1280, 720)),
    ("gen4", (1280, 720)),
    ("gen31", (640, 480)),
    ("gen3", (640, 480)),
)
# '% evt 2.0' lines and '% format EVT3;...' names, lower-cased, spaces removed.
_VERSION_NAMES = {
    **{name: "evt2" for name in ("2.0", "evt2", "evt2.0")},
    **{name: "evt21" for name in ("2.1", "evt21", "evt2.1")},
    **{name: "evt3" for name in ("3.0", "evt3", "evt3.0")},
}


@dataclass
class PropheseeHeader:
    """The ``%`` lines of a RAW or DAT file: ``data_offset`` (first byte after them),
    ``fields`` (key -> value), ``version`` (evt2 / evt21 / evt3 or None) and ``geometry``."""

    data_offset: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    version: str | None = None
    geometry: tuple[int, int] | None = None


def read_header(path: Path) -> PropheseeHeader:
    """Parse the leading ``% key value`` lines (stopping after ``% end`` or at binary data)."""
    header = PropheseeHeader()
    with open(path, "rb") as f:
        while True:
            start = f.tell()
            line = f.readline(4096)
            if not line.startswith(b"%") or not line.endswith(b"\n"):
                if line.startswith(b"% ") and not line.endswith(b"\n"):
                    raise InputFileError(
                        f"'{path.name}' ends inside its '%' header: the recording is truncated."
                    )
                header.data_offset = start
                break
            text = line[1:].decode("ascii", "replace").strip()
            if text.lower() == "end":
                header.data_offset = f.tell()
                break
            key, _, value = text.partition(" ")
            header.fields[key.lower()] = value.strip()
    header.version = _header_version(path, header.fields)
    header.geometry = _header_geometry(path, header.fields)
    return header


def _header_version(path: Path, fields: dict[str, str]) -> str | None:
    if "evt" in fields:
        text = fields["evt"].lower()
    elif "format" in fields:
        text = fields["format"].split(";")[0].lower()
    else:
        return None
    version = _VERSION_NAMES.get(text.replace(" ", ""))
    if version is None:
        raise InputFileError(
            f"'{path.name}' is Prophesee RAW of encoding '{text}', which asa-live cannot read: "
            "supported are EVT 2.0, 2.1 and 3.0."
        )
    return version


def _header_geometry(path: Path, fields: dict[str, str]) -> tuple[int, int] | None:
    text = fields.get("geometry")
    if text is None and "format" in fields:
        parts = dict(p.split("=", 1) for p in fields["format"].split(";")[1:] if "=" in p)
        if "width" in parts and "height" in parts:
            text = f"{parts['width']}x{parts['height']}"
    if text is None and "width" in fields and "height" in fields:
        text = f"{fields['width']}x{fields['height']}"
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d{1,5})\s*x\s*(\d{1,5})\s*", text)
    if match is None or not (0 < int(match[1]) <= 65535 and 0 < int(match[2]) <= 65535):
        raise InputFileError(
            f"'{path.name}' has a malformed sensor geometry '{text}' in its header: "
            "give the size with --sensor-size WxH."
        )
    return int(match[1]), int(match[2])


def _sensor_size(
    path: Path, header: PropheseeHeader, sensor_size: tuple[int, int] | None
) -> tuple[int, int]:
    if sensor_size is not None:
        return sensor_size
    if header.geometry is not None:
        return header.geometry
    plugin = header.fields.get("plugin_name", "").lower()
    for key, size in _PLUGIN_SENSORS:
        if key in plugin:
            return size
    what = "has no header" if not header.fields else "does not state its sensor size"
    raise InputFileError(
        f"'{path.name}' {what}: give the sensor size with --sensor-size WxH (e.g. 1280x720)."
    )


class RawSource(FileSource):
    """A Prophesee RAW file: EVT 2.0, 2.1 or 3.0, with a ``%`` header or (given ``format``
    and ``sensor_size``) headerless."""

    def __init__(
        self,
        path: str | os.PathLike,
        format: str | None = None,
        sensor_size: tuple[int, int] | None = None,
        packet_events: int = PACKET_EVENTS,
    ) -> None:
        path = check_file(path)
        self.header = read_header(path)
        version = format or self.header.version
        if version is None:
            raise InputFileError(
                f"'{path.name}' has no '% evt' header line: give its encoding with "
                "--format evt2|evt21|evt3 and its size with --sensor-size WxH."
            )
        if version not in RAW_VERSIONS:
            raise InputFileError(
                f"'{path.name}': unknown RAW encoding '{version}' (use evt2, evt21 or evt3)."
            )
        super().__init__(path, _sensor_size(path, self.header, sensor_size))
        self.format = version
        self.packet_events = int(packet_events)
        payload = path.stat().st_size - self.header.data_offset
        word = 2 if version == "evt3" else WORD_BYTES[version]
        if payload % word:
            raise InputFileError(
                f"'{path.name}' ends inside a {word}-byte {version} word: "
                "the recording is truncated."
            )

    def _packets(self) -> Iterator[np.ndarray]:
        if self.format == "evt3" and self.header.version == "evt3":
            yield from self._evt3_packets()  # eventcv needs the header to know the encoding
            return
        decoder = Evt3Decoder() if self.format == "evt3" else EvtDecoder(self.format)
        word_bytes = 2 if self.format == "evt3" else WORD_BYTES[self.format]
        dtype = "<u2" if self.format == "evt3" else decoder.word_dtype
        chunk = self.packet_events * word_bytes
        try:
            for data in read_chunks(self.path, self.header.data_offset, word_bytes, chunk):
                yield decoder.decode(np.frombuffer(data, dtype))
        finally:
            self.triggers = decoder.triggers

    def _evt3_packets(self) -> Iterator[np.ndarray]:
        try:
            import eventcv  # optional [prophesee] extra: only EVT 3.0 with a header needs it
        except ImportError:
            raise InputFileError(
                f"Reading EVT 3.0 ('{self.name}') needs eventcv: pip install 'asa-live[prophesee]'."
            ) from None
        try:
            for columns in self._eventcv_columns(eventcv):
                events = from_eventcv_columns(columns)
                for start in range(0, len(events), self.packet_events):
                    yield events[start : start + self.packet_events]
        except (ValueError, RuntimeError, OSError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise InputFileError(f"eventcv cannot read '{self.name}' ({reason}).") from None
        self._count_triggers_at = self.header.data_offset

    def _eventcv_columns(self, eventcv) -> Iterator[np.ndarray]:
        """eventcv's (N, 4) columns: a short file in one ``load`` (one decode and no sparse
        index: 2x faster on a 0.6 MB file), a longer one slice by slice (bounded memory)."""
        if self.path.stat().st_size <= EVENTCV_WHOLE_BYTES:
            yield eventcv.load(str(self.path), sensor_size=self.sensor_size).numpy()
            return
        reader = eventcv.open(
            str(self.path), max_events=self.packet_events, sensor_size=self.sensor_size
        )
        for index in range(reader.n_slices):
            yield reader.slice(index).numpy()

    @property
    def triggers(self) -> int:
        """EXT_TRIGGER words skipped so far. eventcv (EVT 3.0 with a header) skips them
        silently; they are counted from the file when first asked for after a complete pass,
        since counting reads the whole file once more and a replay never asks."""
        if self._count_triggers_at is not None:
            self._triggers = count_evt3_triggers(self.path, self._count_triggers_at)
            self._count_triggers_at = None
        return self._triggers

    @triggers.setter
    def triggers(self, value: int) -> None:
        self._triggers = value
        self._count_triggers_at = None


def count_evt3_triggers(path: Path, offset: int) -> int:
    """EXT_TRIGGER words (type 0xA) in an EVT 3.0 stream; eventcv skips them silently.

    Reads into one reused buffer: a fresh 2 MiB ``bytes`` per chunk costs more in page
    faults than the count itself."""
    total = 0
    buffer = np.empty(_TRIGGER_CHUNK_WORDS, "<u2")
    kind = np.empty(_TRIGGER_CHUNK_WORDS, "<u2")
    with open(path, "rb") as f:
        f.seek(offset)
        while n_bytes := f.readinto(memoryview(buffer).cast("B")):
            n = n_bytes // 2  # a trailing odd byte: RawSource refused the file already
            np.right_shift(buffer[:n], 12, out=kind[:n])
            total += int(np.count_nonzero(kind[:n] == 0xA))
    return total


def from_eventcv_columns(columns: np.ndarray) -> np.ndarray:
    """eventcv's (N, 4) uint64 columns x, y, t, p -> EVENT_DTYPE."""
    out = np.empty(len(columns), EVENT_DTYPE)
    out["x"] = columns[:, 0]
    out["y"] = columns[:, 1]
    out["t"] = columns[:, 2]
    out["p"] = columns[:, 3]
    return out


class DatSource(FileSource):
    """A Prophesee DAT file (``% Data file containing ... events``): after the header, an event
    type byte and an event size byte (8), then 8-byte records: uint32 t (us), uint32 with x in
    bits 13..0, y in 27..14 and polarity in 31..28."""

    format = "dat"

    def __init__(
        self,
        path: str | os.PathLike,
        sensor_size: tuple[int, int] | None = None,
        packet_events: int = PACKET_EVENTS,
    ) -> None:
        path = check_file(path)
        self.header = read_header(path)
        size = path.stat().st_size
        if size < self.header.data_offset + 2:
            raise InputFileError(f"'{path.name}' ends before its first event: it is truncated.")
        with open(path, "rb") as f:
            f.seek(self.header.data_offset)
            event_type, event_size = f.read(2)
        if event_size != 8:
            raise InputFileError(
                f"'{path.name}' has {event_size}-byte events (type {event_type}): "
                "asa-live reads the 8-byte CD events of DAT files only."
            )
        self.data_offset = self.header.data_offset + 2
        if (size - self.data_offset) % 8:
            raise InputFileError(
                f"'{path.name}' ends inside an 8-byte event: the recording is truncated."
            )
        super().__init__(path, _sensor_size(path, self.header, sensor_size))
        self.packet_events = int(packet_events)

    def _packets(self) -> Iterator[np.ndarray]:
        chunk = self.packet_events * 8
        for data in read_chunks(self.path, self.data_offset, 8, chunk):
            words = np.frombuffer(data, "<u4").reshape(-1, 2)
            packed = words[:, 1]
            out = np.empty(len(words), EVENT_DTYPE)
            out["t"] = words[:, 0]
            out["x"] = packed & 0x3FFF
            out["y"] = (packed >> 14) & 0x3FFF
            out["p"] = (packed >> 28) != 0
            yield out
