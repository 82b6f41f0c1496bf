"""AEDAT4 files through dv-processing 2.x: a streaming reader and a writer.

dv-processing is imported inside the functions, so ``import asa_live.events`` works without it.
Every failure of dv-processing on a user's file (a C++ ``RuntimeError`` with a stack trace, an
``IndexError``) is translated into one-sentence :class:`~asa_live.errors.InputFileError`.

The reader yields EVENT_DTYPE packets, one per event batch of the file (dv-processing's
``getNextEventBatch``, typically a few hundred to a few thousand events), so a recording of
any length streams in bounded memory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from asa_live.errors import InputFileError
from asa_live.events.dtype import EVENT_DTYPE

__all__ = [
    "Aedat4Info",
    "aedat4_info",
    "aedat4_stream_counts",
    "gather_packets",
    "iter_aedat4",
    "open_aedat4",
    "store_to_events",
    "write_aedat4",
]

# push_back with a tuple is the fastest way into a dv.EventStore from Python (measured here:
# ~7 M events/s; the 4-argument overload 3 M/s, building an EventVector of dv.Event 1.4 M/s).
# dv-processing 2.0.4 has no numpy -> EventStore constructor and EventStore.numpy() is a copy.
_WRITE_CHUNK_EVENTS = 1 << 20
# dv's batches are gathered into packets up to these sizes: see iter_aedat4.
PACKET_EVENTS = 1 << 15
PACKET_US = 100_000
# The record of dv-processing 2.0.4's EventStore.numpy(), and an opaque EVENT_DTYPE record.
_DV_EVENT = np.dtype(
    {
        "names": ["timestamp", "x", "y", "polarity"],
        "formats": ["<i8", "<i2", "<i2", "i1"],
        "offsets": [0, 8, 10, 12],
        "itemsize": 16,
    }
)
_RECORD = np.dtype((np.void, EVENT_DTYPE.itemsize))


@dataclass(frozen=True)
class Aedat4Info:
    """What the file says about itself: ``sensor_size`` (width, height), camera name,
    ``time_range_us`` (first, last) of the whole file, and its stream names."""

    sensor_size: tuple[int, int]
    camera_name: str
    time_range_us: tuple[int, int]
    stream_names: tuple[str, ...]


def _dv_reason(err: BaseException, path: Path | None = None) -> str:
    """The informative part of a dv-processing C++ error, without stack trace or file path.

    dv-processing messages look like ``<source.hpp(123): function>\n<Kind>: <text>\n
    Stacktrace: ...`` or are a single plain sentence.
    """
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    reason = ""
    for line in lines:
        if line.startswith("/") or line.startswith("Stacktrace") or line[:1].isdigit():
            continue
        match = re.match(r"([A-Za-z]\w*):\s*(.*)", line)
        if match and match.group(1) not in ("Error",):
            kind, text = match.groups()
            text = text.split(" - Error info:")[0]
            text = text.replace("Error info:", "").strip()
            reason = f"{kind}: {text}" if text else kind
        else:
            reason = line
        break
    if not reason:
        reason = type(err).__name__
    if path is not None:
        reason = reason.replace(f"File {path}", "").replace(str(path), "")
    reason = re.sub(r"\s+", " ", reason).strip().rstrip(".")
    return reason[:160]


def _translate(err: BaseException, path: Path, doing: str) -> InputFileError:
    return InputFileError(
        f"Cannot {doing} '{path}' as an AEDAT4 recording ({_dv_reason(err, path)}): "
        "check that it is a complete .aedat4 file written by DV or asa-live."
    )


def open_aedat4(path: str | os.PathLike) -> Any:
    """Open an AEDAT4 file with an event stream; returns a ``dv.io.MonoCameraRecording``.

    Raises InputFileError for a missing file, a file that is not AEDAT4, or one without events.
    """
    import dv_processing as dv

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"The recording '{path}' does not exist: check the path.")
    if not path.is_file():
        raise InputFileError(f"The recording '{path}' is not a file: give an .aedat4 file.")
    if path.suffix.lower() != ".aedat4":
        raise InputFileError(
            f"'{path}' does not end in .aedat4: AEDAT4 recordings must have that suffix."
        )
    try:
        recording = dv.io.MonoCameraRecording(str(path))
        has_events = recording.isEventStreamAvailable()
        names = list(recording.getStreamNames())
    except (RuntimeError, IndexError, ValueError, OSError) as err:
        raise _translate(err, path, "open") from None
    if not has_events:
        found = ", ".join(names) if names else "none"
        raise InputFileError(
            f"'{path}' has no event stream (streams found: {found}): record it with events enabled."
        )
    return recording


def aedat4_info(path: str | os.PathLike) -> Aedat4Info:
    """Sensor size, camera name, time range and stream names of an AEDAT4 file."""
    path = Path(path)
    recording = open_aedat4(path)
    try:
        resolution = recording.getEventResolution()
        start, end = recording.getTimeRange()
        name = recording.getCameraName()
        streams = tuple(recording.getStreamNames())
    except (RuntimeError, IndexError, ValueError) as err:
        raise _translate(err, path, "read") from None
    if resolution is None:
        raise InputFileError(
            f"'{path}' does not state the resolution of its event stream: "
            "the file header is damaged."
        )
    return Aedat4Info((int(resolution[0]), int(resolution[1])), name, (start, end), streams)


def aedat4_stream_counts(path: str | os.PathLike) -> dict[str, int]:
    """Elements in the non-event streams of an AEDAT4 file: ``frames``, ``imu`` (samples),
    ``triggers``; a stream the file lacks is absent. Reads those streams once, in full."""
    path = Path(path)
    recording = open_aedat4(path)
    readers = {
        "frames": (recording.isFrameStreamAvailable, recording.getNextFrame, False),
        "imu": (recording.isImuStreamAvailable, recording.getNextImuBatch, True),
        "triggers": (recording.isTriggerStreamAvailable, recording.getNextTriggerBatch, True),
    }
    counts = {}
    try:
        for name, (available, next_item, batched) in readers.items():
            if not available():
                continue
            n = 0
            while (item := next_item()) is not None:
                n += len(item) if batched else 1
            counts[name] = n
    except (RuntimeError, IndexError, ValueError) as err:
        raise _translate(err, path, "read") from None
    return counts


def store_to_events(store: Any) -> np.ndarray:
    """Convert a ``dv.EventStore`` (or EventPacket) into an EVENT_DTYPE array.

    dv's polarity is a bool (True = ON), which becomes p = 1.
    """
    raw = store.numpy()
    out = np.empty(len(raw), dtype=EVENT_DTYPE)
    _copy_records(raw, out)
    return out


def _copy_records(raw: np.ndarray, out: np.ndarray) -> None:
    """dv's ``EventStore.numpy()`` records into EVENT_DTYPE ``out`` (as long)."""
    if raw.dtype == _DV_EVENT and raw.flags.c_contiguous:
        # dv's record is EVENT_DTYPE's 13 bytes plus 3 of padding (x, y int16 hold the same
        # bits as uint16; the bool polarity is 0 / 1): one opaque 13-byte copy per event
        # instead of four strided field copies
        head = np.ndarray(len(raw), _RECORD, buffer=raw, strides=(raw.itemsize,))
        out.view(_RECORD)[...] = head
        return
    out["t"] = raw["timestamp"]
    out["x"] = raw["x"]
    out["y"] = raw["y"]
    out["p"] = raw["polarity"]


