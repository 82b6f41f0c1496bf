"""LIF and PLIF for inference, in place on the currents, with boolean spikes.

The same updates as neurons.py's fused inference loops, per window t (same operations in the
same order, so the same float rounding; a + b = b + a exactly):
    PLIF:  X_t <- (X_t - V) * sigmoid(w) + V;   S_t = [X_t >= V_th];   V <- X_t with 0 where S_t
    LIF:   X_t <- X_t + H;                      S_t = [X_t >= V_th];   H <- leak X_t, 0 where S_t
The currents X (the runner's own conv / ASA output) become the membranes: no new float tensor
of the layer's size, where the reference allocates the spikes and a membrane copy (at the
5-layer net's first block, 8 MB each per window: page faults, not arithmetic, were what cost).
Spikes come back as bool; their uint8 view feeds the next int8 conv without a conversion.
"""

from __future__ import annotations

import torch
from torch import nn

from asa_live.model.neurons import LIF, PLIF


def supports_inplace(neuron: nn.Module) -> bool:
    """True for the model's own LIF and PLIF (not subclasses: they may change the update)."""
    return type(neuron) in (LIF, PLIF)


@torch.no_grad()
def spike_inplace_(
    neuron: nn.Module, x: torch.Tensor, state: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``neuron`` (LIF or PLIF) over ``x [N, T, ...]`` from ``state [N, ...]``, overwriting x.

    Returns ``(spikes bool [N, T, ...], membrane [N, ...])``; ``state`` is not modified.
    """
    spikes = torch.empty(x.shape, dtype=torch.bool, device=x.device)
    plif = isinstance(neuron, PLIF)
    threshold = neuron.params.v_threshold
    scale = torch.sigmoid(neuron.w) if plif else neuron.params.leak
    mem = state
    for x_t, s_t in zip(x.unbind(1), spikes.unbind(1), strict=True):
        if plif:
            x_t.sub_(mem).mul_(scale).add_(mem)
        else:
            x_t.add_(mem)
        torch.ge(x_t, threshold, out=s_t)
        if not plif:
            x_t.mul_(scale)
        x_t.masked_fill_(s_t, 0.0)
        mem = x_t
    if x.shape[1] > 1 or not mem.is_contiguous():
        mem = mem.clone()  # do not keep the whole [N, T, ...] buffer alive as the state
    return spikes, mem
