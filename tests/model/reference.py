"""Slow reference implementations written directly from the equations of paper.md.

They share no code with asa_live.model beyond reading a module's parameters, so agreement with
them tests the vectorised implementation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def asa_reference(asa, x: torch.Tensor) -> torch.Tensor:
    """ASA loop by loop: per sample, per (t, c) plane. ``x (N, T, C, H, W)``."""
    n_batch, t_steps, n_ch, h, w = x.shape
    lam = asa.lam
    alpha = float(asa.alpha.detach())
    beta = float(asa.beta.detach())
    out = torch.empty_like(x)
    with torch.no_grad():
        for n in range(n_batch):
            score = torch.empty(t_steps, n_ch, dtype=torch.float64)
            for t in range(t_steps):
                for c in range(n_ch):
                    plane = x[n, t, c].double()
                    a = plane.mean()
                    m = plane.max()
                    score[t, c] = 0.5 * (a + m) + alpha * a + beta * m
            # the FC over time, one channel at a time
            for c in range(n_ch):
                score[:, c] = asa.fc(score[:, c].float()).double()
            k_c = int(n_ch * lam)
            k_t = int(t_steps * lam)
            in_top_c = [[False] * n_ch for _ in range(t_steps)]
            in_top_t = [[False] * n_ch for _ in range(t_steps)]
            for t in range(t_steps):
                ranked = sorted(range(n_ch), key=lambda c, t=t: -float(score[t, c]))
                for c in ranked[:k_c]:
                    in_top_c[t][c] = True
            for c in range(n_ch):
                ranked = sorted(range(t_steps), key=lambda t, c=c: -float(score[t, c]))
                for t in ranked[:k_t]:
                    in_top_t[t][c] = True
            important = [
                [in_top_c[t][c] != in_top_t[t][c] for c in range(n_ch)] for t in range(t_steps)
            ]
            sum_im = torch.zeros(h, w, dtype=torch.float64)
            sum_sub = torch.zeros(h, w, dtype=torch.float64)
            max_im = torch.full((h, w), -float("inf"), dtype=torch.float64)
            max_sub = torch.full((h, w), -float("inf"), dtype=torch.float64)
            for t in range(t_steps):
                for c in range(n_ch):
                    plane = x[n, t, c].double()
                    zero = torch.zeros_like(plane)
                    p_im, p_sub = (plane, zero) if important[t][c] else (zero, plane)
                    sum_im += p_im
                    sum_sub += p_sub
                    max_im = torch.maximum(max_im, p_im)
                    max_sub = torch.maximum(max_sub, p_sub)
            planes = t_steps * n_ch
            im_in = torch.stack([sum_im / planes / lam, max_im])[None].float()
            sub_in = torch.stack([sum_sub / planes / (1 - lam), max_sub])[None].float()
            map_im = torch.sigmoid(F.conv2d(im_in, asa.conv1.weight, padding=1))[0, 0]
            map_sub = torch.sigmoid(F.conv2d(sub_in, asa.conv2.weight, padding=1))[0, 0]
            for t in range(t_steps):
                for c in range(n_ch):
                    scale = map_im if important[t][c] else map_sub
                    out[n, t, c] = scale * x[n, t, c]
    return out


def lif_reference(x_seq: list[torch.Tensor], h: torch.Tensor, v_th=0.3, leak=0.3):
    """The paper's LIF, one step at a time: U = H + X; S = U >= V_th; H = leak * U * (1 - S)."""
    spikes = []
    for x in x_seq:
        u = h + x
        s = (u >= v_th).float()
        h = leak * u * (1 - s)
        spikes.append(s)
    return spikes, h


def plif_reference(x_seq: list[torch.Tensor], v: torch.Tensor, w: float, v_th=1.0):
    """SpikingJelly's ParametricLIFNode (decay_input, v_reset = 0, hard reset)."""
    inv_tau = 1.0 / (1.0 + torch.exp(torch.tensor(-w)))
    spikes = []
    for x in x_seq:
        h = v + (x - v) * inv_tau
        s = (h >= v_th).float()
        v = h * (1 - s)
        spikes.append(s)
    return spikes, v
