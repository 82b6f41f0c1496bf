"""The fast backend's sliding ASA (model/fast/sliding.py) equals the model's ``ASA.sliding``:
the same scores and mask (bit for bit, ties included), outputs up to float-addition order, the
same history; in the network, identical spikes on a gesture stream, and the state stays a value."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from asa_live.events.binning import bin_events
from asa_live.model import (
    ASA,
    BinningConfig,
    ModelConfig,
    Readout,
    StreamingSession,
    build_model,
    save_checkpoint,
)
from asa_live.model.asa import AsaHistory
from asa_live.model.fast import FastSnn, make_runner
from asa_live.model.fast.rates import tune_firing_rates
from asa_live.model.fast.sliding import (
    SlidingWorkspace,
    fc_scores,
    raw_scores,
    sliding_asa_,
    top_mask,
)
from asa_live.synth.recording import generate_sample

ATOL = 1e-5


def _asa(k: int, c: int, r: int = 4, lam: float = 0.5, seed: int = 0) -> ASA:
    """ASA with every parameter random, so alpha, beta, fc and both convs all matter."""
    asa = ASA(k, c, reduction=r, lam=lam)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in asa.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.7)
    return asa


def _run(asa: ASA, x: torch.Tensor, cuts: list[int], fast: bool) -> tuple[torch.Tensor, AsaHistory]:
    """x through the fast (or the model's) sliding ASA in pieces ending at ``cuts``."""
    history = asa.initial_history(x.shape[0], tuple(x.shape[-2:]))
    space = SlidingWorkspace()
    outs, start = [], 0
    for end in [*sorted(set(cuts)), x.shape[1]]:
        if start < end <= x.shape[1]:
            piece = x[:, start:end].clone()
            if fast:
                out, history = sliding_asa_(asa, piece, history, space)
            else:
                out, history = asa.sliding(piece, history)
            outs.append(out)
            start = end
    return torch.cat(outs, 1), history


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(1, 9),
    c=st.integers(1, 12),
    n=st.integers(1, 3),
    r=st.sampled_from([1, 2, 4]),
    lam=st.sampled_from([0.0, 0.3, 0.5, 1.0]),
    values=st.sampled_from(["ties", "normal"]),
    seed=st.integers(0, 10_000),
)
def test_scores_and_mask_are_the_models_bit_for_bit(k, c, n, r, lam, values, seed) -> None:
    asa = _asa(k, c, r, lam, seed)
    gen = torch.Generator().manual_seed(seed)
    if values == "ties":  # few distinct values, signed zeros: ties everywhere
        choices = torch.tensor([0.0, -0.0, 1.0, -1.0, 0.5])
        raw = choices[torch.randint(0, 5, (n, k, c), generator=gen)]
        if seed % 2:
            with torch.no_grad():  # an identity-like FC keeps the ties up to the top-k
                asa.fc = torch.nn.Linear(k, k, bias=False)
                asa.fc.weight.copy_(torch.eye(k))
    else:
        raw = torch.randn(n, k, c, generator=gen)
    x = torch.randn(n, 2, c, 3, 4, generator=gen)
    with torch.inference_mode():
        assert torch.equal(raw_scores(asa, x), asa.raw_scores(x))
        score = fc_scores(asa.fc, raw)
        assert torch.equal(score, asa.fc(raw.transpose(1, 2)).transpose(1, 2))
        mask = top_mask(score.numpy(), int(c * lam), int(k * lam))
        assert torch.equal(torch.from_numpy(mask), asa.mask_from_scores(raw))


