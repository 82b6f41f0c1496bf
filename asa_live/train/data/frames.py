"""One recording's events -> uint16 frames on a fixed window grid, plus its window segments.

The counting itself is asa_live.events.binning.bin_events, the function the live path's
StreamingBinner matches; this module only fixes the grid (its start and its length), which the
paper protocol needs to be exact, and stores counts compactly for the frame cache.
"""

from __future__ import annotations

import numpy as np

from asa_live.errors import InputFileError
from asa_live.events.binning import bin_events
from asa_live.train.data.config import DataConfig
from asa_live.train.data.sequences import SEGMENT_DTYPE, segments_to_windows

__all__ = ["bin_recording", "bin_to_grid"]


def bin_to_grid(
    events: np.ndarray,
    *,
    window_us: int,
    sensor_size: tuple[int, int],
    downsample: int,
    t0_us: int,
    num_windows: int,
) -> np.ndarray:
    """Bin events into exactly ``num_windows`` windows starting at ``t0_us``.

    Returns uint16 counts ``[num_windows, 2, H // downsample, W // downsample]``; events
    before ``t0_us`` or after the last window are dropped.
    """
    width, height = sensor_size
    shape = (num_windows, 2, height // downsample, width // downsample)
    end_us = t0_us + num_windows * window_us
    if len(events):
        keep = (events["t"] >= t0_us) & (events["t"] < end_us)
        events = events[keep]
    if num_windows <= 0:
        return np.zeros((0,) + shape[1:], dtype=np.uint16)
    if not len(events):
        return np.zeros(shape, dtype=np.uint16)
    frames = bin_events(events, window_us, sensor_size, downsample=downsample, t0_us=t0_us)
    out = np.zeros(shape, dtype=np.uint16)
    n = min(num_windows, frames.shape[0])
    # Counts of one 4x4 block in 15 ms stay far below 65535; clip anyway so a pathological
    # burst saturates instead of wrapping around.
    out[:n] = np.minimum(frames[:n], np.iinfo(np.uint16).max).astype(np.uint16)
    return out


def bin_recording(
    events: np.ndarray,
    labels_us: np.ndarray | None,
    cfg: DataConfig,
    class_id: int | None = None,
) -> dict[str, np.ndarray]:
    """Frames + window segments of one recording.

    ``labels_us=None``: the whole recording is one segment of ``class_id``. Otherwise the grid
    starts at the first event or the first label, whichever is earlier.
    """
    window_us = int(cfg.window_us)
    if len(events) == 0:
        raise InputFileError("A recording holds no events: expected a non-empty event stream.")
    t_first, t_last = int(events["t"][0]), int(events["t"][-1])
    if labels_us is None:
        t0 = t_first
        n = max(1, (t_last - t0) // window_us + 1)
        segments = np.array([(int(class_id), 0, n)], dtype=SEGMENT_DTYPE)
    else:
        t0 = min(t_first, int(labels_us["start_us"].min()))
        n = max(1, (max(t_last, int(labels_us["end_us"].max())) - t0) // window_us + 1)
        segments = segments_to_windows(labels_us, t0, window_us, n)
    frames = bin_to_grid(
        events,
        window_us=window_us,
        sensor_size=cfg.sensor_size,
        downsample=int(cfg.downsample),
        t0_us=t0,
        num_windows=n,
    )
    return {"frames": frames, "segments": segments, "t0_us": np.int64(t0)}
