"""Spiking neurons as pure step functions over a state value, plus thin sequence helpers.

LIF (the 3-layer net; Yao et al. / the ASA-SNN release), per time step t:
    U[t] = H[t-1] + X[t]
    S[t] = Heaviside(U[t] - V_th)                       V_th = 0.3
    H[t] = leak * U[t] * (1 - S[t])                     leak = 0.3 (hard reset to 0, then leak)
    surrogate dS/dU = 1/(2a) on |U - V_th| < a, a = 0.25; the reset is NOT detached.

PLIF (the 5-layer net; SpikingJelly ``ParametricLIFNode``, decay_input=True, v_reset=0):
    H[t] = V[t-1] + (X[t] - V[t-1]) * sigmoid(w)        sigmoid(w) = 1/tau, w0 = -ln(tau0 - 1)
    S[t] = Heaviside(H[t] - V_th)                       V_th = 1
    V[t] = H[t] * (1 - S[t])                            hard reset to 0, not detached
    surrogate: ATan (alpha = 2).

State is a tensor value (the membrane after the step); the caller owns it. The ``*_sequence``
helpers loop over time with ``x.unbind(1)`` (indexing ``x[:, t]`` in the loop was 3x slower here)
and, when no gradient is needed, use a fused update that allocates nothing but the outputs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from asa_live.model.surrogate import atan_spike, box_spike


class LIFParameters(NamedTuple):
    """Constants of the paper's LIF neuron."""

    v_threshold: float = 0.3
    leak: float = 0.3
    surrogate_half_width: float = 0.25


class PLIFParameters(NamedTuple):
    """Constants of the parametric LIF neuron (its time constant is a learned parameter)."""

    v_threshold: float = 1.0
    surrogate_alpha: float = 2.0


PAPER_LIF = LIFParameters()
PAPER_PLIF = PLIFParameters()


def lif_step(
    x: torch.Tensor, h: torch.Tensor, p: LIFParameters = PAPER_LIF
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LIF step. ``x``, ``h``: input current and membrane after the last step (same shape).

    Returns ``(spikes, h_next)``; spikes are 0/1 in the dtype of ``x``. Differentiable through
    the box surrogate when autograd is on.
    """
    u = h + x
    s = box_spike(u - p.v_threshold, p.surrogate_half_width)
    return s, p.leak * u * (1.0 - s)


def plif_step(
    x: torch.Tensor, v: torch.Tensor, w: torch.Tensor, p: PLIFParameters = PAPER_PLIF
) -> tuple[torch.Tensor, torch.Tensor]:
    """One PLIF step. ``w``: the learned scalar with ``sigmoid(w) = 1 / tau``.

    Returns ``(spikes, v_next)``.
    """
    h = v + (x - v) * torch.sigmoid(w)
    s = atan_spike(h - p.v_threshold, p.surrogate_alpha)
    return s, h * (1.0 - s)


def _needs_grad(*tensors: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def lif_sequence(
    x: torch.Tensor, h: torch.Tensor, p: LIFParameters = PAPER_LIF
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run LIF over ``x [N, K, ...]`` from membrane ``h [N, ...]``.

    Returns ``(spikes [N, K, ...], h_last [N, ...])``. ``h`` is never modified in place.
    """
    if _needs_grad(x, h):
        spikes = []
        for x_t in x.unbind(1):
            s, h = lif_step(x_t, h, p)
            spikes.append(s)
        return torch.stack(spikes, 1), h
    # Fused inference path: same values as lif_step (leak * u * 1 == leak * u, and the spiking
    # positions become exactly 0), computed in place on one private buffer.
    out = torch.empty_like(x)
    u = h.clone()
    for x_t, s_t in zip(x.unbind(1), out.unbind(1), strict=True):
        u.add_(x_t)
        torch.ge(u, p.v_threshold, out=s_t)  # writes 0./1. into the float output
        u.mul_(p.leak).masked_fill_(s_t.bool(), 0.0)
    return out, u


def plif_sequence(
    x: torch.Tensor, v: torch.Tensor, w: torch.Tensor, p: PLIFParameters = PAPER_PLIF
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run PLIF over ``x [N, K, ...]`` from membrane ``v [N, ...]``; returns spikes and last v."""
    if _needs_grad(x, v, w):
        spikes = []
        for x_t in x.unbind(1):
            s, v = plif_step(x_t, v, w, p)
            spikes.append(s)
        return torch.stack(spikes, 1), v
    inv_tau = torch.sigmoid(w)
    out = torch.empty_like(x)
    h = v.clone()
    for x_t, s_t in zip(x.unbind(1), out.unbind(1), strict=True):
        # h = v + (x - v) / tau, written as v * (1 - 1/tau) + x / tau would round differently;
        # keep the training formula so eval and train agree bit for bit.
        h.add_((x_t - h).mul_(inv_tau))
        torch.ge(h, p.v_threshold, out=s_t)
        h.masked_fill_(s_t.bool(), 0.0)
    return out, h


class LIF(nn.Module):
    """The paper's LIF as a module without state (and without weights): ``forward(x, h)``."""

    def __init__(self, params: LIFParameters = PAPER_LIF) -> None:
        super().__init__()
        self.params = params

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [N, K, ...]``, ``h [N, ...]`` -> ``(spikes [N, K, ...], h_last)``."""
        return lif_sequence(x, h, self.params)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.params._asdict().items())


class PLIF(nn.Module):
    """Parametric LIF: holds the learnable scalar ``w`` (SpikingJelly's name), no state."""

    def __init__(self, tau0: float = 2.0, params: PLIFParameters = PAPER_PLIF) -> None:
        super().__init__()
        if tau0 <= 1.0:
            raise ValueError(f"PLIF tau0 must be > 1, got {tau0}")
        self.params = params
        self.w = nn.Parameter(torch.tensor(-math.log(tau0 - 1.0)))

    def forward(self, x: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [N, K, ...]``, ``v [N, ...]`` -> ``(spikes [N, K, ...], v_last)``."""
        return plif_sequence(x, v, self.w, self.params)

    def extra_repr(self) -> str:
        tau = 1.0 / torch.sigmoid(self.w.detach()).item()
        return f"tau={tau:.3f}, " + ", ".join(f"{k}={v}" for k, v in self.params._asdict().items())
