"""Calibration at the end of a run, on its own validation split (asa_live.train.autocal)."""

from __future__ import annotations

import shutil

import numpy as np

from asa_live.model import load_checkpoint
from asa_live.train.autocal import calibrate_on_validation, idle_stretches, labels_with_grace
from asa_live.train.data.config import DataConfig
from asa_live.train.robustness import held_out_recordings, to_sequence


def test_idle_stretches_are_the_long_runs_of_no_gesture():
    labels = np.array([-1] * 25 + [3] * 5 + [-2] * 3 + [-1] * 10 + [-2] + [-1] * 30)
    assert idle_stretches(labels, 20) == [slice(0, 25), slice(44, 74)]
    assert idle_stretches(labels, 5) == [slice(0, 25), slice(33, 43), slice(44, 74)]
    assert idle_stretches(np.array([0, 0, -2]), 1) == []


def _sequence(with_gesture: bool):
    ((events, labels),) = held_out_recordings(1, gesture_ms=(400, 500), classes=[0, 1])
    return to_sequence("val", events, labels if with_gesture else None, DataConfig())


def test_calibration_is_stored_in_the_checkpoint(small_ckpt_path, tmp_path):
    path = shutil.copyfile(small_ckpt_path, tmp_path / "best.safetensors")
    seq = _sequence(True)
    assert idle_stretches(labels_with_grace(seq, 2)), "the recording needs idle time to fit on"
    record = calibrate_on_validation(path, [seq], grace_windows=2)
    assert record is not None
    spec = load_checkpoint(path).provenance["readout"]
    assert spec["calibration"]["validation"]["sequences"] == 1
    assert spec["temperature"] != 1.0  # fitted, not the default
    assert 0.0 <= spec["threshold"] <= 1.0
    assert record["val_windows"] > 0


def test_a_split_without_gestures_leaves_the_checkpoint_alone(small_ckpt_path, tmp_path):
    path = shutil.copyfile(small_ckpt_path, tmp_path / "best.safetensors")
    before = path.read_bytes()
    assert calibrate_on_validation(path, [_sequence(False)], grace_windows=2) is None
    assert path.read_bytes() == before


def test_without_idle_stretches_the_prior_is_fitted_and_no_threshold_set(small_ckpt_path, tmp_path):
    path = shutil.copyfile(small_ckpt_path, tmp_path / "best.safetensors")
    seq = _sequence(True)
    grace = 2
    labels = labels_with_grace(seq, grace)
    # keep only short idle pieces: every idle run cut to fewer than MIN_IDLE_WINDOWS windows
    idle = np.flatnonzero(labels == -1)
    seq.window_labels[idle[idle % 8 == 0]] = 0  # a gesture window every 8: no long idle run
    assert not idle_stretches(labels_with_grace(seq, grace))
    record = calibrate_on_validation(path, [seq], grace_windows=grace)
    assert record is not None and record["val_fa_per_minute"] is None
    spec = load_checkpoint(path).provenance["readout"]
    assert spec["threshold"] == 0.0 and spec["temperature"] != 1.0
