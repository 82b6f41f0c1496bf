"""DVS128 Gesture raw files: IBM's AEDAT 3.1 ``.aedat`` recordings, labels CSVs, trial lists.

Pure numpy. Layout (see ../shared/docs/dvsgesture-facts.md, section 5):

* a text header of lines starting with ``#`` (CRLF), from ``#!AER-DAT3.1`` to ``#!END-HEADER``;
* then packets, little-endian: a 28-byte header (eventType int16, eventSource int16,
  eventSize int32, eventTSOffset int32, eventTSOverflow int32, eventCapacity int32,
  eventNumber int32, eventValid int32) followed by ``eventCapacity * eventSize`` bytes;
* a polarity event (eventType 1) is 8 bytes: uint32 ``data`` (bit 0 valid, bit 1 polarity,
  bits 2-16 y, bits 17-31 x) then int32 ``timestamp`` in microseconds;
  ``t_us = (eventTSOverflow << 31) | timestamp``.

Reading streams packet by packet (:func:`iter_aedat31`), so an hour-long trial never has to
fit in memory. Policies for damaged input:

* missing file, not AEDAT 3.1, a corrupt packet header, or a file that ends inside a packet:
  :class:`~asa_live.errors.InputFileError` (one sentence, with the byte offset);
* packets of other event types (special events, frames, IMU) are skipped;
* events flagged invalid (bit 0 clear) are dropped, as libcaer does;
* events outside the sensor geometry named by the header are dropped and reported in one
  :func:`warnings.warn` at the end of the file.

Labels CSV (``class,startTime_usec,endTime_usec``, classes 1..11): :func:`read_labels_csv`
returns ``class_id`` 0..10. The header is required. A bad row (wrong field count, not an
integer, class outside 1..11, negative time, end not after start) is skipped with a
``warnings.warn`` naming its line; if no valid row remains, InputFileError is raised.
"""

from __future__ import annotations

import datetime as _dt
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asa_live.errors import InputFileError
from asa_live.events.dtype import EVENT_DTYPE, empty_events

__all__ = [
    "LABEL_DTYPE",
    "PACKET_HEADER_DTYPE",
    "Aedat31Header",
    "iter_aedat31",
    "read_aedat31",
    "read_aedat31_header",
    "read_labels_csv",
    "read_trial_list",
    "write_aedat31",
    "write_labels_csv",
]

PACKET_HEADER_DTYPE = np.dtype(
    [
        ("type", "<i2"),
        ("source", "<i2"),
        ("size", "<i4"),
        ("ts_offset", "<i4"),
        ("ts_overflow", "<i4"),
        ("capacity", "<i4"),
        ("number", "<i4"),
        ("valid", "<i4"),
    ]
)
_POLARITY_EVENT_DTYPE = np.dtype([("data", "<u4"), ("ts", "<i4")])
_POLARITY_TYPE = 1
_POLARITY_EVENT_SIZE = 8
_MAX_HEADER_BYTES = 1 << 20  # a real header is a few hundred bytes; stop random data early
_MAX_HEADER_LINE = 4096
_LABEL_HEADER = ("class", "starttime_usec", "endtime_usec")
_NUM_CLASSES = 11

#: One labelled gesture: ``class_id`` 0..10 (CSV class - 1), times in microseconds,
#: the segment is ``[start_us, end_us)``.
LABEL_DTYPE = np.dtype([("class_id", "<i4"), ("start_us", "<i8"), ("end_us", "<i8")])

# Sensor geometry (width, height) by the device name of the '#Source' header line.
_SOURCE_SIZES = {
    "DVS128": (128, 128),
    "DAVIS240": (240, 180),
    "DAVIS240A": (240, 180),
    "DAVIS240B": (240, 180),
    "DAVIS240C": (240, 180),
    "DAVIS346": (346, 260),
    "DAVIS346B": (346, 260),
    "DVXPLORER": (640, 480),
    "DVXPLORER_LITE": (320, 240),
}


@dataclass(frozen=True)
class Aedat31Header:
    """The text header of an AEDAT 3.1 file.

    ``data_offset`` is the byte offset of the first packet; ``sensor_size`` is (width, height)
    from the ``#Source`` line (128x128 when the device is unknown, as for DVS128 Gesture).
    """

    version: str
    source: str
    sensor_size: tuple[int, int]
    start_time: str
    data_offset: int


def _check_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"The {what} '{path}' does not exist: check the path.")
    if not path.is_file():
        raise InputFileError(f"The {what} '{path}' is not a file: give the path of a file.")
    return path


