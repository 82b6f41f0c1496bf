"""IngestStage.process_windows (adaptation fused with binning, for runs that draw nothing)
gives the windows ``process`` gives, across idle resets and a looping replay's jump back."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.events import make_events
from asa_live.model.config import BinningConfig
from asa_live.pipeline.ingest import IngestStage


def _pass(rng: np.random.Generator, n: int, t_start: int) -> np.ndarray:
    t = t_start + np.sort(rng.integers(0, 400_000, n))
    t[n // 2 :] += 1_500_000  # an idle gap (> 1 s) inside the pass
    return make_events(t, rng.integers(0, 346, n), rng.integers(0, 260, n), rng.integers(0, 2, n))


@pytest.mark.parametrize("mode", ["crop_scale", "scale"])
def test_process_windows_equals_process(mode, rng):
    one = _pass(rng, 6000, 10_000)
    packets = []  # time-sorted packets: a pass, the same again (a loop), then a later one
    for part in (one, one, _pass(rng, 3000, 5_000_000)):
        packets += np.split(part, np.sort(rng.integers(0, len(part), 5)))
    binning = BinningConfig(sensor_size=(128, 128), downsample=4, adapt_mode=mode)
    stages = [IngestStage((346, 260), binning) for _ in range(2)]
    assert stages[1]._fused.fused
    got: list[list] = [[], []]
    for packet in packets:
        got[0] += stages[0].process(packet, 0.0)[1]
        got[1] += stages[1].process_windows(packet, 0.0)
    for stage, windows in zip(stages, got, strict=True):
        windows += stage.flush(0.0)
    assert len(got[0]) == len(got[1]) > 40
    assert sum(w.state_reset for w in got[0]) >= 3  # the two idle gaps and the jump back
    for a, b in zip(*got, strict=True):
        fields = ("number", "t_start_us", "t_end_us", "n_events", "state_reset")
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
        np.testing.assert_array_equal(a.frame, b.frame)
    assert stages[0].idle_resets == stages[1].idle_resets
    assert stages[0].offset_us == stages[1].offset_us > 0
