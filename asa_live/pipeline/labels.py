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

from asa_live.events.ibm import read_labels_csv


def labels_path_for(recording: str | os.PathLike) -> Path | None:
    """``<stem>_labels.csv`` next to ``recording`` when it exists, else None."""
    recording = Path(recording)
    candidate = recording.with_name(f"{recording.stem}_labels.csv")
    return candidate if candidate.is_file() else None


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