def test_the_top_k_sets_break_ties_towards_the_lower_index() -> None:
    score = torch.tensor([[[0.0, 1.0, 1.0, -0.0], [0.0, 1.0, 1.0, -0.0]]]).numpy()
    mask = top_mask(score, 2, 1)  # channels 1, 2 in each step; step 0 of every channel
    expect = [[[True, False, False, True], [False, True, True, False]]]
    assert mask.tolist() == expect


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(1, 8),
    c=st.integers(1, 10),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    t=st.integers(1, 10),
    n=st.sampled_from([1, 1, 2]),
    r=st.sampled_from([1, 4]),
    lam=st.sampled_from([0.0, 0.5, 1.0]),
    cuts=st.lists(st.integers(1, 9), max_size=4),
    seed=st.integers(0, 10_000),
)
def test_fast_sliding_equals_the_model_for_any_split(k, c, h, w, t, n, r, lam, cuts, seed) -> None:
    asa = _asa(k, c, r, lam, seed)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, t, c, h, w, generator=gen) * 2
    x[..., 0, :, :] = -torch.rand(n, t, h, w, generator=gen)  # a plane below 0: the zeros decide
    x[..., 0, 0] = -torch.rand(n, t, c, generator=gen)  # a pixel below 0 in every plane
    with torch.inference_mode():
        ref, ref_hist = _run(asa, x, [], fast=False)
        got, hist = _run(asa, x, cuts, fast=True)
        steps, _ = _run(asa, x, list(range(1, t)), fast=True)
    assert torch.allclose(got, ref, rtol=1e-5, atol=ATOL)
    assert torch.allclose(steps, ref, rtol=1e-5, atol=ATOL)
    # the history is the model's: the same currents and raw scores, bit for bit
    assert torch.equal(hist.currents, ref_hist.currents)
    assert torch.equal(hist.scores, ref_hist.scores)


def test_each_plane_is_scaled_by_the_map_of_its_models_group() -> None:
    """Not just close: the output is x * map of the group the model's mask puts it in."""
    asa = _asa(4, 16, 4, 0.5, seed=3)
    x = torch.randn(1, 6, 16, 8, 8) * 2
    with torch.inference_mode():
        hist = asa.initial_history(1, (8, 8))
        got, _ = sliding_asa_(asa, x.clone(), hist)
        ref, _ = asa.sliding(x, hist)
        xs = torch.cat([hist.currents, x], 1)
        raw = asa.raw_scores(xs)
        for t in range(6):
            win, m = xs[:, t : t + 4], asa.mask_from_scores(raw[:, t : t + 4])
            map_im, map_sub = asa._window_maps(win, m)
            planes = x[0, t]
            expect = torch.where(m[0, -1, :, None, None], planes * map_im[0], planes * map_sub[0])
            assert torch.allclose(got[0, t], expect, rtol=1e-5, atol=ATOL)
    assert torch.allclose(got, ref, rtol=1e-5, atol=ATOL)


def test_in_place_input_checks_and_the_history_is_a_value() -> None:
    asa = _asa(3, 4)
    x = torch.randn(1, 2, 4, 5, 5)
    with torch.inference_mode():
        hist = asa.initial_history(1, (5, 5))
        _, hist = asa.sliding(torch.randn(1, 3, 4, 5, 5), hist)  # a ring with room
        kept = (hist.currents.clone(), hist.scores.clone())
        piece = x.clone()
        out, new = sliding_asa_(asa, piece, hist)
        assert out.data_ptr() == piece.data_ptr()
        again, _ = sliding_asa_(asa, x.clone(), hist)  # the same state twice: the same output
        assert torch.equal(again, out)
        assert torch.equal(hist.currents, kept[0]) and torch.equal(hist.scores, kept[1])
        # a state passes between the two paths, either way round
        ref_out, ref_new = asa.sliding(x, hist)
        nxt = torch.randn(1, 1, 4, 5, 5)
        a, _ = asa.sliding(nxt, new)
        b, _ = sliding_asa_(asa, nxt.clone(), ref_new)
        assert torch.allclose(a, b, atol=ATOL) and torch.allclose(ref_out, out, atol=ATOL)
        with pytest.raises(ValueError, match="contiguous"):
            sliding_asa_(asa, torch.randn(1, 2, 4, 5, 10)[..., ::2], hist)
        with pytest.raises(ValueError, match="K-1=2"):
            sliding_asa_(asa, x.clone(), asa.initial_history(2, (5, 5)))
        with pytest.raises(ValueError, match="C=4"):
            sliding_asa_(asa, torch.randn(1, 1, 5, 5, 5), hist)


