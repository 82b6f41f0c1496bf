"""LIF and PLIF for inference, in place on the currents, with boolean spikes.

The same updates as neurons.py's fused inference loops, per window t, with the same float
rounding (a + b = b + a exactly):
    PLIF:  X_t <- (X_t - V) * sigmoid(w) + V;   S_t = [X_t >= V_th];   V <- X_t - R_t
    LIF:   X_t <- X_t + H;                      S_t = [X_t >= V_th];   H <- leak (X_t - R_t)
    R_t = threshold(X_t, V_th^-, 0) = X_t where X_t > V_th^- (i.e. X_t >= V_th), else 0
V_th^- is the float32 just below V_th, so "> V_th^-" is exactly ">= V_th". X_t - R_t is +0
where the neuron spiked and X_t elsewhere: the reference's masked_fill(S_t, 0), without it
(masked_fill on a dense bool mask measured 7.8 ms on 2 M floats here; threshold + sub 1.2 ms).
It differs only for infinite currents (inf - inf = NaN), which a network of finite weights on
event counts does not produce.
The currents X (the runner's own conv / ASA output) become the membranes: no new float tensor
of the layer's size, where the reference allocates the spikes and a membrane copy (at the
5-layer net's first block, 8 MB each per window: page faults, not arithmetic, were what cost).
Spikes come back as bool; their uint8 view feeds the next int8 conv without a conversion.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from asa_live.model.fast.scratch import Scratch
from asa_live.model.neurons import LIF, PLIF


def supports_inplace(neuron: nn.Module) -> bool:
    """True for the model's own LIF and PLIF (not subclasses: they may change the update)."""
    return type(neuron) in (LIF, PLIF)


def below(threshold: float) -> float:
    """The largest float32 below ``float32(threshold)``: ``x > below(v)`` iff ``x >= v`` for
    every float32 x (torch compares a float32 tensor with a Python scalar in float32)."""
    return float(torch.nextafter(torch.tensor(threshold), torch.tensor(-math.inf)))


@torch.no_grad()
def spike_inplace_(
    neuron: nn.Module, x: torch.Tensor, state: torch.Tensor, scratch: Scratch | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``neuron`` (LIF or PLIF) over ``x [N, T, ...]`` from ``state [N, ...]``, overwriting x.

    Returns ``(spikes bool [N, T, ...], membrane [N, ...])``; ``state`` is not modified.
    ``scratch``: where the reset term's buffer comes from (else a new one per call).
    """
    spikes = torch.empty(x.shape, dtype=torch.bool, device=x.device)
    plif = isinstance(neuron, PLIF)
    threshold = neuron.params.v_threshold
    under = below(threshold)
    scale = torch.sigmoid(neuron.w) if plif else neuron.params.leak
    step_shape = (x.shape[0], *x.shape[2:])
    if scratch is None:
        reset = torch.empty(step_shape, dtype=x.dtype, device=x.device)
    else:
        reset = scratch.get("reset", step_shape, x)
    mem = state
    for x_t, s_t in zip(x.unbind(1), spikes.unbind(1), strict=True):
        if plif:
            x_t.sub_(mem).mul_(scale).add_(mem)
        else:
            x_t.add_(mem)
        torch.ge(x_t, threshold, out=s_t)
        torch.threshold(x_t, under, 0.0, out=reset)
        x_t.sub_(reset)
        if not plif:
            x_t.mul_(scale)
        mem = x_t
    if x.shape[1] > 1 or not mem.is_contiguous():
        mem = mem.clone()  # do not keep the whole [N, T, ...] buffer alive as the state
    return spikes, mem