def _join(raws: list[np.ndarray], n: int) -> np.ndarray:
    out = np.empty(n, dtype=EVENT_DTYPE)
    start = 0
    for raw in raws:
        _copy_records(raw, out[start : start + len(raw)])
        start += len(raw)
    return out


def events_to_store(events: np.ndarray) -> Any:
    """An EVENT_DTYPE packet as a ``dv.EventStore`` (dv-processing has no numpy constructor)."""
    import dv_processing as dv

    store = dv.EventStore()
    push = store.push_back
    for event in zip(
        events["t"].tolist(),
        events["x"].tolist(),
        events["y"].tolist(),
        (events["p"] != 0).tolist(),
        strict=True,
    ):
        push(event)
    return store


def iter_aedat4(
    path: str | os.PathLike | None = None,
    recording: Any = None,
    packet_events: int = PACKET_EVENTS,
    packet_us: int = PACKET_US,
) -> Iterator[np.ndarray]:
    """Yield the events of an AEDAT4 file as EVENT_DTYPE packets, read by dv-processing.

    Give ``path`` or an already opened ``recording`` (from :func:`open_aedat4`). dv's event
    batches (often a few thousand events) are gathered into packets by :func:`gather_packets`.
    A file that turns out damaged mid-way yields the events read so far, then raises
    InputFileError.
    """
    if recording is None:
        if path is None:
            raise ValueError("iter_aedat4 needs a path or a recording")
        recording = open_aedat4(path)
    shown = Path(path) if path is not None else Path("<recording>")

    def batches() -> Iterator[np.ndarray]:
        while True:
            try:
                batch = recording.getNextEventBatch()
            except (RuntimeError, IndexError, ValueError) as err:
                raise _translate(err, shown, "read") from None
            if batch is None:
                return
            if batch.size():
                yield batch.numpy()

    yield from gather_packets(batches(), packet_events, packet_us)


