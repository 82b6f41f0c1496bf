"""The no-gesture evaluation on constructed scores whose answer is known, and inside the
streaming and paper protocols with a network that has a background output."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from asa_live.model.readout import Readout
from asa_live.train.data import SEGMENT_DTYPE, LabelledSequence
from asa_live.train.evaluation import no_gesture_report, paper_protocol, streaming_protocol

READOUT = Readout(background=True, temperature=0.1)  # 2 gestures + background
GESTURE = {0: [1.0, 0.0, 0.0], 1: [0.0, 1.0, 0.0]}
IDLE = [1.2, 0.0, 1.5]  # background wins, but gesture 0 has the larger raw score: fools MSP
ALARM = [0.6, 0.0, 0.0]  # a gesture shown where there is none


def _p(row: list[float]) -> torch.Tensor:
    return torch.softmax(torch.tensor(row) / 0.1, -1)


def _recording() -> tuple[torch.Tensor, np.ndarray]:
    """100 ms windows: idle 2, gesture 0 x4, idle 10 (gap = windows 12..15), gesture 1 x3,
    idle 2 (not yet a gap: under 600 ms after the gesture)."""
    labels = np.array([-1] * 2 + [0] * 4 + [-1] * 10 + [1] * 3 + [-1] * 2)
    rows = []
    for i, label in enumerate(labels):
        if label >= 0:
            rows.append(GESTURE[label])
        elif 6 <= i < 12 or i >= 19:
            rows.append(ALARM)  # the readout still remembers the gesture: not scored
        else:
            rows.append(ALARM if i == 12 else IDLE)
    return torch.tensor(rows), labels


def _negative() -> torch.Tensor:
    """600 windows of 100 ms = 1 minute, two alarms: windows 10..12 and window 100."""
    rows = torch.tensor([IDLE] * 600)
    rows[10:13] = torch.tensor(ALARM)
    rows[100] = torch.tensor(ALARM)
    return rows


def test_report_known_answer() -> None:
    report = no_gesture_report(READOUT, [_recording()], [_negative()], 100_000)
    assert report["windows"] == {"gesture": 7, "no_gesture": 606, "idle_gap": 4, "negative": 600}
    assert report["negative_minutes"] == pytest.approx(1.0)
    assert report["fa_per_minute"] == pytest.approx(2.0)
    assert report["negative_no_gesture_fraction"] == pytest.approx(596 / 600)
    assert report["idle_gap_no_gesture_fraction"] == pytest.approx(3 / 4)
    # every confidence lies in the top bin (14/15, 1], so ECE = |accuracy - mean confidence|
    c_gesture, c_idle, c_alarm = (
        float(_p(GESTURE[0]).max()),
        float(_p(IDLE)[2]),
        float(_p(ALARM)[0]),
    )
    assert min(c_gesture, c_idle, c_alarm) > 14 / 15
    mean_conf = (7 * c_gesture + 601 * c_idle + 5 * c_alarm) / 613
    assert report["ece"] == pytest.approx(abs(608 / 613 - mean_conf))
    # ours separates perfectly; MSP ranks every IDLE window above the gestures
    assert report["auroc"]["ours"] == 1.0
    assert report["auroc"]["msp"] == pytest.approx(5 / 606)
    assert report["fpr_at_95_tpr"]["ours"] == 0.0 and report["fpr_at_95_tpr"]["msp"] > 0.9


def test_report_without_negatives_or_gaps_says_none() -> None:
    scores, labels = _recording()
    report = no_gesture_report(READOUT, [(scores[:6], labels[:6])], [], 100_000)
    assert report["fa_per_minute"] is None and report["idle_gap_no_gesture_fraction"] is None
    assert report["windows"]["negative"] == 0 and report["negative_minutes"] == 0.0
    assert math.isfinite(report["ece"])


class CodeNet(torch.nn.Module):
    """Reads the output from the input: pixel (OFF, 0, 0) of a window = 1 + output index that
    spikes (0 = silent); 3 outputs, the last one the background."""

    def __init__(self, outputs: int = 3) -> None:
        super().__init__()
        self.outputs = outputs
        self.config = SimpleNamespace(num_classes=outputs, chunk_windows=1)
        self.chunk_windows = 1
        self.layer_names = ("out",)
        self.layer_neurons = (outputs,)

    def initial_state(self, batch, device=None):
        return torch.zeros(batch)

    def forward(self, x, state=None):
        code = x[:, :, 0, 0, 0].long()
        spikes = torch.nn.functional.one_hot(code.clamp(min=0), self.outputs + 1)[..., 1:].float()
        return SimpleNamespace(
            output_spikes=spikes, state=state, layer_spikes=spikes.sum(-1, keepdim=True)
        )


def _sequence(codes: list[int], segments: list[tuple[int, int, int]]) -> LabelledSequence:
    frames = np.zeros((len(codes), 2, 4, 4), dtype=np.uint16)
    frames[:, 0, 0, 0] = codes
    labels = np.full(len(codes), -1, dtype=np.int64)
    for c, s, e in segments:
        labels[s:e] = c
    segs = np.array(segments, dtype=SEGMENT_DTYPE)
    return LabelledSequence("fake", frames, labels, segs, t0_us=0, window_us=15_000)


def test_streaming_protocol_reports_no_gesture() -> None:
    readout = Readout("mean", windows=1, background=True, temperature=0.1)
    # idle 5, gesture 1 for 10 windows, then 60 windows of background (the gap: from 55 on)
    rec = _sequence([3] * 5 + [2] * 10 + [3] * 60, [(1, 5, 15)])
    # a negative stream of 4000 windows (1 minute): background, one alarm of gesture 0
    neg_codes = [3] * 4000
    neg_codes[100:104] = [1] * 4
    neg = _sequence(neg_codes, [])
    out = streaming_protocol(CodeNet(), [rec, neg], readout=readout)
    assert out["window_accuracy"] == 1.0
    assert np.array(out["confusion"]).shape == (2, 3)  # gestures x (gestures + no output)
    ng = out["no_gesture"]
    assert ng["fa_per_minute"] == pytest.approx(1.0)
    assert ng["idle_gap_no_gesture_fraction"] == 1.0 and ng["windows"]["idle_gap"] == 20
    # 4 alarm windows tie with the 10 gesture windows; 4025 scored no-gesture windows
    assert ng["auroc"]["ours"] == pytest.approx(1.0 - 0.5 * 4 / 4025)
    assert out["readout"]["background"] is True


def test_paper_protocol_counts_a_background_clip_as_no_prediction() -> None:
    readout = Readout(background=True)
    clip = 5
    seq = _sequence([2] * 3 * clip + [3] * 3 * clip, [(1, 0, 3 * clip), (0, 3 * clip, 6 * clip)])
    out = paper_protocol(CodeNet(), [seq], clip_windows=clip, num_clips=3, readout=readout)
    assert out["segment_accuracy"] == 0.5
    confusion = np.array(out["confusion"])
    assert confusion.shape == (2, 3) and confusion[1, 1] == 1 and confusion[0, 2] == 1
