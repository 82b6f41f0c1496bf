"""tonic's DVSGesture sample files: one ``.npy`` per sample, an ``(N, 4)`` array with the
columns ``x, y, p, t`` and **t in milliseconds** (tonic multiplies by 1000 when loading).

Reading needs only numpy (``np.load`` with ``mmap_mode="r"``, so a long sample streams in
packets without being loaded whole); tonic itself is not required. The layout of a whole
dataset is ``DVSGesture/ibmGestureTrain/userNN_<lighting>/<label>.npy``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from asa_live.errors import InputFileError
from asa_live.events.dtype import EVENT_DTYPE

__all__ = ["TONIC_SENSOR_SIZE", "events_to_tonic_array", "iter_tonic_npy", "write_tonic_npy"]

TONIC_SENSOR_SIZE = (128, 128)


def _load(path: Path) -> np.ndarray:
    if not path.exists():
        raise InputFileError(f"The sample file '{path}' does not exist: check the path.")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise InputFileError(
            f"'{path}' is not a readable .npy file ({str(err).splitlines()[0][:100]}): "
            "give a tonic DVSGesture sample (an (N, 4) array x, y, p, t_ms)."
        ) from None
    if array.ndim != 2 or array.shape[1] != 4 or array.dtype.kind not in "iuf":
        raise InputFileError(
            f"'{path}' holds a {array.dtype} array of shape {array.shape}, expected a numeric "
            "(N, 4) array with columns x, y, p, t in milliseconds (tonic's DVSGesture layout)."
        )
    return array


def iter_tonic_npy(
    path: str | os.PathLike,
    packet_events: int = 1 << 16,
    sensor_size: tuple[int, int] = TONIC_SENSOR_SIZE,
) -> Iterator[np.ndarray]:
    """Yield EVENT_DTYPE packets of at most ``packet_events`` events from a tonic ``.npy``.

    ``t_us = round(t_ms * 1000)``. Raises InputFileError for a file that is not an (N, 4)
    numeric array, or for values outside the sensor / negative times / non-finite values.
    """
    path = Path(path)
    array = _load(path)
    width, height = sensor_size
    for a in range(0, array.shape[0], packet_events):
        block = np.asarray(array[a : a + packet_events], dtype=np.float64)
        if not np.isfinite(block).all():
            raise InputFileError(
                f"'{path}' holds a non-finite value in rows {a}..{a + len(block) - 1}: "
                "the file is damaged."
            )
        x, y, p, t_ms = block.T
        if (
            x.min() < 0
            or y.min() < 0
            or x.max() >= width
            or y.max() >= height
            or not np.isin(p, (0, 1)).all()
            or t_ms.min() < 0
        ):
            raise InputFileError(
                f"'{path}' has events outside the {width}x{height} sensor, a polarity other "
                f"than 0/1 or a negative time (rows {a}..{a + len(block) - 1}): "
                "the file is not a DVSGesture sample."
            )
        out = np.empty(len(block), dtype=EVENT_DTYPE)
        out["t"] = np.rint(t_ms * 1000.0).astype(np.int64)
        out["x"] = x
        out["y"] = y
        out["p"] = p
        yield out


def events_to_tonic_array(events: np.ndarray) -> np.ndarray:
    """EVENT_DTYPE -> tonic's float64 ``(N, 4)`` array ``x, y, p, t_ms``."""
    if events.dtype != EVENT_DTYPE:
        raise ValueError(f"events must have EVENT_DTYPE, got {events.dtype}")
    out = np.empty((len(events), 4), dtype=np.float64)
    out[:, 0] = events["x"]
    out[:, 1] = events["y"]
    out[:, 2] = events["p"]
    out[:, 3] = events["t"] / 1000.0
    return out


def write_tonic_npy(path: str | os.PathLike, events: np.ndarray) -> None:
    """Write events as one tonic DVSGesture sample (``.npy``, t in milliseconds)."""
    np.save(Path(path), events_to_tonic_array(events), allow_pickle=False)
