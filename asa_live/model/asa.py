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

Two ways to run it on a stream (ModelConfig.asa_mode):
* "chunk" (``forward``): the T = K windows of a chunk, all refined together;
* "sliding" (``sliding``): causal; window t is refined by steps 1-4 on its trailing K windows
  [t-K+1, t] (zeros before the stream), applied to window t only. The K - 1 earlier
  pre-attention currents and their raw scores are the layer's ``AsaHistory`` in the state
  (without grad mode a view of an ``AsaRing``, so a step writes one window, not K).

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

from typing import NamedTuple

import torch
from torch import nn


def _top_indices(score: torch.Tensor, k: int, dim: int) -> torch.Tensor:
    """Indices of the k largest entries along ``dim``; ties go to the lower index.

    ``topk`` leaves the order of ties unspecified, and ties are common here: with r > 1 the FC's
    ReLU bottleneck maps many scores to exactly 0 (always so for T = 1). A stable sort makes the
    mask, and so the output, deterministic.
    """
    return torch.sort(score, dim=dim, descending=True, stable=True).indices.narrow(dim, 0, k)


class AsaRing:
    """Preallocated room behind a sliding ASA's history, so that a step writes its window once
    instead of re-concatenating the K - 1 windows before it (inference only).

    ``buffer (N, capacity, C, H, W)`` holds windows in stream order; slots ``[0, end)`` are
    written, and every history made from this ring is a view of K - 1 slots ending at or
    before ``end``. A step appends only at ``end`` and only from the history that ends there,
    so no view an earlier state holds is ever overwritten: states stay values (a state used
    twice, or one that is not the newest, gets a fresh ring: one copy, as without a ring).
    """

    def __init__(self, history: torch.Tensor, windows: int) -> None:
        n, k1 = history.shape[:2]
        # room for the history, these windows and K - 1 more: one copy per K - 1 steps
        capacity = 2 * k1 + windows
        self.buffer = history.new_empty((n, capacity, *history.shape[2:]))
        self.buffer[:, :k1] = history
        self.end = k1

    def restart(self, history: torch.Tensor) -> None:
        """Start over with ``history``'s K - 1 windows in the first slots (the fast backend
        reuses a ring's memory once nothing views it; see model/fast/sliding.py)."""
        k1 = history.shape[1]
        self.buffer[:, :k1] = history
        self.end = k1

    def holds(self, history: torch.Tensor) -> bool:
        """Whether ``history`` is this ring's newest K - 1 windows (it may append after it)."""
        k1 = history.shape[1]
        tail = self.buffer[:, self.end - k1 : self.end]
        return (
            tail.shape == history.shape
            and tail.stride() == history.stride()
            and tail.data_ptr() == history.data_ptr()
        )

    def append(self, x: torch.Tensor, k1: int) -> torch.Tensor:
        """Write ``x (N, T, ...)`` at ``end``; returns the K - 1 + T windows ending with it."""
        t = x.shape[1]
        self.buffer[:, self.end : self.end + t] = x
        self.end += t
        return self.buffer[:, self.end - k1 - t : self.end]

    def room(self) -> int:
        return self.buffer.shape[1] - self.end

    @staticmethod
    def usable(ring: AsaRing | None, past: torch.Tensor, windows: int) -> bool:
        """Whether ``ring`` may take ``windows`` more windows behind the history ``past``
        (else the caller makes a new ring): it has room, ``past`` is its newest tail, and an
        inference-mode buffer is written only in inference mode."""
        return (
            ring is not None
            and ring.room() >= windows
            and ring.holds(past)
            and not (ring.buffer.is_inference() and not torch.is_inference_mode_enabled())
        )