def read_aedat31_header(path: str | os.PathLike) -> Aedat31Header:
    """Parse the text header of an AEDAT 3.1 file; raises InputFileError if it is not one."""
    path = _check_file(path, "recording")
    with open(path, "rb") as f:
        return _parse_header(f, path)


def _parse_header(f, path: Path) -> Aedat31Header:
    first = f.readline(_MAX_HEADER_LINE)
    version = first.rstrip(b"\r\n").decode("latin-1")
    if not first.startswith(b"#!AER-DAT"):
        raise InputFileError(
            f"'{path}' is not an AEDAT 3.1 file (it does not start with '#!AER-DAT3.1'): "
            "give a DVS128 Gesture .aedat recording."
        )
    if not first.startswith(b"#!AER-DAT3.1"):
        raise InputFileError(
            f"'{path}' is '{version[2:]}', but only AEDAT 3.1 is supported for .aedat files: "
            "convert it or record AEDAT4 (.aedat4)."
        )
    source = ""
    start_time = ""
    while True:
        if f.tell() > _MAX_HEADER_BYTES:
            raise InputFileError(
                f"'{path}' has no '#!END-HEADER' line in its first {_MAX_HEADER_BYTES} bytes: "
                "the file is corrupted."
            )
        line = f.readline(_MAX_HEADER_LINE)
        if not line:
            raise InputFileError(
                f"'{path}' ends inside its text header (no '#!END-HEADER' line): "
                "the file is truncated."
            )
        if not line.startswith(b"#"):
            raise InputFileError(
                f"'{path}' has a header line that does not start with '#' before '#!END-HEADER': "
                "the file is corrupted."
            )
        text = line.rstrip(b"\r\n").decode("latin-1")
        if text.startswith("#!END-HEADER"):
            break
        if text.startswith("#Source") and ":" in text:
            source = text.split(":", 1)[1].strip()
        elif text.startswith("#Start-Time:"):
            start_time = text.split(":", 1)[1].strip()
    sensor_size = _SOURCE_SIZES.get(source.upper().split(" ")[0] if source else "", (128, 128))
    return Aedat31Header(version[2:], source, sensor_size, start_time, f.tell())


def iter_aedat31(
    path: str | os.PathLike, max_events_per_packet: int = 1 << 18
) -> Iterator[np.ndarray]:
    """Yield the polarity events of an AEDAT 3.1 file as EVENT_DTYPE packets.

    At most ``max_events_per_packet`` events per yielded packet (a larger file packet is cut),
    so memory stays bounded whatever the file size. Packets with no valid event are not
    yielded. Raises InputFileError for a missing, foreign, corrupt or truncated file.
    """
    if max_events_per_packet < 1:
        raise ValueError(f"max_events_per_packet must be >= 1, got {max_events_per_packet}")
    path = _check_file(path, "recording")
    width, height = 0, 0
    dropped_out_of_bounds = 0
    with open(path, "rb") as f:
        header = _parse_header(f, path)
        width, height = header.sensor_size
        file_size = os.fstat(f.fileno()).st_size
        offset = header.data_offset
        packet_index = 0
        while True:
            raw = f.read(PACKET_HEADER_DTYPE.itemsize)
            if not raw:
                break
            if len(raw) < PACKET_HEADER_DTYPE.itemsize:
                raise InputFileError(
                    f"'{path}' ends inside the header of packet {packet_index} at byte {offset}: "
                    "the file is truncated."
                )
            ph = np.frombuffer(raw, dtype=PACKET_HEADER_DTYPE)[0]
            size, capacity = int(ph["size"]), int(ph["capacity"])
            number, valid = int(ph["number"]), int(ph["valid"])
            if not (
                0 < size <= 1 << 16
                and 0 <= valid <= number <= capacity
                and ph["ts_overflow"] >= 0
                and 0 <= ph["ts_offset"] <= size - 4
            ):
                raise InputFileError(
                    f"'{path}' has a corrupt packet header (packet {packet_index} at byte "
                    f"{offset}: size {size}, capacity {capacity}, number {number}, "
                    f"valid {valid}): the file is damaged."
                )
            body_bytes = capacity * size
            body_start = offset + PACKET_HEADER_DTYPE.itemsize
            if body_start + body_bytes > file_size:
                raise InputFileError(
                    f"'{path}' ends inside packet {packet_index} (it needs {body_bytes} bytes "
                    f"from byte {body_start}, the file has {file_size}): the file is truncated."
                )
            is_polarity = int(ph["type"]) == _POLARITY_TYPE
            if is_polarity and (size != _POLARITY_EVENT_SIZE or int(ph["ts_offset"]) != 4):
                raise InputFileError(
                    f"'{path}' has a polarity packet with event size {size} and timestamp "
                    f"offset {int(ph['ts_offset'])} at byte {offset} (expected 8 and 4): "
                    "the file is damaged."
                )
            if not is_polarity or valid == 0:
                f.seek(body_bytes, os.SEEK_CUR)
            else:
                overflow = np.int64(ph["ts_overflow"]) << np.int64(31)
                remaining = number
                while remaining > 0:
                    n = min(remaining, max_events_per_packet)
                    block = np.frombuffer(f.read(n * 8), dtype=_POLARITY_EVENT_DTYPE)
                    remaining -= n
                    events, dropped = _decode_polarity(block, overflow, width, height)
                    dropped_out_of_bounds += dropped
                    if len(events):
                        yield events
                f.seek((capacity - number) * size, os.SEEK_CUR)
            offset = body_start + body_bytes
            packet_index += 1
    if dropped_out_of_bounds:
        warnings.warn(
            f"'{path}': dropped {dropped_out_of_bounds} events outside the {width}x{height} "
            f"sensor named by its header ('{header.source or 'unknown'}').",
            stacklevel=2,
        )


