"""Sliding-window ASA: step by step == one call == any split, == chunked ASA at a chunk's end,
== the definition (chunked ASA over the trailing K windows, zeros before the stream), K = 1 ==
today's K = 1 ASA."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from asa_live.model import ASA
from asa_live.model.asa import AsaHistory

from .reference import asa_reference


def _asa(k: int, c: int = 6, r: int = 2, lam: float = 0.5, seed: int = 0) -> ASA:
    """ASA with every parameter random, so alpha, beta, fc and both convs all matter."""
    asa = ASA(k, c, reduction=r, lam=lam)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in asa.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.7)
    return asa


def _currents(n: int, t: int, c: int = 6, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, t, c, 5, 4, generator=gen)


def _run_split(asa: ASA, x: torch.Tensor, cuts: list[int]) -> tuple[torch.Tensor, AsaHistory]:
    """Run x through ``asa.sliding`` in consecutive pieces ending at ``cuts``."""
    history = asa.initial_history(x.shape[0], tuple(x.shape[-2:]))
    outs = []
    start = 0
    for end in [*cuts, x.shape[1]]:
        if end > start:
            out, history = asa.sliding(x[:, start:end], history)
            outs.append(out)
            start = end
    return torch.cat(outs, 1), history


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(1, 6),
    t=st.integers(1, 12),
    n=st.integers(1, 3),
    r=st.sampled_from([1, 2, 4]),
    cuts=st.lists(st.integers(0, 12), max_size=4),
    seed=st.integers(0, 1000),
)
def test_any_split_equals_one_call_bit_for_bit(k, t, n, r, cuts, seed) -> None:
    asa = _asa(k, r=r, seed=seed)
    x = _currents(n, t, seed=seed)
    with torch.no_grad():
        whole, hist_whole = _run_split(asa, x, [])
        steps, hist_steps = _run_split(asa, x, list(range(1, t)))
        split, hist_split = _run_split(asa, x, sorted(c for c in cuts if c < t))
    assert torch.equal(whole, steps) and torch.equal(whole, split)
    for a, b in ((hist_whole, hist_steps), (hist_whole, hist_split)):
        assert torch.equal(a.currents, b.currents) and torch.equal(a.scores, b.scores)
    assert hist_whole.currents.shape == (n, k - 1, 6, 5, 4)


@pytest.mark.parametrize(("k", "r", "lam"), [(1, 4, 0.5), (3, 1, 0.5), (4, 2, 0.5), (5, 4, 0.3)])
def test_equals_chunked_asa_over_the_trailing_windows(k: int, r: int, lam: float) -> None:
    """The definition: window t's output is chunked ASA's last window on [t-K+1, t], with
    zero currents before the stream began."""
    asa = _asa(k, r=r, lam=lam, seed=k)
    x = _currents(2, 9, seed=k)
    with torch.no_grad():
        out, _ = _run_split(asa, x, [])
        padded = torch.cat([torch.zeros(2, k - 1, *x.shape[2:]), x], 1)
        for t in range(x.shape[1]):
            chunk = padded[:, t : t + k]
            assert torch.equal(out[:, t], asa(chunk)[:, -1]), t
            # and against the loop-by-loop reference written from the paper's equations
            torch.testing.assert_close(
                out[:, t], asa_reference(asa, chunk)[:, -1], rtol=1e-5, atol=1e-6
            )


@pytest.mark.parametrize("k", [2, 4, 6])
def test_history_of_a_whole_chunk_gives_chunked_output_at_its_last_window(k: int) -> None:
    asa = _asa(k, seed=10 + k)
    before = _currents(1, 3, seed=1)  # earlier windows that must be forgotten
    chunk = _currents(1, k, seed=2)
    with torch.no_grad():
        _, history = _run_split(asa, torch.cat([before, chunk[:, :-1]], 1), [])
        assert torch.equal(history.currents, chunk[:, :-1])
        assert torch.equal(history.scores, asa.raw_scores(chunk[:, :-1]))
        out, _ = asa.sliding(chunk[:, -1:], history)
        assert torch.equal(out[:, 0], asa(chunk)[:, -1])


def test_k1_sliding_is_k1_chunked_asa() -> None:
    asa = _asa(1, r=4, seed=3)
    x = _currents(2, 7, seed=3)
    with torch.no_grad():
        out, history = _run_split(asa, x, [2, 5])
        per_window = torch.stack([asa(x[:, t : t + 1])[:, 0] for t in range(7)], 1)
        batched = asa(x.reshape(14, 1, *x.shape[2:])).reshape(x.shape)
    assert history.currents.shape[1] == 0
    assert torch.equal(out, per_window)
    # chunked K = 1 over T windows runs them as one batch of N*T samples: the same masks,
    # sums that may round differently in the last bit
    torch.testing.assert_close(out, batched, rtol=1e-6, atol=1e-6)


def test_temporal_half_is_active_for_k_above_1() -> None:
    """With K = 8, floor(lam K) = 4 windows are ranked: some planes of the newest window are
    selected (or deselected) by time rank, so the mask is not the channel split alone."""
    asa = _asa(8, seed=4)
    x = _currents(1, 8, seed=4)
    with torch.no_grad():
        raw = asa.raw_scores(x)
        mask = asa.mask_from_scores(raw)
        score = asa.fc(raw.transpose(1, 2)).transpose(1, 2)
        by_channel = torch.zeros_like(mask)
        by_channel.scatter_(
            2, torch.sort(score, dim=2, descending=True, stable=True).indices[..., :3], True
        )
    assert not torch.equal(mask, by_channel)


def test_gradients_reach_the_convs_and_flow_through_the_history() -> None:
    asa = _asa(3, seed=5)
    x = _currents(2, 6, seed=5).requires_grad_(True)
    history = asa.initial_history(2, (5, 4))
    first, history = asa.sliding(x[:, :3], history)
    second, history = asa.sliding(x[:, 3:], history)
    (first.square().sum() + second.square().sum()).backward()
    assert asa.conv1.weight.grad.abs().sum() > 0 and asa.conv2.weight.grad.abs().sum() > 0
    assert asa.alpha.grad is None and asa.fc[0].weight.grad is None  # as in the release
    assert x.grad[:, :3].abs().sum() > 0
    # detaching the history cuts the graph between segments but keeps the values
    det = history.detach()
    assert not det.currents.requires_grad and torch.equal(det.currents, history.currents)


def test_window_maps_equal_spatial_maps_in_values_and_gradients() -> None:
    """The sliding path's pooling (one product, max through its argmax under autograd) gives
    the chunked ASA's maps exactly, and the same gradients when no two maxima tie."""
    asa = _asa(4, seed=6)
    x = _currents(2, 4, seed=6)
    xa = x.clone().requires_grad_(True)
    xb = x.clone().requires_grad_(True)
    m = asa.importance_mask(x)
    f_im = xa * m[..., None, None]
    maps_a = asa.spatial_maps(f_im, xa - f_im)
    maps_b = asa._window_maps(xb, m)
    for a, b in zip(maps_a, maps_b, strict=True):
        assert torch.equal(a[:, 0], b)
    (maps_a[0].sum() + 2 * maps_a[1].sum()).backward()
    (maps_b[0].sum() + 2 * maps_b[1].sum()).backward()
    torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-6, atol=1e-7)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(maps_b, asa._window_maps(x, m), strict=True))


