"""Advance Spatial Attention (ASA), Yao et al., ICCV 2023, computed per sample.

Input x: currents (N, T, C, H, W) of T time steps (T = the chunk's K windows). lam = 0.5.
1. Score each (t, c):  A = mean_{H,W} x,  M = max_{H,W} x,
       s = 0.5 (A + M) + alpha * A + beta * M,       then an FC over t for every c:
       s <- fc(s)  with fc = Linear(T, T)                          if r == 1
                        fc = Linear(T, T') -> ReLU -> Linear(T', T)  else, T' = max(1, T // r)
2. m[n, t, c] = 1 iff (c in top-floor(lam C) channels of (n, t))
                 XOR (t in top-floor(lam T) time steps of (n, c)); else 0.
3. F_im = m x,  F_sub = (1 - m) x; pooled over the T*C planes of each sample:
       map_im  = sigmoid(conv1([mean(F_im) / lam,       max(F_im)]))    (N, 1, H, W)
       map_sub = sigmoid(conv2([mean(F_sub) / (1 - lam), max(F_sub)]))
   (means and maxes include the zeroed planes, as in the release).
4. out = map_im * F_im + map_sub * F_sub.  Every multiplier is in (0, 1): ASA only shrinks.

Deliberate differences from the authors' release (github.com/BICLab/ASA-SNN, models/module/Attn.py):
* masks are computed per sample; the release takes the union of the top-k indices over the batch,
  so there a sample's output depends on its batch-mates (identical when the batch holds one sample);
* any N >= 1 and T >= 1 work (the release's ``squeeze()`` breaks N = 1 and T = 1); floor(lam T) = 0
  simply selects no time step; the hidden width of the FC is max(1, T // r);
* ties in the score are broken towards the lower channel / time index (``topk`` leaves them
  unspecified; they are common because the FC's ReLU bottleneck maps many scores to 0);
* lam = 0 (or 1) would divide by zero in the important (sub-important) mean; that group then
  holds no plane, its mean is 0 and is used undivided.
Faithful on purpose: ``alpha``, ``beta`` and ``fc`` reach the output only through top-k *indices*,
so they receive no gradient and keep their initial values, exactly as in the release. Only
``conv1`` and ``conv2`` (2 x 18 weights) learn.
"""

from __future__ import annotations

import torch
from torch import nn


def _top_indices(score: torch.Tensor, k: int, dim: int) -> torch.Tensor:
    """Indices of the k largest entries along ``dim``; ties go to the lower index.

    ``topk`` leaves the order of ties unspecified, and ties are common here: with r > 1 the FC's
    ReLU bottleneck maps many scores to exactly 0 (always so for T = 1). A stable sort makes the
    mask, and so the output, deterministic.
    """
    return torch.sort(score, dim=dim, descending=True, stable=True).indices.narrow(dim, 0, k)


class ASA(nn.Module):
    """Advance Spatial Attention over ``(N, T, C, H, W)`` currents; returns the same shape.

    Parameter names follow the release (``alpha``, ``beta``, ``fc``, ``conv1``, ``conv2``) so that
    weights can be compared and carried over. ``alpha``, ``beta`` and ``fc`` get no gradient (they
    only select top-k indices); gradients reach ``conv1`` and ``conv2`` only.
    """

    def __init__(
        self, time_steps: int, channels: int, reduction: int = 4, lam: float = 0.5
    ) -> None:
        super().__init__()
        if time_steps < 1 or channels < 1 or reduction < 1:
            raise ValueError(
                f"ASA needs time_steps, channels, reduction >= 1, got {time_steps}, {channels}, "
                f"{reduction}"
            )
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"ASA lam must be in [0, 1], got {lam}")
        self.time_steps = int(time_steps)
        self.channels = int(channels)
        self.reduction = int(reduction)
        self.lam = float(lam)
        self.alpha = nn.Parameter(torch.tensor([0.5]))
        self.beta = nn.Parameter(torch.tensor([0.5]))
        if reduction == 1:
            self.fc: nn.Module = nn.Linear(time_steps, time_steps, bias=False)
        else:
            hidden = max(1, time_steps // reduction)
            self.fc = nn.Sequential(
                nn.Linear(time_steps, hidden, bias=False),
                nn.ReLU(),
                nn.Linear(hidden, time_steps, bias=False),
            )
        self.conv1 = nn.Conv2d(2, 1, kernel_size=3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(2, 1, kernel_size=3, padding=1, bias=False)

    def extra_repr(self) -> str:
        return (
            f"time_steps={self.time_steps}, channels={self.channels}, "
            f"reduction={self.reduction}, lam={self.lam}"
        )

    def importance_mask(self, x: torch.Tensor) -> torch.Tensor:
        """The 0/1 mask ``m`` of step 2 as a bool tensor ``(N, T, C)``; no gradient flows."""
        n, t, c = x.shape[:3]
        with torch.no_grad():
            avg = x.mean(dim=(-2, -1))
            mx = x.amax(dim=(-2, -1))
            score = 0.5 * (avg + mx) + self.alpha * avg + self.beta * mx  # (N, T, C)
            score = self.fc(score.transpose(1, 2)).transpose(1, 2)
            k_c = int(c * self.lam)
            k_t = int(t * self.lam)
            top_c = torch.zeros(n, t, c, dtype=torch.bool, device=x.device)
            if k_c > 0:
                top_c.scatter_(2, _top_indices(score, k_c, dim=2), True)
            top_t = torch.zeros(n, t, c, dtype=torch.bool, device=x.device)
            if k_t > 0:
                top_t.scatter_(1, _top_indices(score, k_t, dim=1), True)
            return top_c ^ top_t

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, T, C, H, W)`` -> refined currents of the same shape (never larger in magnitude)."""
        if x.dim() != 5:
            raise ValueError(f"ASA expects (N, T, C, H, W), got shape {tuple(x.shape)}")
        n, t, c, h, w = x.shape
        if t != self.time_steps or c != self.channels:
            raise ValueError(
                f"ASA was built for T={self.time_steps}, C={self.channels}, got T={t}, C={c}"
            )
        m = self.importance_mask(x)[..., None, None]  # bool (N, T, C, 1, 1)
        f_im = x * m
        f_sub = x - f_im  # == (1 - m) * x exactly, since m is 0 or 1
        planes = float(t * c)
        # mean / lam and mean / (1 - lam); an empty group (lam = 0 or 1) has mean 0: no division
        im_div = planes * self.lam if self.lam > 0 else planes
        sub_div = planes * (1.0 - self.lam) if self.lam < 1 else planes
        im_in = torch.stack([f_im.sum(dim=(1, 2)) / im_div, f_im.amax(dim=(1, 2))], 1)
        sub_in = torch.stack([f_sub.sum(dim=(1, 2)) / sub_div, f_sub.amax(dim=(1, 2))], 1)
        map_im = torch.sigmoid(self.conv1(im_in))[:, None]  # (N, 1, 1, H, W)
        map_sub = torch.sigmoid(self.conv2(sub_in))[:, None]
        # map_sub * F_sub + map_im * F_im; addcmul saves one full-size pass, and since one of
        # the two terms is an exact 0 the result equals x * map element for element
        return torch.addcmul(f_sub * map_sub, f_im, map_im)
