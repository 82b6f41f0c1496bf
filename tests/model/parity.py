"""Issue 13's parity rule between the eager and the fast backend, in a live session."""

from __future__ import annotations

import numpy as np

from asa_live.model import Readout, StreamingSession
from asa_live.model.fast import make_runner


def assert_session_parity(model, readout: Readout, frames: np.ndarray) -> None:
    """Stream ``frames`` through ``model`` on both backends: >= 99.5 % of the windows get the
    same prediction, and every layer's total spike count is within 1 % (+1 spike)."""
    results = {}
    for backend in ("eager", "fast"):
        session = StreamingSession(make_runner(model, backend), readout)
        results[backend] = session.push_many(frames)
    ref = np.array([r.predicted for r in results["eager"]])
    got = np.array([r.predicted for r in results["fast"]])
    assert len(ref) == len(frames) and (ref == got).mean() >= 0.995
    ref_counts = np.stack([r.layer_spikes for r in results["eager"]]).sum(0)
    got_counts = np.stack([r.layer_spikes for r in results["fast"]]).sum(0)
    assert ref_counts.sum() > 0
    assert (np.abs(got_counts - ref_counts) <= 0.01 * ref_counts + 1).all()
