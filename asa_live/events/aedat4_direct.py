"""AEDAT4 events read straight from the file's layout, decompressed outside the GIL.

    file    = "#!AER-DAT4.0\\r\\n" | u32 n | IOHeader flatbuffer (n bytes) | packet* | data table
    IOHeader = { compression: i32 (0 none, 1 LZ4, 2 LZ4 high, 3 Zstd, 4 Zstd high);
                 dataTablePosition: i64 = -1; infoNode: string (XML naming the streams) }
    packet  = i32 stream id | u32 size | size bytes (one LZ4 frame, or raw)
    payload = size-prefixed flatbuffer "EVTS": EventPacket { elements: [Event] },
              Event = { i64 t; i16 x; i16 y; bool on } padded to 16 bytes

Why not dv-processing here: its decoder (and the ``aedat`` crate's) holds the GIL, so a
reader thread cannot overlap decoding with binning; python-lz4 releases it, and so do the
file reads and numpy's record copies. The events of a payload are viewed in place as dv's
own record (the bytes ``EventStore.numpy()`` returns), then gathered and converted by
:func:`~asa_live.events.aedat4.gather_packets` exactly as dv's batches are.

Only files read exactly are taken: LZ4 or uncompressed, one event stream. Anything else
(Zstd, several event streams, a header this parser does not know, python-lz4 absent) makes
:func:`open_direct` return None, and :func:`stream_aedat4` reads with dv-processing.
"""

from __future__ import annotations

import itertools
import os
import struct
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from asa_live.errors import InputFileError
from asa_live.events.aedat4 import (
    _DV_EVENT,
    PACKET_EVENTS,
    PACKET_US,
    gather_packets,
    iter_aedat4,
    open_aedat4,
)
from asa_live.events.aedat4_prefetch import prefetch

__all__ = ["DirectLayout", "iter_direct", "open_direct", "stream_aedat4"]

MAGIC = b"#!AER-DAT4.0\r\n"
_NONE, _LZ4, _LZ4_HIGH = 0, 1, 2
_EVENT_BYTES = 16
_PACKET_HEADER = struct.Struct("<iI")
# First guess of a payload's size for python-lz4: with a bound it allocates once instead of
# growing its output (0.10 s instead of 0.18 s per 10 M events here); a larger payload is
# still read whole, in more steps.
_FIRST_GUESS = 1 << 18


@dataclass(frozen=True)
class DirectLayout:
    """Where a file's event packets are: ``first_packet`` (byte offset), ``data_end`` (the
    data table's offset, or -1 when the file has none), ``event_stream`` (its id) and
    ``compression`` (0 none, 1 / 2 LZ4)."""

    compression: int
    first_packet: int
    data_end: int
    event_stream: int


def _field(buf: bytes, table: int, index: int) -> int | None:
    """Position of field ``index`` of the flatbuffer table at ``table``; None if absent."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    vtable_bytes = struct.unpack_from("<H", buf, vtable)[0]
    if 4 + 2 * index >= vtable_bytes:
        return None
    offset = struct.unpack_from("<H", buf, vtable + 4 + 2 * index)[0]
    return table + offset if offset else None


def _event_streams(description: str) -> list[int]:
    """Ids of the EVTS streams named in the header's XML (``outInfo/<id>/typeIdentifier``)."""
    root = ElementTree.fromstring(description)
    ids = []
    for node in root.iter("node"):
        if node.get("name") != "outInfo":
            continue
        for stream in node.findall("node"):
            kinds = [a.text for a in stream.findall("attr") if a.get("key") == "typeIdentifier"]
            if kinds == ["EVTS"]:
                ids.append(int(stream.get("name", "")))
    return ids


def read_layout(path: Path) -> DirectLayout | None:
    """The layout of an AEDAT4 file this module reads exactly, or None (see module doc)."""
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            return None
        (n,) = struct.unpack("<I", f.read(4))
        buf = f.read(n)
    root = struct.unpack_from("<I", buf, 0)[0]
    at = _field(buf, root, 0)
    compression = struct.unpack_from("<i", buf, at)[0] if at is not None else _NONE
    at = _field(buf, root, 1)
    data_end = struct.unpack_from("<q", buf, at)[0] if at is not None else -1
    at = _field(buf, root, 2)
    if at is None or compression not in (_NONE, _LZ4, _LZ4_HIGH):
        return None
    text = at + struct.unpack_from("<I", buf, at)[0]
    length = struct.unpack_from("<I", buf, text)[0]
    streams = _event_streams(buf[text + 4 : text + 4 + length].decode("utf-8"))
    if len(streams) != 1:
        return None
    return DirectLayout(compression, len(MAGIC) + 4 + n, data_end, streams[0])


def _lz4_frame() -> Any:
    try:
        import lz4.frame  # optional (the "fast" extra): without it dv-processing reads
    except ImportError:
        return None
    return lz4.frame


def open_direct(path: str | os.PathLike) -> DirectLayout | None:
    """The file's layout if this module can read its events exactly, else None."""
    try:
        layout = read_layout(Path(path))
    except (OSError, struct.error, ValueError, UnicodeDecodeError, ElementTree.ParseError):
        return None  # dv-processing reads it, or words why it cannot
    if layout is None or (layout.compression != _NONE and _lz4_frame() is None):
        return None
    return layout


