"""Ground truth for a replay: the IBM labels CSV that sits beside a recording.

A recording ``path/<stem>.aedat4`` (or ``.aedat``) is labelled by ``path/<stem>_labels.csv``
(IBM format: ``class,startTime_usec,endTime_usec``, classes 1..11, times in the recording's
own microsecond clock). A window gets the class of the segment that covers its midpoint;
windows between gestures have no truth and do not count towards accuracy.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from asa_live.events.ibm import LABEL_DTYPE, read_labels_csv


def labels_path_for(recording: str | os.PathLike) -> Path | None:
    """``<stem>_labels.csv`` next to ``recording`` when it exists, else None."""
    recording = Path(recording)
    candidate = recording.with_name(f"{recording.stem}_labels.csv")
    return candidate if candidate.is_file() else None


def parse_labels_offset(text: str) -> str | int:
    """``--labels-offset``: ``auto`` or a whole number of microseconds (ValueError if not)."""
    text = text.strip().lower()
    if text == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"expected 'auto' or whole microseconds, got {text!r}") from None
    if abs(value) >= 1 << 62:
        raise ValueError(f"the offset {value} us is out of range")
    return value


def align_labels(
    truth: GroundTruth, first_event_us: int | None, offset: str | int | None, name: str
) -> tuple[GroundTruth, str | None]:
    """Apply ``--labels-offset`` and check the labels against the recording's first event.

    ``offset``: None (as they are), microseconds to add, or ``"auto"``: labels that all end
    before the first event are taken as relative to it (e.g. times from 0 against DV's
    absolute clock) and moved there. Returns the labels and a one-line warning when they
    still end before the recording starts (no window can be labelled), else None.
    """
    if isinstance(offset, int):
        truth = truth.shifted(offset)
    if first_event_us is None or len(truth) == 0:
        return truth, None
    start, end = truth.span_us
    if end > first_event_us:
        return truth, None
    if offset == "auto":
        return truth.shifted(first_event_us - start), None
    return truth, (
        f"the labels of {name} end at {end / 1e6:.3f} s but the recording starts at "
        f"{first_event_us / 1e6:.3f} s, so no window is labelled: pass --labels-offset auto "
        "(labels relative to the recording's start) or --labels-offset US."
    )


class GroundTruth:
    """Looks up the labelled class of a window.

    Args:
        labels: LABEL_DTYPE array (``class_id`` 0..10, ``start_us``, ``end_us``), as returned by
            :func:`asa_live.events.ibm.read_labels_csv`.
        period_us: when the source loops and keeps its clock running across loops, the
            recording's length in microseconds; times are folded back into the first pass
            with ``(t - origin_us) % period_us + origin_us``. None for no folding.
        origin_us: the first timestamp of the recording (used with ``period_us``).
    """

    def __init__(
        self, labels: np.ndarray, period_us: int | None = None, origin_us: int = 0
    ) -> None:
        labels = np.sort(np.asarray(labels), order="start_us")
        self._starts = labels["start_us"].astype(np.int64)
        self._ends = labels["end_us"].astype(np.int64)
        self._classes = labels["class_id"].astype(np.int64)
        self.period_us = period_us
        self.origin_us = origin_us

    @classmethod
    def from_csv(cls, path: str | os.PathLike, **kw) -> GroundTruth:
        """Read an IBM labels CSV (InputFileError when it is missing or malformed)."""
        return cls(read_labels_csv(path), **kw)

    def __len__(self) -> int:
        return len(self._starts)

    @property
    def span_us(self) -> tuple[int, int]:
        """(first start, last end) of the labelled segments."""
        return int(self._starts.min()), int(self._ends.max())

    def shifted(self, offset_us: int) -> GroundTruth:
        """The same labels with every time moved by ``offset_us``."""
        labels = np.zeros(len(self._starts), dtype=LABEL_DTYPE)
        labels["class_id"] = self._classes
        labels["start_us"] = self._starts + offset_us
        labels["end_us"] = self._ends + offset_us
        return GroundTruth(labels, self.period_us, self.origin_us)

    def class_at(self, t_us: int) -> int | None:
        """The class whose segment ``[start_us, end_us)`` holds ``t_us``, else None."""
        if self.period_us:
            t_us = (t_us - self.origin_us) % self.period_us + self.origin_us
        i = int(np.searchsorted(self._starts, t_us, side="right")) - 1
        # Segments may overlap (a known IBM label bug): look back over a few that started
        # earlier and take the latest one still open at t_us.
        for j in range(i, max(i - 4, -1), -1):
            if t_us < self._ends[j]:
                return int(self._classes[j])
        return None

    def for_window(self, t_start_us: int, t_end_us: int) -> int | None:
        """The class of the window ``[t_start_us, t_end_us)``: the one at its midpoint."""
        return self.class_at((t_start_us + t_end_us) // 2)
