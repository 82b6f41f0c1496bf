"""Decision metrics by hand and against brute force: ECE, AUROC, false alarms, idle gaps, MSP."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from asa_live.model.metrics import (
    auroc,
    expected_calibration_error,
    false_alarm_runs,
    false_alarms_per_minute,
    idle_gap_mask,
    msp_score,
)


def test_ece_by_hand() -> None:
    # bin (0.8667, 0.9333]: confidences 0.9, 0.9 with 1 hit -> |0.5 - 0.9| * 2/4
    # bin (0.2667, 0.3333]: 0.3, 0.3 with 0 hits -> |0 - 0.3| * 2/4
    ece = expected_calibration_error(np.array([0.9, 0.9, 0.3, 0.3]), np.array([1, 0, 0, 0]))
    assert ece == pytest.approx(0.4 * 0.5 + 0.3 * 0.5)
    assert expected_calibration_error(np.array([1.0, 0.0]), np.array([1, 0])) == 0.0
    assert math.isnan(expected_calibration_error(np.zeros(0), np.zeros(0)))
    with pytest.raises(ValueError):
        expected_calibration_error(np.array([1.2]), np.array([1]))


def test_ece_of_calibrated_samples_is_small() -> None:
    rng = np.random.default_rng(0)
    conf = rng.uniform(0, 1, 200_000)
    assert expected_calibration_error(conf, rng.uniform(0, 1, conf.size) < conf) < 0.01
    assert expected_calibration_error(conf, np.ones(conf.size)) == pytest.approx(
        1 - conf.mean(), abs=0.01
    )


def _brute_auroc(s: np.ndarray, pos: np.ndarray) -> float:
    diff = s[pos][:, None] - s[~pos][None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def test_auroc_with_ties_equals_brute_force() -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        s = rng.integers(0, 6, 300).astype(float)  # many ties
        pos = rng.uniform(size=300) < 0.3 + 0.1 * s
        assert auroc(s, pos) == pytest.approx(_brute_auroc(s, pos))
    assert auroc(np.array([0.1, 0.9]), np.array([False, True])) == 1.0
    assert auroc(np.array([0.5, 0.5]), np.array([False, True])) == 0.5
    assert math.isnan(auroc(np.array([0.5]), np.array([True])))


def test_false_alarm_runs() -> None:
    assert false_alarm_runs(np.array([0, 1, 1, 0, 1, 0, 0, 1], bool)) == 3
    assert false_alarm_runs(np.array([1, 1], bool)) == 1
    assert false_alarm_runs(np.zeros(0, bool)) == 0
    # 2 streams, 4000 windows of 15 ms = 1 minute, 3 runs
    a = np.zeros(2000, bool)
    a[10:20] = a[500] = True
    b = np.zeros(2000, bool)
    b[-1] = True
    assert false_alarms_per_minute([a, b], 15_000) == pytest.approx(3.0)
    assert math.isnan(false_alarms_per_minute([], 15_000))


def test_idle_gap_mask() -> None:
    # 100 ms windows: the gap starts 600 ms = 6 windows after a gesture's last window
    labels = np.array([-1] * 3 + [2] * 2 + [-1] * 8 + [5] * 2 + [-1] * 7)
    mask = idle_gap_mask(labels, 100_000)
    expected = np.zeros(labels.size, bool)
    expected[11:13] = True  # gesture ends at window 5: windows 11, 12 before the onset at 13
    expected[21:] = True  # gesture ends at 15: window 21 on, to the end of the stream
    np.testing.assert_array_equal(mask, expected)
    assert not idle_gap_mask(np.full(5, -1), 100_000).any()  # no gesture: no gap
    # 15 ms windows: 600 ms = 40 windows exactly
    assert np.flatnonzero(idle_gap_mask(np.r_[0, np.full(50, -1)], 15_000))[0] == 41


def test_msp_is_the_max_softmax_over_the_gestures() -> None:
    scores = torch.tensor([[0.2, 0.5, 0.1, 0.9], [0.0, 0.0, 0.0, 0.0]])
    got = msp_score(scores, 3)
    assert got[0] == pytest.approx(float(torch.softmax(scores[0, :3], -1).max()))
    assert got[1] == pytest.approx(1 / 3)
