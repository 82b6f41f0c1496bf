"""ASA: equality with the loop-by-loop reference, per-sample masks, shrink-only, gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from asa_live.model import ASA

from .reference import asa_reference


def _randomised(asa: ASA, seed: int = 0) -> ASA:
    """Give alpha, beta, fc and the convs non-default values so each of them matters."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in asa.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.7)
    return asa


@pytest.mark.parametrize(
    ("n", "t", "c", "r", "lam"),
    [(2, 5, 6, 1, 0.5), (3, 8, 7, 4, 0.5), (1, 1, 4, 4, 0.5), (2, 6, 5, 2, 0.3), (1, 3, 3, 1, 0.7)],
)
def test_matches_loop_reference(n: int, t: int, c: int, r: int, lam: float) -> None:
    torch.manual_seed(n * 100 + t)
    asa = _randomised(ASA(t, c, reduction=r, lam=lam), seed=t + c)
    x = torch.randn(n, t, c, 5, 4)
    out = asa(x)
    ref = asa_reference(asa, x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)


def test_parameter_names_follow_the_release() -> None:
    asa = ASA(8, 16, reduction=4)
    names = {name: tuple(p.shape) for name, p in asa.named_parameters()}
    assert names == {
        "alpha": (1,),
        "beta": (1,),
        "fc.0.weight": (2, 8),
        "fc.2.weight": (8, 2),
        "conv1.weight": (1, 2, 3, 3),
        "conv2.weight": (1, 2, 3, 3),
    }
    assert asa.alpha.item() == 0.5 and asa.beta.item() == 0.5
    single = ASA(8, 16, reduction=1)
    assert isinstance(single.fc, nn.Linear) and single.fc.weight.shape == (8, 8)
    assert single.fc.bias is None


def test_ties_go_to_the_lower_index() -> None:
    asa = ASA(1, 6, reduction=1)
    with torch.no_grad():
        asa.fc.weight.fill_(0.0)  # every score is 0: a full tie
    mask = asa.importance_mask(torch.randn(2, 1, 6, 3, 3))
    assert mask[:, 0].tolist() == [[True, True, True, False, False, False]] * 2


def test_hidden_width_never_zero() -> None:
    # T // r == 0 (K = 1, r = 4) would be Linear(1, 0) in the release; we use max(1, T // r)
    asa = ASA(1, 8, reduction=4)
    assert asa.fc[0].weight.shape == (1, 1)
    out = asa(torch.randn(2, 1, 8, 3, 3))
    assert torch.isfinite(out).all()


def test_sample_does_not_depend_on_batch_mates() -> None:
    torch.manual_seed(1)
    asa = _randomised(ASA(6, 8, reduction=2))
    x = torch.randn(4, 6, 8, 5, 5)
    together = asa(x)
    for i in range(4):
        alone = asa(x[i : i + 1])
        torch.testing.assert_close(together[i : i + 1], alone, rtol=0, atol=1e-6)
    other = x.clone()
    other[1:] = torch.randn_like(other[1:]) * 5
    torch.testing.assert_close(asa(other)[0], together[0], rtol=0, atol=1e-6)


def _release_masks(asa: ASA, x: torch.Tensor) -> torch.Tensor:
    """The release's mask: top-k indices united over the whole batch (github BICLab/ASA-SNN)."""
    n, t, c = x.shape[:3]
    avg = x.mean(dim=(-2, -1))
    mx = x.amax(dim=(-2, -1))
    score = 0.5 * (avg + mx) + asa.alpha * avg + asa.beta * mx
    score = asa.fc(score.transpose(1, 2)).transpose(1, 2)
    top_c = torch.zeros(n, t, c)
    idx = score.topk(int(c * asa.lam), dim=2).indices
    for i in range(t):
        top_c[:, i, idx[:, i]] = 1  # advanced indexing: the union over the batch
    top_t = torch.zeros(n, c, t)
    idx = score.transpose(1, 2).topk(int(t * asa.lam), dim=2).indices
    for i in range(c):
        top_t[:, i, idx[:, i]] = 1
    return ((top_c + top_t.transpose(1, 2)) / 2 == 0.5).float()


def test_identical_to_release_for_one_sample_but_not_for_a_mixed_batch() -> None:
    torch.manual_seed(2)
    asa = _randomised(ASA(6, 8, reduction=1))
    x = torch.randn(1, 6, 8, 4, 4)
    with torch.no_grad():
        assert torch.equal(asa.importance_mask(x).float(), _release_masks(asa, x))
        batch = torch.randn(3, 6, 8, 4, 4)
        ours = asa.importance_mask(batch).float()
        assert not torch.equal(ours, _release_masks(asa, batch))


def test_n1_and_t1_work() -> None:
    for n, t in [(1, 1), (1, 5), (3, 1)]:
        asa = ASA(t, 6)
        x = torch.randn(n, t, 6, 4, 4)
        out = asa(x)
        assert out.shape == x.shape
        torch.testing.assert_close(out, asa_reference(asa, x), rtol=1e-5, atol=1e-6)
    # T = 1: floor(0.5 * 1) = 0 time steps are selected, so the mask is the channel set alone
    asa = ASA(1, 6)
    mask = asa.importance_mask(torch.randn(2, 1, 6, 3, 3))
    assert mask.sum(dim=2).eq(3).all()


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_shrink_only(scale: float) -> None:
    torch.manual_seed(3)
    asa = _randomised(ASA(5, 6, reduction=1))
    x = torch.randn(3, 5, 6, 6, 6) * scale
    out = asa(x)
    assert (out.abs() <= x.abs()).all()
    assert (out * x >= 0).all()  # multipliers are in (0, 1): the sign never flips


def test_gradients_reach_only_the_convs() -> None:
    torch.manual_seed(4)
    asa = ASA(6, 8, reduction=2)
    x = torch.randn(2, 6, 8, 5, 5, requires_grad=True)
    asa(x).square().sum().backward()
    assert asa.conv1.weight.grad is not None and asa.conv1.weight.grad.abs().sum() > 0
    assert asa.conv2.weight.grad is not None and asa.conv2.weight.grad.abs().sum() > 0
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name in ("alpha", "beta"):
        assert getattr(asa, name).grad is None
    assert all(p.grad is None for p in asa.fc.parameters())


def test_wrong_shapes_raise() -> None:
    asa = ASA(4, 6)
    with pytest.raises(ValueError, match="T=4"):
        asa(torch.randn(1, 3, 6, 4, 4))
    with pytest.raises(ValueError, match="N, T, C, H, W"):
        asa(torch.randn(4, 6, 4, 4))
