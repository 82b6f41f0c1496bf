"""The one event representation used everywhere in asa-live.

An event packet is a 1-D numpy structured array of :data:`EVENT_DTYPE`:

* ``t``: int64, microseconds (absolute, as the source gives them)
* ``x``: uint16, column, 0 at the left
* ``y``: uint16, row, 0 at the top
* ``p``: uint8, polarity, 0 = OFF, 1 = ON

Channel order wherever polarity becomes a tensor axis: channel 0 = OFF, channel 1 = ON.
"""

from __future__ import annotations

import numpy as np

EVENT_DTYPE = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])


def empty_events() -> np.ndarray:
    """A zero-length event packet."""
    return np.zeros(0, dtype=EVENT_DTYPE)


def make_events(t, x, y, p) -> np.ndarray:
    """Build an event packet from four equal-length array-likes."""
    t = np.asarray(t)
    n = t.shape[0]
    for name, arr in (("x", x), ("y", y), ("p", p)):
        if np.shape(arr) != (n,):
            raise ValueError(f"make_events: '{name}' has shape {np.shape(arr)}, expected ({n},)")
    out = np.empty(n, dtype=EVENT_DTYPE)
    out["t"] = t
    out["x"] = x
    out["y"] = y
    out["p"] = p
    return out
