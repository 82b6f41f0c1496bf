"""The paper's 10-clip protocol and the streaming protocol on constructed known-answer cases.

A fake network reads the answer written into the input: the value of pixel (OFF, 0, 0) of a
window is 1 + the class it "predicts" for that window (0 = the output layer stays silent).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from asa_live.model.readout import Readout
from asa_live.train.data import SEGMENT_DTYPE, LabelledSequence, even_clip_starts
from asa_live.train.evaluation import (
    onset_latency_windows,
    paper_protocol,
    streaming_protocol,
    vote_segments,
)

NUM_CLASSES = 11


class AnswerNet(torch.nn.Module):
    """Outputs a one-hot spike for the class encoded in each window; K windows per call."""

    def __init__(self, chunk_windows: int = 1) -> None:
        super().__init__()
        self.config = SimpleNamespace(num_classes=NUM_CLASSES, chunk_windows=chunk_windows)
        self.chunk_windows = chunk_windows
        self.layer_names = ("out",)
        self.layer_neurons = (NUM_CLASSES,)
        self.calls_with_fresh_state = 0

    def initial_state(self, batch, device=None):
        return torch.zeros(batch)

    def forward(self, x, state=None):
        if state is None or not bool(state.any()):
            self.calls_with_fresh_state += 1
        code = x[:, :, 0, 0, 0].long()  # [N, K]
        spikes = torch.nn.functional.one_hot(code.clamp(min=0), NUM_CLASSES + 1)[..., 1:]
        spikes = spikes.float()
        new_state = torch.ones(x.shape[0]) if state is None else state + 1
        return SimpleNamespace(
            output_spikes=spikes, state=new_state, layer_spikes=spikes.sum(-1, keepdim=True)
        )


def _sequence(codes: np.ndarray, segments: list[tuple[int, int, int]]) -> LabelledSequence:
    frames = np.zeros((len(codes), 2, 4, 4), dtype=np.uint16)
    frames[:, 0, 0, 0] = codes
    segs = np.array(segments, dtype=SEGMENT_DTYPE)
    labels = np.full(len(codes), -1, dtype=np.int64)
    for c, s, e in segments:
        labels[s:e] = c
    return LabelledSequence("fake", frames, labels, segs, t0_us=0, window_us=15_000)


def test_vote_needs_strictly_more_than_half():
    labels = np.array([3, 3, 3])
    preds = np.array([[3] * 6 + [1] * 4, [3] * 5 + [1] * 5, [3] * 10])
    assert vote_segments(preds, labels).tolist() == [True, False, True]
    with pytest.raises(ValueError):
        vote_segments(preds, labels[:2])


def test_even_clip_starts_cover_the_segment():
    assert even_clip_starts(100, 10, 10).tolist() == list(range(0, 100, 10))
    starts = even_clip_starts(1000, 60, 10)
    assert starts[0] == 0 and starts[-1] == 940 and len(starts) == 10
    assert even_clip_starts(30, 60, 10).tolist() == [0] * 10  # shorter than a clip


def test_paper_protocol_known_answer():
    clip = 10
    # Segment A (class 3): 6 clips say 3, 4 say 5 -> correct.
    a = np.repeat([4] * 6 + [6] * 4, clip)
    # Segment B (class 4): 5 clips say 4, 5 say 2 -> exactly half -> wrong.
    b = np.repeat([5] * 5 + [3] * 5, clip)
    # Segment C (class 7): silent -> no prediction -> wrong (argmax of zeros would say 0).
    c = np.zeros(10 * clip, dtype=np.int64)
    # Segment D (class 0): each clip has 6 windows of class 0 and 4 of class 2 -> all correct.
    d = np.tile([1] * 6 + [3] * 4, 10)
    gap = np.full(7, 9)  # windows between segments that must not leak into any clip
    codes = np.concatenate([a, gap, b, gap, c, gap, d])
    n = 10 * clip
    segments = [
        (3, 0, n),
        (4, n + 7, 2 * n + 7),
        (7, 2 * n + 14, 3 * n + 14),
        (0, 3 * n + 21, 4 * n + 21),
    ]
    seq = _sequence(codes, segments)
    for k in (1, 5, 10):  # the chunk length must not change a clip's answer
        net = AnswerNet(chunk_windows=k)
        result = paper_protocol(net, [seq], clip_windows=clip, num_clips=10, batch_size=7)
        assert result["segments"] == 4
        assert result["segment_accuracy"] == pytest.approx(2 / 4)
        assert result["clip_accuracy"] == pytest.approx((6 + 5 + 0 + 10) / 40)
        # Every batch of clips starts from a fresh state (ceil(40 / 7) batches).
        assert net.calls_with_fresh_state == 6
        confusion = np.array(result["confusion"])
        assert confusion[3, 3] == 1 and confusion[4].sum() == 1 and confusion[7, 11] == 1
        # NASFR: windows with a spike / (11 neurons x windows).
        spiking = 6 * clip + 4 * clip + 5 * clip + 5 * clip + 0 + 10 * clip
        assert result["nasfr"] == pytest.approx(spiking / (11 * 40 * clip))


def test_onset_latency_windows():
    assert onset_latency_windows(np.array([0, 0, 1, 1, 0, 1, 1], bool)) == 5
    assert onset_latency_windows(np.array([1, 1, 1], bool)) == 0
    assert onset_latency_windows(np.array([1, 1, 0], bool)) is None
    assert onset_latency_windows(np.array([], bool)) is None


def test_streaming_protocol_known_answer():
    codes = np.zeros(60, dtype=np.int64)
    # Segment class 2 over windows [10, 30): silent 10-14, right 15-17, wrong 18, right 19-29.
    codes[15:18] = 3
    codes[18] = 6
    codes[19:30] = 3
    # Segment class 5 over [40, 50): right from its first window.
    codes[40:50] = 6
    # Gap windows predicting anything do not count.
    codes[30:40] = 9
    seq = _sequence(codes, [(2, 10, 30), (5, 40, 50)])
    result = streaming_protocol(
        AnswerNet(), [seq], readout=Readout(kind="mean", windows=1), onset_grace_ms=150.0
    )
    assert result["segments"] == 2
    assert result["window_accuracy"] == pytest.approx((14 + 10) / 30)
    # After a 150 ms (10-window) grace: windows 20-29 and nothing of the 10-window segment.
    assert result["window_accuracy_after_grace"] == pytest.approx(10 / 10)
    latencies = [s["onset_latency_ms"] for s in result["per_segment"]]
    assert latencies == [pytest.approx(150.0), pytest.approx(15.0)]
    assert result["onset_latency_ms"]["median"] == pytest.approx((150 + 15) / 2)
    assert result["onset_latency_ms"]["missed"] == 0
    assert result["accuracy_vs_onset"]["accuracy"][0] == pytest.approx(0.5)
    # Layer rate: windows with a spike over the whole recording / (11 x 60).
    assert result["nasfr"] == pytest.approx(((codes > 0).sum()) / (11 * 60))


def test_streaming_protocol_missed_segment_makes_median_honest():
    codes = np.zeros(40, dtype=np.int64)
    codes[0:10] = 2  # class 1 right throughout
    codes[20:29] = 4  # class 3 right, then wrong at its last window
    codes[29] = 1
    seq = _sequence(codes, [(1, 0, 10), (3, 20, 30)])
    result = streaming_protocol(AnswerNet(), [seq], readout=Readout(kind="mean", windows=1))
    assert result["onset_latency_ms"]["missed"] == 1
    assert result["onset_latency_ms"]["median"] is None  # (15 ms, inf) -> infinite median
    assert result["onset_latency_ms"]["mean_found"] == pytest.approx(15.0)