def gather_packets(
    batches: Iterator[np.ndarray],
    packet_events: int = PACKET_EVENTS,
    packet_us: int = PACKET_US,
) -> Iterator[np.ndarray]:
    """dv-layout event batches (``EventStore.numpy()`` records) as EVENT_DTYPE packets.

    Batches are gathered until a packet holds ``packet_events`` events or spans ``packet_us``
    of recording, each converted straight into its packet: fewer, larger packets make
    binning cheaper per event, and the time limit keeps a sparse recording's packets
    fine-grained. If ``batches`` raises InputFileError, the events gathered so far are
    yielded first.
    """
    pending: list[np.ndarray] = []
    n_pending = 0
    try:
        for raw in batches:
            if len(raw):
                pending.append(raw)
                n_pending += len(raw)
            if n_pending >= packet_events or (
                n_pending
                and int(pending[-1]["timestamp"][-1]) - int(pending[0]["timestamp"][0]) >= packet_us
            ):
                yield _join(pending, n_pending)
                pending, n_pending = [], 0
    except InputFileError:
        if n_pending:
            yield _join(pending, n_pending)
        raise
    if n_pending:
        yield _join(pending, n_pending)


def write_aedat4(
    path: str | os.PathLike,
    events: np.ndarray,
    sensor_size: tuple[int, int],
    camera_name: str = "asa-live",
    compression: str = "lz4",
) -> None:
    """Write EVENT_DTYPE events to an events-only AEDAT4 file (LZ4 by default).

    ``sensor_size`` is (width, height); events must be time-sorted (AEDAT4 requires it)
    and inside the sensor. ``compression``: "lz4", "zstd" or "none".
    """
    import dv_processing as dv

    events = np.asarray(events)
    if events.dtype != EVENT_DTYPE:
        raise ValueError(f"write_aedat4: events must have EVENT_DTYPE, got {events.dtype}")
    width, height = int(sensor_size[0]), int(sensor_size[1])
    if width < 1 or height < 1:
        raise ValueError(f"write_aedat4: sensor_size must be positive, got {sensor_size}")
    if len(events):
        if np.any(np.diff(events["t"]) < 0):
            raise ValueError("write_aedat4: events must be sorted by time")
        if events["x"].max() >= width or events["y"].max() >= height:
            raise ValueError(f"write_aedat4: events lie outside the {width}x{height} sensor")
    kinds = {
        "lz4": dv.CompressionType.LZ4,
        "zstd": dv.CompressionType.ZSTD,
        "none": dv.CompressionType.NONE,
    }
    if compression not in kinds:
        raise ValueError(f"write_aedat4: compression must be one of {sorted(kinds)}")
    config = dv.io.MonoCameraWriter.EventOnlyConfig(
        camera_name, (width, height), kinds[compression]
    )
    try:
        writer = dv.io.MonoCameraWriter(str(path), config)
    except RuntimeError as err:
        raise InputFileError(
            f"Cannot create the AEDAT4 file '{path}' ({_dv_reason(err, Path(path))}): "
            "check that its folder exists and is writable."
        ) from None
    try:
        for a in range(0, len(events), _WRITE_CHUNK_EVENTS):
            chunk = events[a : a + _WRITE_CHUNK_EVENTS]
            writer.writeEvents(events_to_store(chunk))
    finally:
        # The file is complete (index and trailer written) only once the writer is destroyed.
        del writer