class AsaHistory(NamedTuple):
    """What a sliding ASA layer remembers of the K - 1 windows before the next one.

    Attributes:
        currents: ``(N, K-1, C, H, W)`` pre-attention currents, oldest first (zeros before
            the stream began).
        scores: ``(N, K-1, C)`` their raw scores ``0.5 (A + M) + alpha A + beta M`` (cached:
            a plane's score never changes, only its rank within the window does).
        ring: the ``AsaRing`` whose slots ``currents`` views, if any (inference: the next
            window is written behind it instead of copying the K - 1 windows again).
    """

    currents: torch.Tensor
    scores: torch.Tensor
    ring: AsaRing | None = None

    def detach(self) -> AsaHistory:
        if not (self.currents.requires_grad or self.scores.requires_grad):
            return self  # nothing to cut (inference): keep the ring
        return AsaHistory(self.currents.detach(), self.scores.detach())


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

    def raw_scores(self, x: torch.Tensor) -> torch.Tensor:
        """``s = 0.5 (A + M) + alpha A + beta M`` per window and channel: ``(N, T, C)``.

        Each (t, c) depends on its own plane only, so a sliding layer computes it once per
        window and caches it (``AsaHistory.scores``). No gradient flows.
        """
        with torch.no_grad():
            avg = x.mean(dim=(-2, -1))
            mx = x.amax(dim=(-2, -1))
            return 0.5 * (avg + mx) + self.alpha * avg + self.beta * mx

    def mask_from_scores(self, raw: torch.Tensor) -> torch.Tensor:
        """Step 1's FC over time and step 2's XOR of top-k sets: raw ``(N, T, C)`` -> bool."""
        n, t, c = raw.shape
        with torch.no_grad():
            score = self.fc(raw.transpose(1, 2)).transpose(1, 2)
            k_c = int(c * self.lam)
            k_t = int(t * self.lam)
            top_c = torch.zeros(n, t, c, dtype=torch.bool, device=raw.device)
            if k_c > 0:
                top_c.scatter_(2, _top_indices(score, k_c, dim=2), True)
            top_t = torch.zeros(n, t, c, dtype=torch.bool, device=raw.device)
            if k_t > 0:
                top_t.scatter_(1, _top_indices(score, k_t, dim=1), True)
            return top_c ^ top_t

    def importance_mask(self, x: torch.Tensor) -> torch.Tensor:
        """The 0/1 mask ``m`` of step 2 as a bool tensor ``(N, T, C)``; no gradient flows."""
        return self.mask_from_scores(self.raw_scores(x))

    def spatial_maps(
        self, f_im: torch.Tensor, f_sub: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Step 3: ``map_im``, ``map_sub`` ``(N, 1, 1, H, W)`` pooled over all T*C planes."""
        planes = float(f_im.shape[1] * f_im.shape[2])
        im_div, sub_div = self._divisors(planes)
        im_in = torch.stack([f_im.sum(dim=(1, 2)) / im_div, f_im.amax(dim=(1, 2))], 1)
        sub_in = torch.stack([f_sub.sum(dim=(1, 2)) / sub_div, f_sub.amax(dim=(1, 2))], 1)
        map_im = torch.sigmoid(self.conv1(im_in))[:, None]  # (N, 1, 1, H, W)
        map_sub = torch.sigmoid(self.conv2(sub_in))[:, None]
        return map_im, map_sub

    def _divisors(self, planes: float) -> tuple[float, float]:
        # mean / lam and mean / (1 - lam); an empty group (lam = 0 or 1) has mean 0: no division
        im_div = planes * self.lam if self.lam > 0 else planes
        sub_div = planes * (1.0 - self.lam) if self.lam < 1 else planes
        return im_div, sub_div

    def _window_maps(self, win: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``spatial_maps`` of one window of planes ``win (N, K, C, H, W)`` with mask
        ``m (N, K, C)``, as ``(N, 1, H, W)`` maps; the same values, sums in the same order.

        F_im and F_sub come out of one product ``planes * [m, 1 - m]`` (few, large operations:
        at small widths the per-operation overhead is what costs). With autograd the max is
        read through its argmax (the same value), so autograd keeps an index map instead of
        the K*C planes of every window; among exactly tied maxima the gradient then goes to
        one plane instead of being shared.
        """
        n, k, c, h, w = win.shape
        weights = m.reshape(n, 1, k * c, 1).to(win.dtype)
        f = win.reshape(n, 1, k * c, h * w) * torch.cat([weights, 1.0 - weights], 1)
        if f.requires_grad and torch.is_grad_enabled():
            with torch.no_grad():
                index = f.argmax(dim=2, keepdim=True)
            maxes = f.gather(2, index).squeeze(2)
        else:
            maxes = f.amax(dim=2)  # (N, 2, HW): max of F_im, F_sub
        sums = f.sum(dim=2)
        im_div, sub_div = self._divisors(float(k * c))
        im_in = torch.stack([sums[:, 0] / im_div, maxes[:, 0]], 1).reshape(n, 2, h, w)
        sub_in = torch.stack([sums[:, 1] / sub_div, maxes[:, 1]], 1).reshape(n, 2, h, w)
        return torch.sigmoid(self.conv1(im_in)), torch.sigmoid(self.conv2(sub_in))

    def _check(self, x: torch.Tensor, t_expected: int | None) -> None:
        if x.dim() != 5:
            raise ValueError(f"ASA expects (N, T, C, H, W), got shape {tuple(x.shape)}")
        t, c = x.shape[1:3]
        if (t_expected is not None and t != t_expected) or c != self.channels:
            raise ValueError(
                f"ASA was built for T={self.time_steps}, C={self.channels}, got T={t}, C={c}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, T, C, H, W)`` -> refined currents of the same shape (never larger in magnitude)."""
        self._check(x, self.time_steps)
        m = self.importance_mask(x)[..., None, None]  # bool (N, T, C, 1, 1)
        f_im = x * m
        f_sub = x - f_im  # == (1 - m) * x exactly, since m is 0 or 1
        map_im, map_sub = self.spatial_maps(f_im, f_sub)
        # map_sub * F_sub + map_im * F_im; addcmul saves one full-size pass, and since one of
        # the two terms is an exact 0 the result equals x * map element for element
        return torch.addcmul(f_sub * map_sub, f_im, map_im)

    def initial_history(
        self,
        batch: int,
        size: tuple[int, int],
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ) -> AsaHistory:
        """Sliding state before the stream began: K - 1 windows of zero current (score 0)."""
        k = self.time_steps - 1
        kw = {"device": device, "dtype": dtype}
        return AsaHistory(
            torch.zeros(batch, k, self.channels, *size, **kw),
            torch.zeros(batch, k, self.channels, **kw),
        )

    def sliding(self, x: torch.Tensor, history: AsaHistory) -> tuple[torch.Tensor, AsaHistory]:
        """Causal sliding-window ASA over ``x (N, T, C, H, W)``, any T >= 1.

        Window t attends over its trailing K windows [t-K+1, t] (the first ones taken from
        ``history``): mask and maps as in ``forward`` on those K*C planes, applied to window t
        only. Scores are computed once per window and reused by the K windows that see it. One
        call on T windows equals T calls on one window with the history carried, bit for bit:
        every window runs the same operations on tensors of the same shape.
        Returns the refined currents and the history for the next call.
        """
        self._check(x, None)
        k = self.time_steps
        if history.currents.shape[1] != k - 1 or history.currents.shape[0] != x.shape[0]:
            raise ValueError(
                f"sliding ASA needs a history of K-1={k - 1} windows for batch {x.shape[0]}, "
                f"got {tuple(history.currents.shape)}"
            )
        xs, ring = self._extend(history, x)  # (N, K-1+T, C, H, W)
        raw = torch.cat([history.scores, self.raw_scores(x)], 1)  # (N, K-1+T, C)
        outs = []
        for t in range(x.shape[1]):
            win = xs[:, t : t + k]
            m = self.mask_from_scores(raw[:, t : t + k])
            map_im, map_sub = self._window_maps(win, m)
            f_im = win[:, -1] * m[:, -1, :, None, None]
            f_sub = win[:, -1] - f_im
            outs.append(torch.addcmul(f_sub * map_sub, f_im, map_im))
        rest = x.shape[1]
        return torch.stack(outs, 1), AsaHistory(xs[:, rest:], raw[:, rest:], ring)

    @staticmethod
    def _extend(history: AsaHistory, x: torch.Tensor) -> tuple[torch.Tensor, AsaRing | None]:
        """The history's K - 1 windows followed by ``x``'s T, in stream order.

        With grad mode on: one concatenation (a new tensor, as autograd needs). Else ``x`` is
        written into the history's ring when it may (see ``AsaRing``), else into a new one.
        Either way the windows are the same values with the same layout within a sample, so
        every later operation gives the same numbers.
        """
        past = history.currents
        k1 = past.shape[1]
        if k1 == 0 or torch.is_grad_enabled():
            return torch.cat([past, x], 1), None
        ring = history.ring
        if not AsaRing.usable(ring, past, x.shape[1]):
            ring = AsaRing(past, x.shape[1])
        return ring.append(x, k1), ring
