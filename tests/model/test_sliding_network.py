"""A network with sliding ASA: config round trip, checkpoints, state, training forward (any T,
any split, BPTT), K = 1 == today's K = 1 ASA, and the live session (push == push_many)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from asa_live.classes import GESTURE_CLASSES
from asa_live.errors import ConfigError
from asa_live.model import (
    BinningConfig,
    ModelConfig,
    Readout,
    StreamingSession,
    build_model,
    load_checkpoint,
    save_checkpoint,
)
from asa_live.model.networks import AsaSnn, NetState

SMALL = dict(input_size=(16, 16), channels=(6, 8, 8), hidden=16, num_classes=4)


def _model(k: int, mode: str = "sliding", dropout: float = 0.0, seed: int = 0) -> AsaSnn:
    window = {"asa_window": k} if mode == "sliding" else {"chunk_windows": k}
    cfg = ModelConfig(asa_mode=mode, dropout=(dropout,) * 5, **window, **SMALL)
    torch.manual_seed(seed)
    model = build_model(cfg)
    with torch.no_grad():  # make the deeper layers fire, and the ASA parameters matter
        model.layers[3].fc.bias.fill_(0.3)
        model.layers[4].fc.bias.fill_(0.25)
        for name, p in model.named_parameters():
            if "attn" in name:
                p.copy_(torch.randn(p.shape) * 0.7)
    return model


def _frames(n: int, t: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.poisson(torch.full((n, t, 2, 16, 16), 1.5), generator=gen)


def _run(model: AsaSnn, x: torch.Tensor, cuts: list[int], detach: bool = False):
    state = model.initial_state(x.shape[0])
    outs, counts = [], []
    start = 0
    for end in [*cuts, x.shape[1]]:
        if end > start:
            out = model(x[:, start:end], state)
            state = out.state.detach() if detach else out.state
            outs.append(out.output_spikes)
            counts.append(out.layer_spikes)
            start = end
    return torch.cat(outs, 1), torch.cat(counts, 1), state


def test_config_round_trip_defaults_and_errors() -> None:
    cfg = ModelConfig(asa_mode="sliding", asa_window=8)
    assert cfg.chunk_windows == 1 and cfg.asa_time_steps == 8
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    old = ModelConfig().to_dict()
    del old["asa_mode"], old["asa_window"]  # a checkpoint written before sliding ASA
    assert ModelConfig.from_dict(old) == ModelConfig()
    assert ModelConfig().asa_mode == "chunk" and ModelConfig().asa_time_steps == 60
    for bad, match in [
        ({"asa_mode": "slide"}, "asa_mode"),
        ({"asa_mode": "sliding"}, "asa_window"),
        ({"asa_mode": "sliding", "asa_window": 0}, "asa_window"),
        ({"asa_mode": "sliding", "asa_window": 2.5}, "asa_window"),
        ({"asa_mode": "sliding", "asa_window": 4, "chunk_windows": 4}, "chunk_windows"),
        ({"asa_mode": "sliding", "asa_window": 4, "attention": "none"}, "attention"),
        ({"asa_window": 4}, "only used"),
    ]:
        with pytest.raises(ConfigError, match=match):
            ModelConfig(**bad)


def test_checkpoint_keeps_the_mode_and_the_outputs(tmp_path) -> None:
    model = _model(3).eval()
    binning = BinningConfig(window_us=15000, sensor_size=(64, 64), downsample=4)
    path = tmp_path / "sliding.safetensors"
    save_checkpoint(path, model, binning, GESTURE_CLASSES[:4])
    ckpt = load_checkpoint(path)
    assert ckpt.model_config == model.config and ckpt.model_config.asa_mode == "sliding"
    x = _frames(1, 7)
    with torch.no_grad():
        assert torch.equal(ckpt.model(x).output_spikes, model(x).output_spikes)


def test_state_holds_the_history_and_is_a_value() -> None:
    model = _model(4).eval()
    state = model.initial_state(2)
    assert state.asa_history is not None and len(state.asa_history) == 5
    assert state.asa_history[3] is None and state.asa_history[4] is None  # no ASA in fc layers
    assert tuple(state.asa_history[0].currents.shape) == (2, 3, 6, 16, 16)
    assert not state.asa_history[1].currents.any()  # zeros before the stream began
    kept = [h.currents.clone() for h in state.asa_history[:3]]
    with torch.no_grad():
        out = model(_frames(2, 5), state)
    assert all(torch.equal(a, h.currents) for a, h in zip(kept, state.asa_history, strict=False))
    assert tuple(out.state.asa_history[2].currents.shape) == (2, 3, 8, 4, 4)
    assert model.initial_state(1).asa_history[0].currents.any().item() is False
    with pytest.raises(ValueError, match="ASA history"):
        model(_frames(2, 1), NetState(state.membranes, None))
    assert _model(4, mode="chunk").initial_state(1).asa_history is None


@settings(max_examples=12, deadline=None)
@given(
    k=st.integers(1, 5),
    t=st.integers(1, 9),
    cuts=st.lists(st.integers(1, 8), max_size=3),
    train=st.booleans(),
)
def test_any_split_equals_one_call(k: int, t: int, cuts: list[int], train: bool) -> None:
    """Training-mode forward (autograd, per-window BN) and eval, one call or any split."""
    model = _model(k, seed=k).train(train)
    x = _frames(2, t, seed=t)
    ctx = torch.enable_grad() if train else torch.no_grad()
    with ctx:
        whole, whole_counts, whole_state = _run(model, x, [])
        split, split_counts, split_state = _run(model, x, sorted(c for c in set(cuts) if c < t))
    assert torch.equal(whole, split) and torch.equal(whole_counts, split_counts)
    for a, b in zip(whole_state.membranes, split_state.membranes, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    for a, b in zip(whole_state.asa_history[:3], split_state.asa_history[:3], strict=True):
        torch.testing.assert_close(a.currents, b.currents, rtol=1e-6, atol=1e-6)


def test_eval_step_by_step_equals_one_call_bit_for_bit() -> None:
    model = _model(6).eval()
    x = _frames(1, 20, seed=3)
    with torch.inference_mode():
        whole, whole_counts, _ = _run(model, x, [])
        steps, step_counts, _ = _run(model, x, list(range(1, 20)))
    assert torch.equal(whole, steps) and torch.equal(whole_counts, step_counts)
    assert whole_counts[..., 4].sum() > 0  # the output layer fired: the test compares spikes


def test_k1_sliding_equals_k1_chunked_asa() -> None:
    chunked = _model(1, mode="chunk").eval()
    sliding = build_model(ModelConfig(asa_mode="sliding", asa_window=1, **SMALL)).eval()
    sliding.load_state_dict(chunked.state_dict())  # the same parameter names and shapes
    x = _frames(1, 12, seed=4)
    with torch.no_grad():
        a, a_counts, _ = _run(chunked, x, list(range(1, 12)))
        b, b_counts, _ = _run(sliding, x, list(range(1, 12)))
        c, _, _ = _run(sliding, x, [])
    assert torch.equal(a, b) and torch.equal(a_counts, b_counts) and torch.equal(b, c)


def test_sliding_at_a_chunk_end_equals_chunked_asa() -> None:
    """The layer-1 current at the last window of a chunk: sliding with exactly that chunk in
    its history == chunked ASA at that window (same weights, fresh stream)."""
    k = 4
    chunked = _model(k, mode="chunk").eval()
    sliding = build_model(ModelConfig(asa_mode="sliding", asa_window=k, **SMALL)).eval()
    sliding.load_state_dict(chunked.state_dict())
    x = _frames(1, k, seed=5)
    with torch.no_grad():
        a = chunked(x, collect_currents=True).currents[0]
        b = sliding(x, collect_currents=True).currents[0]
    assert torch.equal(a[:, -1], b[:, -1])
    assert not torch.equal(a[:, 0], b[:, 0])  # earlier windows saw zeros before them


def test_bptt_over_segments_trains_the_attention_convs() -> None:
    model = _model(3, dropout=0.1).train()
    x = _frames(2, 8, seed=6)
    state = model.initial_state(2)
    for seg in (x[:, :4], x[:, 4:]):
        out = model(seg, state)
        loss = (out.output_spikes.mean(1) - 0.5).square().sum()
        model.zero_grad()
        loss.backward()
        state = out.state.detach()
        assert state.dropout_masks is not None  # one mask per sample over both segments
    grads = [model.layers[i].attn.conv1.weight.grad for i in range(3)]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    assert not state.asa_history[0].currents.requires_grad


def test_session_push_equals_push_many_and_offline() -> None:
    model = _model(5).eval()
    frames = _frames(1, 17, seed=7)[0].numpy()
    readout = Readout("mean", windows=4)
    one = StreamingSession(model, readout)
    pushed = []
    for frame in frames:
        got = one.push(frame)
        assert len(got) == 1  # sliding runs every window at once: no chunk to wait for
        pushed.extend(got)
    many = StreamingSession(model, readout)
    batched = many.push_many(frames[:6]) + many.push_many(frames[6:7]) + many.push_many(frames[7:])
    with torch.no_grad():
        offline = model(torch.as_tensor(frames)[None])
    for a, b in zip(pushed, batched, strict=True):
        assert a.index == b.index and a.predicted == b.predicted
        np.testing.assert_array_equal(a.output_spikes, b.output_spikes)
        np.testing.assert_array_equal(a.layer_spikes, b.layer_spikes)
    np.testing.assert_array_equal(
        np.stack([r.output_spikes for r in pushed]), offline.output_spikes[0].numpy()
    )
    # reset forgets the history too: the stream then starts again as from a fresh session
    one.reset()
    again = [r for f in frames[:5] for r in one.push(f)]
    for a, b in zip(again, pushed[:5], strict=True):
        np.testing.assert_array_equal(a.layer_spikes, b.layer_spikes)