def test_input_history_is_not_modified_and_bad_history_is_rejected() -> None:
    asa = _asa(3, seed=7)
    history = AsaHistory(_currents(1, 2, seed=8), torch.randn(1, 2, 6))
    kept = AsaHistory(history.currents.clone(), history.scores.clone())
    with torch.no_grad():
        asa.sliding(_currents(1, 4), history)
    assert torch.equal(history.currents, kept.currents) and torch.equal(history.scores, kept.scores)
    with pytest.raises(ValueError, match="history of K-1=2"):
        asa.sliding(_currents(1, 4), asa.initial_history(1, (5, 4))._replace(
            currents=torch.zeros(1, 1, 6, 5, 4)))  # fmt: skip
    with pytest.raises(ValueError, match="C=6"):
        asa.sliding(torch.zeros(1, 2, 5, 5, 4), asa.initial_history(1, (5, 4)))


def test_inference_steps_write_into_one_ring_and_states_stay_values() -> None:
    """Without autograd a step writes its window behind the history (no re-concatenation of
    the K - 1 windows); the numbers are those of the concatenating path, and a state used
    twice (a branch) or an older state is never overwritten."""
    k = 4
    asa = _asa(k, seed=11)
    x = _currents(2, 12, seed=11)
    with torch.enable_grad():  # grad mode: the concatenating path
        reference, _ = _run_split(asa, x, [])
    history, outs, rings = asa.initial_history(2, (5, 4)), [], []
    with torch.inference_mode():
        for t in range(12):
            out, history = asa.sliding(x[:, t : t + 1], history)
            outs.append(out)
            rings.append(history.ring)
    assert torch.equal(torch.cat(outs, 1), reference.detach())
    # a ring holds 2 (K - 1) + 1 windows: K - 1 copied in, then K = 4 steps written behind them
    assert len({id(r) for r in rings}) == 3 and all(r is not None for r in rings)
    with torch.no_grad():
        _, state = _run_split(asa, x[:, :5], [])
        kept = state.currents.clone()
        out_a, branch_a = asa.sliding(x[:, 5:6], state)
        out_b, branch_b = asa.sliding(x[:, 6:7], state)  # the same state again: a branch
        assert torch.equal(state.currents, kept)
        assert torch.equal(branch_a.currents[:, -1], x[:, 5])
        expected_b = torch.cat([kept[:, 1:], x[:, 6:7]], 1)
        assert torch.equal(branch_b.currents, expected_b)  # its own window, not a's
        assert branch_b.ring is not branch_a.ring
    with torch.enable_grad():
        assert torch.equal(out_b, asa.sliding(x[:, 6:7], state)[0].detach())
    with torch.no_grad():
        assert torch.equal(out_a, reference[:, 5:6].detach())
        # carrying on from the older branch still gives the stream's numbers
        out_next, _ = asa.sliding(x[:, 6:7], branch_a)
        assert torch.equal(out_next, reference[:, 6:7].detach())


def test_a_ring_from_inference_mode_is_left_for_a_new_one_outside_it() -> None:
    asa = _asa(3, seed=12)
    x = _currents(1, 4, seed=12)
    with torch.inference_mode():
        _, history = asa.sliding(x[:, :2], asa.initial_history(1, (5, 4)))
    assert history.ring is not None and history.detach() is history  # nothing to cut
    with torch.no_grad():
        out, after = asa.sliding(x[:, 2:], history)
    assert after.ring is not history.ring and out.shape == (1, 2, 6, 5, 4)
    with torch.enable_grad():
        _, graded = asa.sliding(x[:, 2:], history)
    assert graded.ring is None  # autograd: a new tensor per call, no ring
