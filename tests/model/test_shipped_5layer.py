"""The shipped 5-layer model (issue 13): what it is, and fast == eager in the live session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asa_live.classes import GESTURE_CLASSES
from asa_live.events.binning import bin_events
from asa_live.model import StreamingSession, load_checkpoint
from asa_live.model.fast import make_runner
from asa_live.synth.recording import generate_sample

MODEL = Path(__file__).resolve().parents[2] / "models" / "gesture-5layer-asa-nogesture.safetensors"


@pytest.fixture(scope="module")
def ckpt():
    return load_checkpoint(MODEL)


def test_it_is_the_narrow_5layer_asa_net_with_a_calibrated_no_gesture_output(ckpt):
    mc, b = ckpt.model_config, ckpt.binning
    assert (mc.arch, mc.attention, mc.chunk_windows) == ("5layer", "asa", 1)
    assert mc.channels == (16,) * 5 and mc.hidden == 128 and mc.input_size == (128, 128)
    assert (b.window_us, tuple(b.sensor_size), b.downsample) == (15_000, (128, 128), 1)
    assert tuple(ckpt.class_names) == GESTURE_CLASSES
    readout = ckpt.readout
    assert readout.background and readout.temperature is not None and readout.threshold > 0
    assert ckpt.provenance["readout"]["calibration"]["target_fa_per_minute"] == 0.5


def test_fast_equals_eager_on_a_held_out_gesture(ckpt):
    """Per-window decisions equal on >= 99.5 % of windows, layer spike counts within 1 %."""
    events = generate_sample(2, seed=777_123, duration_us=1_200_000)  # never a training seed
    frames = bin_events(events, 15_000, (128, 128), 1)
    results = {}
    for backend in ("eager", "fast"):
        session = StreamingSession(make_runner(ckpt.model, backend), ckpt.readout)
        results[backend] = session.push_many(frames)
    ref = np.array([r.predicted for r in results["eager"]])
    got = np.array([r.predicted for r in results["fast"]])
    assert len(ref) == len(frames) and (ref == got).mean() >= 0.995
    ref_counts = np.stack([r.layer_spikes for r in results["eager"]]).sum(0)
    got_counts = np.stack([r.layer_spikes for r in results["fast"]]).sum(0)
    assert ref_counts[:5].min() > 0  # the conv blocks fire: the parity is not between silences
    assert (np.abs(got_counts - ref_counts) <= 0.01 * ref_counts + 1).all()
