"""Negative streams: recordings with no gesture in them, every window "no gesture".

``--negatives DIR`` takes every recording directly in DIR that the live app can replay
(.aedat4, .aedat, .npy; sorted by name). A labels CSV next to one is ignored: whatever moves
in a negative recording is, by definition, not one of the gestures.
"""

from __future__ import annotations

from pathlib import Path

from asa_live.errors import InputFileError
from asa_live.train.data.config import DataConfig
from asa_live.train.data.recordings import (
    RECORDING_SUFFIXES,
    EventRecording,
    empty_labels,
    read_events,
)

__all__ = ["load_negatives"]


def load_negatives(folder: str | Path, cfg: DataConfig) -> list[EventRecording]:
    """Every recording in ``folder`` as a negative EventRecording (InputFileError if none)."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise InputFileError(f"The negatives folder '{folder}' {what}: check --negatives.")
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in RECORDING_SUFFIXES
    )
    if not files:
        raise InputFileError(
            f"The negatives folder '{folder}' holds no .aedat4, .aedat or .npy recording."
        )
    return [
        EventRecording(p.name, read_events(p, cfg), empty_labels(), negative=True) for p in files
    ]
