"""Helpers for the events tests: random event streams and a naive reference binner."""

from __future__ import annotations

import numpy as np

from asa_live.events import make_events


def random_events(
    rng: np.random.Generator,
    n: int,
    sensor_size: tuple[int, int] = (128, 128),
    t_max_us: int = 1_000_000,
    sort: bool = True,
) -> np.ndarray:
    width, height = sensor_size
    t = rng.integers(0, t_max_us, n)
    if sort:
        t = np.sort(t)
    return make_events(
        t, rng.integers(0, width, n), rng.integers(0, height, n), rng.integers(0, 2, n)
    )


def naive_bin(events, window_us, sensor_size, downsample=1, t0_us=None) -> np.ndarray:
    """Reference: per-event window index and np.add.at, straight from the definition."""
    width, height = sensor_size
    out_w, out_h = width // downsample, height // downsample
    if len(events) == 0:
        return np.zeros((0, 2, out_h, out_w), np.float32)
    t0 = int(events["t"].min()) if t0_us is None else t0_us
    events = events[events["t"] >= t0]
    x = events["x"].astype(np.int64) // downsample
    y = events["y"].astype(np.int64) // downsample
    keep = (x < out_w) & (y < out_h)
    events, x, y = events[keep], x[keep], y[keep]
    if len(events) == 0:
        return np.zeros((0, 2, out_h, out_w), np.float32)
    window = (events["t"] - t0) // window_us
    out = np.zeros((int(window.max()) + 1, 2, out_h, out_w), np.float32)
    np.add.at(out, (window, events["p"].astype(np.int64), y, x), 1)
    return out