def test_workspace_follows_grad_modes_and_weight_changes() -> None:
    asa = _asa(3, 4)
    x = torch.randn(1, 4, 4, 5, 5)
    space = SlidingWorkspace()
    hist = asa.initial_history(1, (5, 5))
    with torch.inference_mode():
        first, _ = sliding_asa_(asa, x.clone(), hist, space)
    with torch.no_grad():  # buffers made in inference mode cannot be written here: remade
        second, _ = sliding_asa_(asa, x.clone(), hist, space)
        asa.conv2.weight.mul_(-1.0)
        ref, _ = asa.sliding(x, hist)
    assert torch.equal(first, second)
    third, _ = sliding_asa_(asa, x.clone(), hist, space)  # grad mode on: runs without autograd
    assert not third.requires_grad
    assert torch.allclose(third, ref, atol=ATOL) and not torch.allclose(third, first, atol=ATOL)


# --- the network: FastSnn runs sliding ASA with its own step -------------------------------


SHIPPED = dict(channels=(16, 32, 32), hidden=128)


def _gesture(windows: int, seed: int = 0) -> torch.Tensor:
    """A synthetic gesture (never recorded data) at 15 ms per window, ``[1, T, 2, 32, 32]``."""
    events = generate_sample(3 + seed, seed=900_000 + seed, duration_us=15_000 * (windows + 4))
    frames = bin_events(events, 15_000, (128, 128), 4)[2 : 2 + windows]
    return torch.from_numpy(frames)[None]