def _damaged(path: Path, at: int, why: str) -> InputFileError:
    return InputFileError(
        f"Cannot read '{path}' as an AEDAT4 recording ({why} at byte {at}): "
        "check that it is a complete .aedat4 file written by DV or asa-live."
    )


def _decompress(lz4_frame: Any, raw: bytes, guess: int) -> bytes:
    """One LZ4 frame, decompressed (RuntimeError if it is damaged or cut short)."""
    decompressor = lz4_frame.LZ4FrameDecompressor()
    parts = [decompressor.decompress(raw, max_length=guess)]
    while not decompressor.eof:
        more = decompressor.decompress(b"", max_length=guess)
        if not more and decompressor.needs_input:
            raise RuntimeError("LZ4 frame cut short")
        parts.append(more)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _events_view(payload: bytes) -> np.ndarray:
    """The events of one size-prefixed EVTS flatbuffer, viewed in place (dv's record).
    ValueError / struct.error if the payload is not such a flatbuffer."""
    if len(payload) < 12 or payload[8:12] != b"EVTS":
        raise ValueError("an event packet without its EVTS identifier")
    table = 4 + struct.unpack_from("<I", payload, 4)[0]
    at = _field(payload, table, 0)
    if at is None:
        return np.zeros(0, _DV_EVENT)
    vector = at + struct.unpack_from("<I", payload, at)[0]
    (n,) = struct.unpack_from("<I", payload, vector)
    if vector + 4 + n * _EVENT_BYTES > len(payload):
        raise ValueError("an event packet longer than its payload")
    return np.frombuffer(payload, _DV_EVENT, n, vector + 4)


def iter_direct_batches(path: Path, layout: DirectLayout) -> Iterator[np.ndarray]:
    """The event stream's packets in file order, as dv-record views (one per packet)."""
    lz4_frame = _lz4_frame() if layout.compression != _NONE else None
    guess = _FIRST_GUESS
    with open(path, "rb") as f:
        at = f.seek(layout.first_packet)
        while layout.data_end < 0 or at < layout.data_end:
            head = f.read(_PACKET_HEADER.size)
            if not head and layout.data_end < 0:
                return
            if len(head) < _PACKET_HEADER.size:
                raise _damaged(path, at, "the file ends inside a packet header")
            stream, size = _PACKET_HEADER.unpack(head)
            if stream != layout.event_stream:
                at = f.seek(size, os.SEEK_CUR)
                continue
            raw = f.read(size)
            if len(raw) < size:
                raise _damaged(path, at, "the file ends inside a packet")
            try:
                payload = _decompress(lz4_frame, raw, guess) if lz4_frame else raw
                events = _events_view(payload)
            except (RuntimeError, ValueError, struct.error) as err:
                raise _damaged(path, at, f"a damaged event packet: {err}") from None
            guess = max(guess, len(payload))
            at += _PACKET_HEADER.size + size
            if len(events):
                yield events


def iter_direct(
    path: str | os.PathLike,
    layout: DirectLayout,
    packet_events: int = PACKET_EVENTS,
    packet_us: int = PACKET_US,
    batches_only: bool = False,
) -> Iterator[np.ndarray]:
    """EVENT_DTYPE packets of the file, gathered exactly as :func:`iter_aedat4` gathers;
    with ``batches_only``, the file's event packets as dv-record views instead."""
    batches = iter_direct_batches(Path(path), layout)
    yield from batches if batches_only else gather_packets(batches, packet_events, packet_us)


def stream_aedat4(
    path: str | os.PathLike,
    packet_events: int = PACKET_EVENTS,
    packet_us: int = PACKET_US,
    threaded: bool = True,
) -> Iterator[np.ndarray]:
    """The events of an AEDAT4 file as EVENT_DTYPE packets, through the fastest reader here.

    The file is opened by dv-processing first, so a file it refuses (damaged, truncated, no
    event stream) is refused here in the same words; its packets then equal
    :func:`~asa_live.events.aedat4.iter_aedat4`'s, which reads whenever
    :func:`open_direct` declines the file. With ``threaded``, the direct
    reader runs in a reader thread (file reads and LZ4 outside the GIL) up to 4 x 32 Ki
    events ahead, and the conversion into EVENT_DTYPE stays in the consumer's thread: that split
    balances the two threads best when the consumer bins (measured: reader 0.11 CPU-s,
    consumer 0.13 per 10 M events; 0.16 / 0.10 with the conversion in the reader).
    """
    recording = open_aedat4(path)
    layout = open_direct(path)
    if layout is None:
        yield from iter_aedat4(path, recording, packet_events, packet_us)
        return
    del recording
    if not threaded:
        yield from iter_direct(path, layout, packet_events, packet_us)
        return
    groups = prefetch(lambda: _grouped(iter_direct(path, layout, batches_only=True)), depth=4)
    yield from gather_packets(itertools.chain.from_iterable(groups), packet_events, packet_us)


def _grouped(batches: Iterator[np.ndarray]) -> Iterator[list[np.ndarray]]:
    """Batches in lists of about PACKET_EVENTS events: one hand-over between the threads per
    list instead of per file packet (the consumer's CPU time was 15 % lower here). On a
    damaged file, the list begun is handed over before the error."""
    group: list[np.ndarray] = []
    n = 0
    try:
        for batch in batches:
            group.append(batch)
            n += len(batch)
            if n >= PACKET_EVENTS:
                yield group
                group, n = [], 0
    except InputFileError:
        if group:
            yield group
        raise
    if group:
        yield group
