"""Which reader a recording needs: by ``format=`` if given, else by suffix, else by content.

``detect_format(path, format=None) -> str`` returns one of :data:`FORMATS`;
``open_file_source(path, format, sensor_size)`` opens the Prophesee / CSV family (the AEDAT
and tonic sources stay in :mod:`asa_live.events.sources`, which calls this module).
"""

from __future__ import annotations

import os
from pathlib import Path

from asa_live.errors import ConfigError, InputFileError
from asa_live.events.csv_events import CsvSource
from asa_live.events.file_source import FileSource, parse_sensor_size
from asa_live.events.prophesee import RAW_VERSIONS, DatSource, RawSource

__all__ = ["FORMATS", "detect_format", "open_file_source", "sensor_size_option"]

FORMATS = ("aedat4", "aedat", "npy", "raw", "evt2", "evt21", "evt3", "dat", "csv")
_SUFFIXES = {
    ".aedat4": "aedat4",
    ".aedat": "aedat",
    ".npy": "npy",
    ".raw": "raw",
    ".dat": "dat",
    ".csv": "csv",
}


def detect_format(path: str | os.PathLike, format: str | None = None) -> str:
    """The format of ``path``: ``format`` if given (checked), else its suffix, else a look at
    its first bytes. InputFileError when none of them tells."""
    path = Path(path)
    if format is not None:
        name = str(format).lower().replace(".", "")
        if name not in FORMATS:
            raise ConfigError(f"Unknown format '{format}': use one of {', '.join(FORMATS)}.")
        return name
    suffix = path.suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    kind = _sniff(_head(path)) if path.is_file() else None
    if kind is None:
        raise InputFileError(
            f"Cannot tell the format of '{path.name}' from its suffix "
            f"'{suffix or '(none)'}' or its content: give --format "
            "evt2|evt21|evt3 --sensor-size WxH for a headerless Prophesee stream, or use a "
            ".raw, .dat, .csv, .aedat4, .aedat or .npy file."
        )
    return kind


def _head(path: Path, n: int = 4096) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"#!AER-DAT4"):
        return "aedat4"
    if head.startswith(b"#!AER-DAT"):
        return "aedat"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"%"):
        text = head.decode("ascii", "replace").lower()
        if "data file containing" in text:
            return "dat"
        if "% evt " in text or "% format " in text:
            return "raw"
    first = head.split(b"\n", 1)[0].decode("ascii", "replace").strip().lower()
    names = sorted(n.strip() for n in first.split(","))
    if names in (["p", "t", "x", "y"], ["polarity", "timestamp", "x", "y"]):
        return "csv"
    return None


def sensor_size_option(value: object) -> tuple[int, int] | None:
    """``None``, ``"WxH"`` or ``(W, H)`` -> (width, height) or None; ConfigError if malformed."""
    if value is None:
        return None
    try:
        return parse_sensor_size(value)
    except ValueError as err:
        raise ConfigError(f"{str(err)[0].upper()}{str(err)[1:]}.") from None


def open_file_source(
    path: str | os.PathLike, format: str, sensor_size: object = None, **kw
) -> FileSource:
    """A source for a ``raw`` / ``evt2`` / ``evt21`` / ``evt3`` / ``dat`` / ``csv`` file;
    ``kw`` go to its class (``packet_events``, or ``packet_lines`` for CSV)."""
    size = sensor_size_option(sensor_size)
    if format == "raw":
        return RawSource(path, sensor_size=size, **kw)
    if format in RAW_VERSIONS:
        return RawSource(path, format=format, sensor_size=size, **kw)
    if format == "dat":
        return DatSource(path, sensor_size=size, **kw)
    if format == "csv":
        return CsvSource(path, sensor_size=size, **kw)
    raise ValueError(f"open_file_source: not a Prophesee/CSV format: {format!r}")