@pytest.fixture(scope="module")
def sliding_net():
    """A shipped-width sliding net, K = 8, tuned to realistic rates on a synthetic gesture."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(asa_mode="sliding", asa_window=8, **SHIPPED))
    with torch.no_grad():
        tune_firing_rates(model, _gesture(6, seed=1), rate=0.05, iterations=6)
    return model.eval()


def test_network_spikes_identical_on_a_gesture_stream(sliding_net) -> None:
    x = _gesture(40)
    fast = FastSnn(sliding_net, int8=False)  # float convs: only the ASA sums' order differs
    with torch.inference_mode():
        ref = sliding_net(x, None, collect_currents=True)
        got = fast(x)
        # and window by window, the live shape of the call
        state, counts = fast.initial_state(1), []
        for t in range(x.shape[1]):
            out = fast(x[:, t : t + 1], state)
            state, _ = out.state, counts.append(out.layer_spikes)
    assert ref.layer_spikes.sum() > 0 and ref.output_spikes.sum() > 0
    assert torch.equal(got.layer_spikes, ref.layer_spikes)
    assert torch.equal(got.output_spikes, ref.output_spikes)
    assert torch.equal(torch.cat(counts, 1), ref.layer_spikes)
    for a, b in zip(got.state.membranes, ref.state.membranes, strict=True):
        assert torch.allclose(a, b, atol=ATOL)
    for a, b in zip(state.asa_history[:3], ref.state.asa_history[:3], strict=True):
        assert torch.allclose(a.currents, b.currents, atol=ATOL)
        assert torch.allclose(a.scores, b.scores, atol=ATOL)


def test_network_state_is_a_value_and_reset_works(sliding_net) -> None:
    x = _gesture(12, seed=2)
    fast = FastSnn(sliding_net, int8=False)
    with torch.inference_mode():
        mid = fast(x[:, :5]).state
        kept = [h.currents.clone() for h in mid.asa_history[:3]]
        a = fast(x[:, 5:], mid)
        b = fast(x[:, 5:], mid)  # the same state again: the same result
        c = fast(x[:, 5:9], mid)
        c = fast(x[:, 9:], c.state)  # an older state after newer ones: still right
        fresh = fast(x[:, :5])  # a new stream from the start
    assert all(torch.equal(k, h.currents) for k, h in zip(kept, mid.asa_history, strict=False))
    assert torch.equal(a.layer_spikes, b.layer_spikes)
    assert torch.equal(a.layer_spikes[:, 4:], c.layer_spikes)
    with torch.inference_mode():
        assert torch.equal(fresh.layer_spikes, fast(x[:, :5]).layer_spikes)


def test_make_runner_runs_sliding_models_fast(sliding_net, tmp_path) -> None:
    from asa_live.pipeline.models import load_model

    assert isinstance(make_runner(sliding_net, "auto"), FastSnn)
    assert isinstance(make_runner(sliding_net, "fast"), FastSnn)
    assert make_runner(sliding_net, "eager") is sliding_net
    path = tmp_path / "sliding.safetensors"
    binning = BinningConfig(window_us=15000, sensor_size=(128, 128), downsample=4)
    names = tuple(f"g{i}" for i in range(sliding_net.config.num_classes))
    save_checkpoint(path, sliding_net, binning, names)
    for backend in ("auto", "fast"):
        assert isinstance(load_model(path, backend=backend).model, FastSnn)


def test_session_on_the_fast_runner_equals_the_eager_session(sliding_net) -> None:
    x = _gesture(30, seed=4)[0]
    readout = Readout("mean", windows=10)
    eager = StreamingSession(sliding_net, readout=readout)
    fast = StreamingSession(make_runner(sliding_net, "auto"), readout=readout)
    ref = [r for frame in x for r in eager.push(frame)]
    got = [r for frame in x[:17] for r in fast.push(frame)] + fast.push_many(x[17:])
    assert [r.predicted for r in got] == [r.predicted for r in ref]
    assert all((a.layer_spikes == b.layer_spikes).all() for a, b in zip(got, ref, strict=True))
    fast.reset()  # reset forgets the history with the membranes
    again = fast.push_many(x)
    assert all((a.layer_spikes == b.layer_spikes).all() for a, b in zip(again, ref, strict=True))


def test_rings_are_reused_only_when_no_state_views_them() -> None:
    asa = _asa(3, 4)
    space = SlidingWorkspace()
    x = torch.randn(1, 40, 4, 5, 5)
    with torch.inference_mode():
        history, held, rings = asa.initial_history(1, (5, 5)), {}, set()
        for t in range(40):
            _, history = sliding_asa_(asa, x[:, t : t + 1].clone(), history, space)
            rings.add(id(history.ring))
            if t % 9 == 0:  # some states are kept (a caller may go back to them)
                held[t] = (history, history.currents.clone())
        # the kept states still hold what they held: their memory was never reused
        for kept, copy in held.values():
            assert torch.equal(kept.currents, copy)
        # and going back to one gives what the model gives from there
        kept = held[18][0]
        ref, _ = asa.sliding(x[:, 19:25], kept)
        got, _ = sliding_asa_(asa, x[:, 19:25].clone(), kept, space)
    assert torch.allclose(got, ref, atol=ATOL)
    # without kept states, the layer cycles through two rings instead of a new one per K - 1
    space = SlidingWorkspace()
    with torch.inference_mode():
        history, buffers = asa.initial_history(1, (5, 5)), set()
        for t in range(40):
            _, history = sliding_asa_(asa, x[:, t : t + 1].clone(), history, space)
            buffers.add(history.ring.buffer.data_ptr())
    assert len(buffers) == 2


def test_one_runner_serves_streams_in_two_threads(sliding_net) -> None:
    """The runner's scratch memory is per thread: two live sessions on one runner (e.g. a
    restarted worker while the old one finishes) give what each gives alone."""
    import threading

    fast = make_runner(sliding_net, "fast")
    streams = [_gesture(24, seed=5)[0], _gesture(24, seed=6)[0]]
    alone = []
    for frames in streams:
        session = StreamingSession(fast, readout=Readout("mean", windows=10))
        alone.append([r.layer_spikes for f in frames for r in session.push(f)])
    together: list[list] = [[], []]

    def run(i: int) -> None:
        session = StreamingSession(fast, readout=Readout("mean", windows=10))
        for _ in range(3):
            session.reset()
            together[i] = [r.layer_spikes for f in streams[i] for r in session.push(f)]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got, ref in zip(together, alone, strict=True):
        assert len(got) == len(ref) and all((a == b).all() for a, b in zip(got, ref, strict=True))
