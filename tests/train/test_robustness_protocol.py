"""The robustness protocol: conditions x models, negatives, idle gaps; small and exact where it can be."""

from __future__ import annotations

import numpy as np
import torch

from asa_live.events.robustness import ROBUSTNESS_CONDITIONS
from asa_live.model import ModelConfig, build_model
from asa_live.model.readout import Readout
from asa_live.train.data.config import DataConfig
from asa_live.train.data.sequences import SEGMENT_DTYPE
from asa_live.train.robustness import (
    Evaluated,
    false_alarms,
    format_robustness,
    gesture_and_idle,
    held_out_recordings,
    robustness_protocol,
    to_sequence,
)


def test_false_alarms_count_runs():
    assert false_alarms(np.array([-1, 2, 2, -1, 3, -1, -1, 0])) == 3
    assert false_alarms(np.array([-1, -1])) == 0
    assert false_alarms(np.array([1, 1, 1])) == 1


def test_gesture_and_idle_windows():
    segments = np.array([(2, 10, 30), (5, 60, 80)], dtype=SEGMENT_DTYPE)
    decided = np.full(100, -1)
    decided[14:30] = 2  # right from 60 ms after onset on (grace = 4 windows of 15 ms)
    decided[70:80] = 5  # half right
    hits, idle = gesture_and_idle(decided, segments, 15.0, 60.0, 150.0)
    assert hits.size == (30 - 14) + (80 - 64) and hits.sum() == 16 + 10
    # idle windows: 150 ms (10 windows) after each end, to the next onset / the end
    assert idle.size == (60 - 40) + (100 - 90) and idle.all()


def test_sequences_without_labels_are_all_no_gesture():
    ((events, labels),) = held_out_recordings(1, gesture_ms=(300, 400), classes=[0, 1])
    data = DataConfig()
    seq = to_sequence("neg", events, None, data)
    assert len(seq.segments) == 0 and (seq.window_labels == -1).all()
    labelled = to_sequence("rec", events, labels, data)
    assert set(labelled.segments["class_id"].tolist()) == {0, 1}


def test_protocol_runs_every_condition_for_every_model():
    torch.manual_seed(0)
    cfg = ModelConfig(
        arch="3layer",
        attention="none",
        channels=(4, 8, 8),
        hidden=16,
        num_classes=12,
        input_size=(32, 32),
        chunk_windows=1,
    )
    model = build_model(cfg).eval()
    readout = Readout(kind="leaky", decay=0.9, background=True)
    ev = [Evaluated("tiny", model, readout, DataConfig())]
    recordings = held_out_recordings(1, gesture_ms=(300, 400), classes=[0, 3])
    noise = recordings[0][0][:2000].copy()
    negatives = [("sensor_noise", noise)]
    conditions = {k: ROBUSTNESS_CONDITIONS[k] for k in ("clean", "shift_x+15", "polarity_inverted")}
    result = robustness_protocol(ev, recordings, negatives, conditions=conditions)
    assert list(result["conditions"]) == list(conditions)
    for row in result["conditions"].values():
        cell = row["tiny"]
        assert 0.0 <= cell["accuracy_after_onset"] <= 1.0 and 0.0 <= cell["idle_no_gesture"] <= 1.0
    neg = result["negatives"]["tiny"]
    assert 0.0 <= neg["no_gesture_fraction"] <= 1.0 and neg["minutes"] > 0
    assert "shift_x+15" in format_robustness(result)
    det = result["detection"]["tiny"]
    windows = round(neg["minutes"] * 60e6 / DataConfig().window_us)
    assert det["windows"]["negative"] == windows  # every negative window is scored
    assert det["windows"]["gesture"] > 0 and det["windows"]["negative"] > 0
    assert set(det["auroc"]) == {"ours", "msp"} and "readout" not in det
    assert "AUROC" in format_robustness(result)


def test_negative_streams_cover_every_kind():
    from asa_live.synth import NEGATIVE_KINDS
    from asa_live.train.robustness import negative_streams

    streams = negative_streams(1, duration_ms=200)
    assert [k for k, _ in streams] == list(NEGATIVE_KINDS)
    assert all(len(ev) == 0 or np.all(np.diff(ev["t"]) >= 0) for _, ev in streams)


def test_noise_filter_drops_isolated_hot_pixels_as_the_live_path_does():
    from asa_live.events.adapt import NoiseFilter

    ((events, labels),) = held_out_recordings(1, gesture_ms=(300, 400), classes=[0])
    hot, _ = ROBUSTNESS_CONDITIONS["hot_20x1khz"](
        events, labels, np.random.default_rng(0), sensor_size=(128, 128)
    )
    model = Evaluated("m", torch.nn.Identity(), Readout(), DataConfig(), noise_filter=True)
    kept = model.filtered(hot)
    assert np.array_equal(kept, NoiseFilter((128, 128))(hot))
    assert 0 < len(kept) < len(hot)
    assert Evaluated("m", torch.nn.Identity(), Readout(), DataConfig()).filtered(hot) is hot
