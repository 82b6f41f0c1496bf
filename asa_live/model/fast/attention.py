"""ASA for inference in fewer passes over the currents: the same mask, the same maps.

For one ASA sample x (T, C, H, W) with its mask m (T, C) (asa.py: scores, FC, top-k XOR):
    P_im = {planes (t, c) with m = 1},  P_sub = the others,        |P| = T*C planes
    sum_g(p) = sum_{q in P_g} x_q(p),   max_g(p) = max({x_q(p) : q in P_g} + {0 if P_g != P})
    map_im  = sigmoid(conv1([sum_im / (lam |P|),        max_im]))
    map_sub = sigmoid(conv2([sum_sub / ((1 - lam) |P|), max_sub]))
    out_q   = x_q * map_im    (q in P_im),     x_q * map_sub   (q in P_sub)
This is asa.py's step 3-4 without materialising F_im = m x and F_sub = (1 - m) x: their
zeroed planes add 0 to the sums and 0 to the maxes (hence the "+ {0}"), and out = map_im F_im
+ map_sub F_sub has one exact zero term per plane. With g(q) = m_q (1 = important), both
groups' sums and maxes are one ``scatter_reduce`` each over the planes in place (row g of a
(2, HW) result; the max starts from 0, or from -inf for a group of all |P| planes), and the
product is ``x_q *= maps[g(q)]`` through one ``gather`` of the two maps into a reused buffer.
Passes over the T*C*H*W currents: 2 reads (scores) + 2 reads (sums, maxes) + the in-place
product, with no copy of the planes (the earlier version gathered them, grouped, and
scattered them back: two layer-sized copies per window), against about 12 reads and 5 writes
in ``ASA.forward``. Equal to ``ASA.forward`` up to the order of float additions in the sums
(the mask is computed by the model's own code, so it is identical); inference only.
"""

from __future__ import annotations

import math

import torch

from asa_live.model.asa import ASA
from asa_live.model.fast.scratch import Scratch


def _maps(attn: ASA, stats: torch.Tensor, planes: int, h: int, w: int) -> torch.Tensor:
    """``stats [2, 2, HW]`` ((sum_im, sum_sub), (max_im, max_sub)) -> ``[map_im, map_sub]``."""
    (sum_im, sum_sub), (max_im, max_sub) = stats
    im_div, sub_div = attn._divisors(float(planes))
    im_in = torch.stack([sum_im / im_div, max_im]).view(1, 2, h, w)
    sub_in = torch.stack([sum_sub / sub_div, max_sub]).view(1, 2, h, w)
    maps = torch.cat([attn.conv1(im_in), attn.conv2(sub_in)], 1)
    return torch.sigmoid_(maps).view(2, h * w)


def _group_stats(planes: torch.Tensor, groups: torch.Tensor, k: int, stats: torch.Tensor) -> None:
    """Sums and maxes of ``planes [P, HW]`` per group, ``groups [P, HW]`` (an expanded view
    of each plane's group: 0 important, 1 sub-important), written into ``stats [2, 2, HW]``
    as ((sum_im, sum_sub), (max_im, max_sub)); ``k`` planes are important. A group that the
    reference zeroed some planes of (fewer than P) counts those zeros in its max: from 0."""
    total = planes.shape[0]
    sums, maxes = stats
    sums.zero_().scatter_add_(0, groups, planes)
    maxes[0].fill_(-math.inf if k == total else 0.0)
    maxes[1].fill_(-math.inf if k == 0 else 0.0)
    maxes.scatter_reduce_(0, groups, planes, "amax", include_self=True)


@torch.no_grad()
def fused_asa_(attn: ASA, x: torch.Tensor, scratch: Scratch | None = None) -> torch.Tensor:
    """``ASA.forward`` on ``x (N, T, C, H, W)`` (N samples of T windows), computed in place.

    ``x`` must be contiguous; it is overwritten with the result and returned. ``scratch``:
    where the per-plane map buffer comes from (else a new one per call).
    """
    attn._check(x, attn.time_steps)
    if not x.is_contiguous():
        raise ValueError("fused_asa_ needs contiguous currents (it works in place)")
    n, t, c, h, w = x.shape
    total, hw = t * c, h * w
    mask = attn.importance_mask(x).view(n, t * c)  # the model's own scores, FC and top-k
    groups = mask.logical_not().to(torch.int64)  # 0 important, 1 sub-important
    important = mask.sum(1).tolist()
    scratch = Scratch() if scratch is None else scratch
    per_plane = scratch.get("asa_maps", (total, hw), x)
    stats = scratch.get("asa_stats", (2, 2, hw), x)
    for i in range(n):
        planes = x[i].view(total, hw)
        index = groups[i].view(total, 1).expand(total, hw)
        _group_stats(planes, index, important[i], stats)
        maps = _maps(attn, stats, total, h, w)  # rows: map_im, map_sub
        torch.gather(maps, 0, index, out=per_plane)
        planes.mul_(per_plane)
    return x