def _decode_polarity(
    block: np.ndarray, overflow: np.int64, width: int, height: int
) -> tuple[np.ndarray, int]:
    data = block["data"]
    keep = (data & 1).astype(bool)
    x = (data >> 17) & 0x7FFF
    y = (data >> 2) & 0x7FFF
    in_bounds = (x < width) & (y < height)
    dropped = int(np.count_nonzero(keep & ~in_bounds))
    keep &= in_bounds
    sel = slice(None) if keep.all() else np.flatnonzero(keep)
    out = np.empty(len(data) if isinstance(sel, slice) else len(sel), dtype=EVENT_DTYPE)
    # The 32-bit timestamp is kept non-negative by the camera; masking the sign bit keeps a
    # corrupt negative value from borrowing into the overflow bits.
    out["t"] = overflow | (block["ts"][sel].astype(np.int64) & 0x7FFFFFFF)
    out["x"] = x[sel]
    out["y"] = y[sel]
    out["p"] = (data[sel] >> 1) & 1
    return out, dropped


def read_aedat31(path: str | os.PathLike) -> np.ndarray:
    """Read all polarity events of an AEDAT 3.1 file into one EVENT_DTYPE array."""
    packets = list(iter_aedat31(path))
    if not packets:
        return empty_events()
    return np.concatenate(packets)


def write_aedat31(
    path: str | os.PathLike,
    events: np.ndarray,
    source: str = "DVS128",
    events_per_packet: int = 8192,
    start_time: _dt.datetime | None = None,
) -> None:
    """Write EVENT_DTYPE events as an AEDAT 3.1 file, in IBM's DVS128 Gesture layout.

    Only polarity packets (type 1) with capacity = number = valid; a new packet starts
    every ``events_per_packet`` events and wherever ``t_us >> 31`` (the overflow) changes.
    ``t`` must be >= 0 and x, y < 32768.
    """
    events = np.asarray(events)
    if events.dtype != EVENT_DTYPE:
        raise ValueError(f"write_aedat31: events must have EVENT_DTYPE, got {events.dtype}")
    if events_per_packet < 1:
        raise ValueError(f"events_per_packet must be >= 1, got {events_per_packet}")
    if len(events) and events["t"].min() < 0:
        raise ValueError("write_aedat31: timestamps must be >= 0 microseconds")
    if len(events) and (events["x"].max() >= 1 << 15 or events["y"].max() >= 1 << 15):
        raise ValueError("write_aedat31: x and y must be < 32768")
    start_time = start_time or _dt.datetime.now(_dt.timezone.utc)
    tz = start_time.strftime("%z") or "+0000"
    header = (
        "#!AER-DAT3.1\r\n"
        "#Format: RAW\r\n"
        f"#Source 1: {source}\r\n"
        f"#Start-Time: {start_time.strftime('%Y-%m-%d %H:%M:%S')} (TZ{tz})\r\n"
        "#!END-HEADER\r\n"
    ).encode("ascii")

    t = events["t"]
    overflow = t >> 31
    body = np.empty(len(events), dtype=_POLARITY_EVENT_DTYPE)
    body["data"] = (
        (events["x"].astype(np.uint32) << 17)
        | (events["y"].astype(np.uint32) << 2)
        | (events["p"].astype(np.uint32) & 1) << 1
        | 1
    )
    body["ts"] = (t & 0x7FFFFFFF).astype(np.int32)
    # packet boundaries: every events_per_packet events and at each overflow change
    cuts = set(range(0, len(events), events_per_packet))
    cuts.update((np.flatnonzero(np.diff(overflow)) + 1).tolist())
    bounds = sorted(cuts) + [len(events)]
    with open(path, "wb") as f:
        f.write(header)
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            n = b - a
            ph = np.zeros(1, dtype=PACKET_HEADER_DTYPE)
            ph["type"] = _POLARITY_TYPE
            ph["source"] = 1
            ph["size"] = _POLARITY_EVENT_SIZE
            ph["ts_offset"] = 4
            ph["ts_overflow"] = int(overflow[a])
            ph["capacity"] = ph["number"] = ph["valid"] = n
            f.write(ph.tobytes())
            f.write(body[a:b].tobytes())


