"""Events as CSV text: a header line naming the columns ``t, x, y, p`` (any order; ``timestamp``
and ``polarity`` are accepted too), then one integer event per line. t in microseconds,
p 1 = ON and 0 or -1 = OFF. CSV carries no geometry, so ``sensor_size`` is required.

Read in blocks of lines, so a file of any length streams in bounded memory. A malformed line
raises InputFileError naming its line number.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from itertools import islice

import numpy as np

from asa_live.errors import InputFileError
from asa_live.events.dtype import EVENT_DTYPE
from asa_live.events.file_source import FileSource, check_file

__all__ = ["CsvSource", "write_events_csv"]

_ALIASES = {"t": "t", "timestamp": "t", "ts": "t", "x": "x", "y": "y", "p": "p"}
_ALIASES["polarity"] = "p"
PACKET_LINES = 1 << 16


def _columns(path_name: str, line: str) -> list[int]:
    names = [n.strip().lower() for n in line.strip().split(",")]
    mapped = [_ALIASES.get(n) for n in names]
    if sorted(m for m in mapped if m) != ["p", "t", "x", "y"] or len(names) != 4:
        raise InputFileError(
            f"'{path_name}' does not start with a header line naming the columns t,x,y,p "
            f"(found {line.strip()[:60]!r})."
        )
    return [mapped.index(k) for k in ("t", "x", "y", "p")]


class CsvSource(FileSource):
    """A ``t,x,y,p`` CSV file (header line first), streamed ``packet_lines`` lines at a time."""

    format = "csv"

    def __init__(
        self,
        path: str | os.PathLike,
        sensor_size: tuple[int, int] | None = None,
        packet_lines: int = PACKET_LINES,
    ) -> None:
        path = check_file(path)
        if sensor_size is None:
            raise InputFileError(
                f"'{path.name}' is a CSV file, which does not state its sensor size: "
                "give it with --sensor-size WxH."
            )
        super().__init__(path, sensor_size)
        self.packet_lines = int(packet_lines)
        try:
            with self._open() as f:
                self._order = _columns(path.name, f.readline(4096))
        except UnicodeDecodeError:
            raise InputFileError(f"'{path.name}' is not UTF-8 text: give a t,x,y,p CSV.") from None

    def _open(self):
        return open(self.path, encoding="utf-8", errors="strict", newline="")

    def _packets(self) -> Iterator[np.ndarray]:
        try:
            with self._open() as f:
                f.readline()
                line_no = 2
                while block := list(islice(f, self.packet_lines)):
                    yield self._parse(block, line_no)
                    line_no += len(block)
        except UnicodeDecodeError:
            raise InputFileError(f"'{self.name}' is not UTF-8 text: give a t,x,y,p CSV.") from None

    def _parse(self, lines: list[str], first_line: int) -> np.ndarray:
        if not any(line.strip() for line in lines):  # loadtxt would warn about no data
            return np.empty(0, EVENT_DTYPE)
        try:  # numpy's C parser first; the line-by-line pass below only words an error
            values = np.loadtxt(lines, delimiter=",", dtype=np.int64, ndmin=2, comments=None)
        except (ValueError, OverflowError):
            values = self._parse_slowly(lines, first_line)
        if values.shape[1:] != (4,):
            values = self._parse_slowly(lines, first_line)
        return self._to_events(values, lines, first_line)

    def _parse_slowly(self, lines: list[str], first_line: int) -> np.ndarray:
        numbers = [first_line + i for i, line in enumerate(lines) if line.strip()]
        rows = [line.split(",") for line in lines if line.strip()]
        for number, row in zip(numbers, rows, strict=True):
            if len(row) != 4:
                raise InputFileError(
                    f"'{self.name}' line {number} has {len(row)} fields, not 4 (t,x,y,p)."
                )
        try:
            values = np.array(rows, dtype=np.int64).reshape(-1, 4) if rows else None
        except (ValueError, OverflowError):
            bad = next((i for i, r in enumerate(rows) if not _all_ints(r)), 0)
            raise InputFileError(
                f"'{self.name}' line {numbers[bad]} is not four integers: "
                f"{','.join(rows[bad]).strip()[:60]!r}."
            ) from None
        return np.empty((0, 4), np.int64) if values is None else values

    def _to_events(self, values: np.ndarray, lines: list[str], first_line: int) -> np.ndarray:
        t, x, y, p = (values[:, k] for k in self._order)
        bad = (t < 0) | (x < 0) | (y < 0) | (x > 65535) | (y > 65535) | (p < -1) | (p > 1)
        if bad.any():
            i = int(np.argmax(bad))
            numbers = [first_line + j for j, line in enumerate(lines) if line.strip()]
            raise InputFileError(
                f"'{self.name}' line {numbers[i]} has a negative time, a coordinate "
                f"outside 0..65535 or a polarity other than -1, 0, 1: {values[i].tolist()}."
            )
        out = np.empty(len(values), EVENT_DTYPE)
        out["t"], out["x"], out["y"], out["p"] = t, x, y, p == 1
        return out


def _all_ints(row: list[str]) -> bool:
    try:
        return all(-(2**63) <= int(v) < 2**63 for v in row)
    except ValueError:
        return False


def write_events_csv(path: str | os.PathLike, events: np.ndarray) -> None:
    """Write EVENT_DTYPE events as ``t,x,y,p`` CSV with a header line."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("t,x,y,p\n")
        for row in zip(*(events[k].tolist() for k in "txyp"), strict=True):
            f.write(f"{row[0]},{row[1]},{row[2]},{row[3]}\n")
