"""Test helpers shared by tests/pipeline, tests/gui and tests/test_cli.py.

* small random checkpoints with the real binning (128x128 -> 32x32, 15 ms windows);
* short synthetic recordings with labels, written as AEDAT4 + ``<stem>_labels.csv``;
* a fake live camera (``camera_api`` for :class:`asa_live.events.camera.CameraSource`) that
  delivers a recording's events in wall-clock real time, like a real camera.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

RAW_DTYPE = np.dtype([("timestamp", "<i8"), ("x", "<i2"), ("y", "<i2"), ("polarity", "i1")])


def make_checkpoint(
    path: Path,
    attention: str = "asa",
    chunk_windows: int = 1,
    small: bool = True,
    seed: int = 0,
) -> Path:
    """A randomly initialised 3-layer checkpoint (small channels for speed unless ``small=False``).

    The weights are scaled up so that the random net spikes in every layer (a plain random
    init hardly reaches the output layer), which makes predictions and spike panels non-trivial.
    """
    import torch

    from asa_live.classes import GESTURE_CLASSES
    from asa_live.model import BinningConfig, ModelConfig, build_model, save_checkpoint

    torch.manual_seed(seed)
    kw = {"channels": (8, 16, 16), "hidden": 32} if small else {}
    cfg = ModelConfig(arch="3layer", attention=attention, chunk_windows=chunk_windows, **kw)
    model = build_model(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() > 1:
                p.mul_(6.0)
    save_checkpoint(path, model, BinningConfig(), GESTURE_CLASSES, {"note": "random test model"})
    return path


def make_recording(
    folder: Path,
    stem: str = "synth",
    class_ids: tuple[int, ...] = (1, 4),
    seed: int = 7,
    gesture_us: int = 1_000_000,
    gap_us: int = 300_000,
    sensor_size: tuple[int, int] = (128, 128),
) -> tuple[Path, np.ndarray, np.ndarray]:
    """Write ``folder/<stem>.aedat4`` and ``folder/<stem>_labels.csv``; returns (path, events,
    labels)."""
    from asa_live.events.aedat4 import write_aedat4
    from asa_live.events.ibm import write_labels_csv
    from asa_live.synth import generate_recording

    events, labels = generate_recording(
        list(class_ids),
        seed=seed,
        gesture_duration_us=gesture_us,
        gap_us=gap_us,
        lead_us=200_000,
        tail_us=200_000,
        ramp_us=100_000,
        sensor_size=sensor_size,
    )
    path = folder / f"{stem}.aedat4"
    write_aedat4(path, events, sensor_size)
    write_labels_csv(folder / f"{stem}_labels.csv", labels)
    return path, events, labels


class _Descriptor:
    def __init__(self, serial: str) -> None:
        self.serialNumber = serial  # noqa: N815 - dv's attribute name


class _Batch:
    def __init__(self, events: np.ndarray) -> None:
        self._raw = np.zeros(len(events), RAW_DTYPE)
        self._raw["timestamp"] = events["t"]
        self._raw["x"] = events["x"]
        self._raw["y"] = events["y"]
        self._raw["polarity"] = events["p"]

    def size(self) -> int:
        return len(self._raw)

    def numpy(self) -> np.ndarray:
        return self._raw.copy()


class RealTimeCamera:
    """Plays ``events`` as a camera would: ``getNextEventBatch`` returns what happened since the
    last call (by the wall clock), None when nothing did; it loops, with time running on."""

    def __init__(self, events: np.ndarray, sensor_size: tuple[int, int], serial: str) -> None:
        self.events = events
        self.resolution = sensor_size
        self.serial = serial
        self._t = events["t"] - events["t"][0]
        self._period = int(self._t[-1]) + 1
        self._start = time.perf_counter()
        self._pos = 0  # microseconds of stream already delivered
        self.batches = 0

    def getEventResolution(self):  # noqa: N802 - dv's method name
        return self.resolution

    def getCameraName(self):  # noqa: N802
        return f"FakeDVS_{self.serial}"

    def isRunning(self):  # noqa: N802
        return True

    def getNextEventBatch(self):  # noqa: N802
        now_us = int((time.perf_counter() - self._start) * 1e6)
        if now_us <= self._pos:
            return None
        lo, hi = self._pos, now_us
        self._pos = now_us
        parts = []
        base = (lo // self._period) * self._period
        while base < hi:
            a = np.searchsorted(self._t, max(lo - base, 0), side="left")
            b = np.searchsorted(self._t, hi - base, side="left")
            chunk = self.events[a:b].copy()
            chunk["t"] = self._t[a:b] + base
            parts.append(chunk)
            base += self._period
        out = np.concatenate(parts) if parts else self.events[:0]
        if len(out) == 0:
            return None
        self.batches += 1
        return _Batch(out)


class FakeCameraApi:
    """``dv.io.camera`` stand-in: ``discover()`` and ``open([serial])`` over fake cameras."""

    def __init__(self, cameras: list[RealTimeCamera]) -> None:
        self.cameras = cameras

    def discover(self):
        return [_Descriptor(c.serial) for c in self.cameras]

    def open(self, serial: str | None = None):
        if serial is None:
            return self.cameras[0]
        return next(c for c in self.cameras if c.serial == serial)


class FakeClock:
    """A clock that moves only when waited on or advanced: timing tests without sleeping.

    Pass ``clock=fake, wait=fake.wait`` to a Pacer; ``wait`` returns False (never cancelled).
    """

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False

    def advance(self, seconds: float) -> None:
        self.now += seconds
