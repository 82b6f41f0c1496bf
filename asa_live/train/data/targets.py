"""Per-window training targets, with or without a "no gesture" (background) output.

Without a background output, a window is trained towards its gesture's class and every other
window carries no loss (``-1``), as the paper's recipe does. With one (index ``background`` =
the number of gesture classes, the last output):

    target[w] = class of the gesture holding window w          inside a labelled gesture
              = -1 (no loss)      within ``grace`` windows before an onset or after an end
              = background        everywhere else (idle time, negative recordings)

The grace span exists because a gesture eases in and out of the resting pose: the windows
around a labelled span are neither clearly the gesture nor clearly idle.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["grace_windows", "stream_targets"]


def grace_windows(grace_ms: float, window_us: int) -> int:
    """Whole windows covering ``grace_ms``."""
    return int(math.ceil(grace_ms * 1000.0 / window_us)) if grace_ms > 0 else 0


def stream_targets(
    window_labels: np.ndarray,
    segments: np.ndarray,
    *,
    background: int | None,
    grace: int,
) -> np.ndarray:
    """``[T]`` int64 targets from a sequence's window labels and SEGMENT_DTYPE segments.

    ``background=None``: the window labels unchanged (no loss outside gestures).
    """
    labels = np.asarray(window_labels, dtype=np.int64)
    if background is None:
        return labels.copy()
    out = np.where(labels >= 0, labels, background).astype(np.int64)
    n = len(out)
    for row in segments:
        start, end = int(row["start"]), int(row["end"])
        for lo, hi in ((max(0, start - grace), start), (end, min(n, end + grace))):
            part = out[lo:hi]
            part[part == background] = -1
        # A window cut by the label's edge (not entirely inside) is no gesture either.
        if start > 0 and out[start - 1] == background:
            out[start - 1] = -1
        if end < n and out[end] == background:
            out[end] = -1
    return out
