"""Neurons: the update equations, surrogate gradients, fused inference path == autograd path."""

from __future__ import annotations

import math

import pytest
import torch

from asa_live.model.neurons import (
    LIF,
    PLIF,
    LIFParameters,
    PLIFParameters,
    lif_sequence,
    lif_step,
    plif_sequence,
    plif_step,
)
from asa_live.model.surrogate import atan_spike, box_spike

from .reference import lif_reference, plif_reference


def test_lif_step_by_hand() -> None:
    x = torch.tensor([0.1, 0.3, 0.5, -0.2])
    h = torch.tensor([0.1, 0.0, 0.0, 0.0])
    s, h_next = lif_step(x, h)
    assert s.tolist() == [0.0, 1.0, 1.0, 0.0]  # U = 0.2, 0.3 (>= V_th fires), 0.5, -0.2
    torch.testing.assert_close(h_next, torch.tensor([0.06, 0.0, 0.0, -0.06]))


def test_plif_step_by_hand() -> None:
    w = torch.tensor(0.0)  # tau = 2
    s, v = plif_step(torch.tensor([1.0, 3.0]), torch.tensor([0.5, 0.0]), w)
    # H = V + (X - V) / 2 = 0.75, 1.5 -> second fires and resets to 0
    assert s.tolist() == [0.0, 1.0]
    torch.testing.assert_close(v, torch.tensor([0.75, 0.0]))
    assert PLIF(tau0=2.0).w.item() == pytest.approx(-math.log(1.0))
    assert 1 / torch.sigmoid(PLIF(tau0=3.0).w).item() == pytest.approx(3.0)


def test_box_surrogate_gradient() -> None:
    x = torch.tensor([-0.3, -0.2, 0.0, 0.24, 0.26], requires_grad=True)
    box_spike(x, 0.25).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 2.0, 2.0, 0.0]  # height 1 / (2a) = 2 on |x| < a


def test_atan_surrogate_gradient() -> None:
    x = torch.tensor([0.0, 0.5, -1.0], requires_grad=True)
    atan_spike(x, 2.0).sum().backward()
    expected = [1.0 / (1.0 + (math.pi * v) ** 2) for v in (0.0, 0.5, -1.0)]
    torch.testing.assert_close(x.grad, torch.tensor(expected))


def test_lif_reset_is_not_detached() -> None:
    # H = 0.3 U (1 - S): with the reset in the graph, dH/dU = 0.3 (1 - S) - 0.3 U dS/dU
    x = torch.tensor([0.35], requires_grad=True)  # U = 0.35: fires, inside the surrogate box
    _, h = lif_step(x, torch.zeros(1))
    h.sum().backward()
    assert x.grad.item() == pytest.approx(0.3 * (1 - 1) - 0.3 * 0.35 * 2.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_sequences_match_reference_and_paths_agree(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 9, 4, 5, generator=gen) * 0.4
    h0 = torch.randn(3, 4, 5, generator=gen) * 0.1
    ref_s, ref_h = lif_reference(list(x.unbind(1)), h0)
    with torch.no_grad():
        fused_s, fused_h = lif_sequence(x, h0)
    grad_s, grad_h = lif_sequence(x.clone().requires_grad_(True), h0)
    assert torch.equal(fused_s, torch.stack(ref_s, 1)) and torch.equal(fused_h, ref_h)
    assert torch.equal(grad_s.detach(), fused_s) and torch.equal(grad_h.detach(), fused_h)
    w = torch.tensor(0.3)
    ref_s, ref_v = plif_reference(list(x.unbind(1)), h0, 0.3)
    with torch.no_grad():
        fused_s, fused_v = plif_sequence(x * 3, h0, w)
        ref_s, ref_v = plif_reference(list((x * 3).unbind(1)), h0, 0.3)
    grad_s, grad_v = plif_sequence(x * 3, h0, w.clone().requires_grad_(True))
    assert torch.equal(fused_s, torch.stack(ref_s, 1))
    torch.testing.assert_close(fused_v, ref_v)
    assert torch.equal(grad_s.detach(), fused_s) and torch.equal(grad_v.detach(), fused_v)


def test_fused_path_leaves_the_state_alone() -> None:
    h0 = torch.full((2, 3), 0.2)
    with torch.inference_mode():
        LIF()(torch.ones(2, 4, 3), h0)
        PLIF()(torch.ones(2, 4, 3), h0)
    assert torch.equal(h0, torch.full((2, 3), 0.2))


def test_parameters_are_configurable() -> None:
    p = LIFParameters(v_threshold=1.0, leak=0.5, surrogate_half_width=0.5)
    s, h = lif_step(torch.tensor([0.9]), torch.zeros(1), p)
    assert s.item() == 0.0 and h.item() == pytest.approx(0.45)
    q = PLIFParameters(v_threshold=0.2)
    s, _ = plif_step(torch.tensor([0.5]), torch.zeros(1), torch.tensor(0.0), q)
    assert s.item() == 1.0
