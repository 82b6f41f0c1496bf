"""StreamingSession fed window by window equals the offline call."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asa_live.errors import ConfigError
from asa_live.model import ModelConfig, Readout, StreamingSession, build_model


def _model(k: int, attention: str = "asa"):
    cfg = ModelConfig(attention=attention, chunk_windows=k, input_size=(16, 16),
                      channels=(6, 8, 8), hidden=16, num_classes=4)  # fmt: skip
    torch.manual_seed(0)
    model = build_model(cfg)
    with torch.no_grad():  # make the output layer fire now and then
        model.layers[4].fc.bias.fill_(0.25)
    return model.eval()


def _frames(t: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(1.5, size=(t, 2, 16, 16)).astype(np.float32)


@pytest.mark.parametrize(("k", "attention"), [(1, "asa"), (4, "asa"), (1, "none"), (3, "none")])
def test_session_equals_offline(k: int, attention: str) -> None:
    model = _model(k, attention)
    readout = Readout("mean", windows=5)
    frames = _frames(12)
    session = StreamingSession(model, readout)
    results = []
    for i, frame in enumerate(frames):
        got = session.push(frame)
        assert len(got) == (k if (i + 1) % k == 0 else 0)
        results.extend(got)
    assert [r.index for r in results] == list(range(12))
    with torch.no_grad():
        x = torch.from_numpy(frames)[None]
        state, outs, layers = None, [], []
        for chunk in x.split(k, dim=1):
            out = model(chunk, state)
            state = out.state
            outs.append(out.output_spikes)
            layers.append(out.layer_spikes)
        spikes = torch.cat(outs, 1)
        scores = readout.scores(spikes)[0].numpy()
    layer_counts = torch.cat(layers, 1)[0].numpy()
    assert spikes.sum() > 0
    np.testing.assert_array_equal(np.stack([r.output_spikes for r in results]), spikes[0].numpy())
    np.testing.assert_array_equal(np.stack([r.scores for r in results]), scores)
    np.testing.assert_array_equal(np.stack([r.layer_spikes for r in results]), layer_counts)
    for r, row in zip(results, scores, strict=True):
        if row.max() > 0:
            assert r.predicted == int(row.argmax()) and r.confidence == pytest.approx(row.max())
        else:
            assert r.predicted == -1 and r.confidence == 0.0


def test_reset_restarts_the_stream() -> None:
    model = _model(2)
    session = StreamingSession(model)
    frames = _frames(6, seed=1)
    first = [r for f in frames for r in session.push(f)]
    session.push(frames[0])
    assert session.pending == 1
    session.reset()
    assert session.pending == 0
    second = [r for f in frames for r in session.push(torch.from_numpy(f))]
    for a, b in zip(first, second, strict=True):
        assert a.index == b.index
        np.testing.assert_array_equal(a.scores, b.scores)
        np.testing.assert_array_equal(a.layer_spikes, b.layer_spikes)


def test_silent_network_predicts_nothing() -> None:
    model = _model(1)
    session = StreamingSession(model)
    (result,) = session.push(np.zeros((2, 16, 16), np.float32))
    assert result.output_spikes.sum() == 0
    assert result.predicted == -1 and result.confidence == 0.0


def test_wrong_frame_shape_is_a_clear_error() -> None:
    session = StreamingSession(_model(1))
    with pytest.raises(ConfigError, match=r"\(2, 16, 16\)"):
        session.push(np.zeros((2, 32, 32), np.float32))


def _assert_same_results(got: list, expected: list) -> None:
    assert [r.index for r in got] == [r.index for r in expected]
    for a, b in zip(got, expected, strict=True):
        assert a.predicted == b.predicted and a.confidence == b.confidence
        np.testing.assert_array_equal(a.scores, b.scores)
        np.testing.assert_array_equal(a.output_spikes, b.output_spikes)
        np.testing.assert_array_equal(a.layer_spikes, b.layer_spikes)


@pytest.mark.parametrize(("k", "attention"), [(1, "asa"), (3, "asa"), (1, "none"), (3, "none")])
def test_push_many_equals_repeated_push(k: int, attention: str) -> None:
    model = _model(k, attention)
    frames = _frames(40, seed=3)
    one_by_one = StreamingSession(model, Readout("mean", windows=7))
    expected = [r for f in frames for r in one_by_one.push(f)]
    batched = StreamingSession(model, Readout("mean", windows=7))
    got, start = [], 0
    # batches that start and end inside chunks, empty batches, single windows, a long batch
    for size in (2, 0, 5, 1, 1, 17, 4, 10):
        part = frames[start : start + size]
        results = batched.push_many(part if size % 2 else torch.from_numpy(part))
        # every chunk that the batch completes comes back at once, nothing else
        assert len(results) == (start + size) // k * k - start // k * k
        got.extend(results)
        start += size
        assert batched.pending == start % k
    assert start == len(frames)
    assert sum(r.predicted >= 0 for r in expected) > 0  # the readout made decisions
    _assert_same_results(got, expected)
    # the state and readout carried over equally: the next windows agree as well
    tail = _frames(2 * k, seed=4)
    _assert_same_results(batched.push_many(tail), [r for f in tail for r in one_by_one.push(f)])


def test_push_many_leaky_readout_and_reset() -> None:
    model = _model(2)
    frames = _frames(9, seed=5)
    session = StreamingSession(model, Readout("leaky", decay=0.8))
    first = session.push_many(frames)
    assert len(first) == 8 and session.pending == 1
    session.reset()
    _assert_same_results(session.push_many(frames), first)
    reference = StreamingSession(model, Readout("leaky", decay=0.8))
    _assert_same_results(first, [r for f in frames for r in reference.push(f)])


def test_push_many_wrong_shape_is_a_clear_error() -> None:
    session = StreamingSession(_model(1))
    with pytest.raises(ConfigError, match=r"\(B, 2, 16, 16\)"):
        session.push_many(np.zeros((2, 16, 16), np.float32))  # one frame without the B axis
    with pytest.raises(ConfigError, match=r"got \(3, 2, 8, 8\)"):
        session.push_many(np.zeros((3, 2, 8, 8), np.float32))