def read_labels_csv(path: str | os.PathLike, num_classes: int = _NUM_CLASSES) -> np.ndarray:
    """Read an IBM labels CSV into a LABEL_DTYPE array (class_id 0..num_classes-1, start_us, end_us).

    ``num_classes``: classes in the CSV are 1..num_classes (11 for DVS128 Gesture; a recordings
    folder with its own ``classes.txt`` passes the length of that list).

    The header ``class,startTime_usec,endTime_usec`` is required. Bad rows are skipped with a
    warning naming the line; InputFileError if the file is missing, has no such header, or
    holds no valid row.
    """
    path = _check_file(path, "labels file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(
            f"The labels file '{path}' is not UTF-8 text: give a CSV with the header "
            "'class,startTime_usec,endTime_usec'."
        ) from None
    lines = text.splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        raise InputFileError(
            f"The labels file '{path}' is empty: expected the header "
            "'class,startTime_usec,endTime_usec' and one row per gesture."
        )
    fields = tuple(s.strip().lower() for s in lines[header_index].split(","))
    if fields != _LABEL_HEADER:
        raise InputFileError(
            f"The labels file '{path}' starts with '{lines[header_index].strip()[:80]}', "
            "expected the header 'class,startTime_usec,endTime_usec'."
        )
    rows: list[tuple[int, int, int]] = []
    for number, line in enumerate(lines[header_index + 1 :], start=header_index + 2):
        if not line.strip():
            continue
        problem = None
        parts = [s.strip() for s in line.split(",")]
        if len(parts) != 3:
            problem = f"has {len(parts)} fields, expected 3"
        else:
            try:
                cls, start, end = (int(s) for s in parts)
            except ValueError:
                problem = "holds a value that is not an integer"
            else:
                if not 1 <= cls <= num_classes:
                    problem = f"has class {cls}, expected 1..{num_classes}"
                elif start < 0 or end >= 1 << 62:
                    problem = "has a time outside 0..2^62 us"
                elif end <= start:
                    problem = f"ends ({end}) at or before it starts ({start})"
        if problem:
            warnings.warn(
                f"{path}: line {number} ({line.strip()[:60]!r}) {problem}; row skipped.",
                stacklevel=2,
            )
            continue
        rows.append((cls - 1, start, end))
    if not rows:
        raise InputFileError(
            f"The labels file '{path}' has no valid row: expected rows 'class,start_us,end_us' "
            f"with class 1..{num_classes} and end after start."
        )
    return np.array(rows, dtype=LABEL_DTYPE)


def write_labels_csv(
    path: str | os.PathLike, labels: np.ndarray, num_classes: int = _NUM_CLASSES
) -> None:
    """Write a LABEL_DTYPE array as an IBM labels CSV (classes written as class_id + 1)."""
    labels = np.asarray(labels)
    if labels.dtype.names is None or not set(LABEL_DTYPE.names) <= set(labels.dtype.names):
        raise ValueError(f"write_labels_csv: labels need fields {LABEL_DTYPE.names}")
    lines = ["class,startTime_usec,endTime_usec"]
    for row in labels:
        cid = int(row["class_id"])
        if not 0 <= cid < num_classes:
            raise ValueError(f"write_labels_csv: class_id {cid} outside 0..{num_classes - 1}")
        lines.append(f"{cid + 1},{int(row['start_us'])},{int(row['end_us'])}")
    Path(path).write_text("\n".join(lines) + "\n", encoding="ascii")


def read_trial_list(path: str | os.PathLike) -> list[str]:
    """Read ``trials_to_train.txt`` / ``trials_to_test.txt``: one trial file name per line.

    Blank lines are ignored; names are returned as written (e.g. ``user01_fluorescent.aedat``).
    """
    path = _check_file(path, "trial list")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(
            f"The trial list '{path}' is not UTF-8 text: expected one .aedat name per line."
        ) from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise InputFileError(
            f"The trial list '{path}' is empty: expected one .aedat file name per line."
        )
    return names
