"""Causal sliding-window ASA for inference in fewer, cheaper passes: the same mask, the same maps.

For window t of one sample, with W_t its trailing K windows of pre-attention currents (K*C
planes, asa.py's ``ASA.sliding``) and m_t its mask (the model's raw scores, FC over time and
top-k XOR, by the same operations on the same values, so the same bits: tested, ties included):
    P_im = {(j, c) : m_t[j, c] = 1},   P_sub = the others,                   |P| = K*C
    sum_g(p) = sum_{q in P_g} x_q(p),    max_g(p) = max({x_q(p) : q in P_g} + {0 if P_g != P})
    [map_im, map_sub] = sigmoid(conv([sum_im / (lam |P|), max_im, sum_sub / ((1-lam) |P|), max_sub]))
        conv: conv1 on the first two channels, conv2 on the last two (one call, the
        divisions folded into the weights)
    out_t(c) = x_t(c) * (map_im if m_t[K-1, c] else map_sub)
This is ``ASA.sliding`` without F_im = m W_t and F_sub = (1 - m) W_t: their zeroed planes add 0
to the sums and 0 to the maxes (the "+ {0}"), and the output has one exact zero term per plane.
The K*C planes are gathered once, important ones first, into a buffer framed by two zero rows,
so each group (with its zero, when it has one) is one contiguous block: its sum and max are two
reductions over the leading axis. Passes over the K*C*H*W currents per window: the gather
(read + write) and two reads, against the product's read and two writes and the reductions'
four reads in ``ASA._window_maps``. What costs at the shipped width is the number of small
operations, so the rest is lean too: the top-k sets in numpy (a stable argsort, a fraction of a
torch sort's cost on K x C numbers), the FC and raw scores as the model's functional calls
without module overhead, both maps from one conv, scratch memory reused, and a layer's older
ring reused once no state views it (no page faults of fresh memory). Equal to ``ASA.sliding``
up to the order of the float additions in the sums (and the division folded into the conv
weight); the history (ring, raw scores) has the model's form, so a state passes between this
path and the model in either direction. Inference only (no autograd).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from asa_live.model.asa import ASA, AsaHistory, AsaRing


class SlidingWorkspace:
    """Reused scratch memory for one sliding ASA layer: the gather buffer and the stats.

    Holds no state of the stream (every call overwrites what it reads), only memory: a
    layer-sized allocation per window costs page faults at paper width. A buffer made inside
    ``torch.inference_mode`` cannot be written outside it, so it is remade when the mode
    changes; the folded conv weight is remade when conv1 / conv2 change.
    """

    def __init__(self) -> None:
        self._buffers: tuple | None = None
        self._weight: tuple[tuple, torch.Tensor] | None = None
        self._fc: tuple[nn.Module, tuple | None] | None = None
        self._rings: list[AsaRing] = []  # the rings this layer made, newest last (two kept)

    def ring(self, history: torch.Tensor, windows: int) -> AsaRing:
        """A ring holding ``history``'s K - 1 windows with room for ``windows`` more: an older
        ring of this layer when no tensor views its buffer any more (so no state can see its
        memory change), else a new one. Reusing it saves the page faults of fresh memory
        (at paper width a new ring's faults cost more than its copy)."""
        inference = torch.is_inference_mode_enabled()
        for ring in self._rings[:-1]:  # never the newest: the caller's history views it
            buffer = ring.buffer
            if (
                _unviewed(buffer)
                and buffer.shape[0] == history.shape[0]
                and buffer.shape[2:] == history.shape[2:]
                and buffer.shape[1] >= 2 * history.shape[1] + windows
                and buffer.dtype == history.dtype
                and buffer.device == history.device
                and buffer.is_inference() == inference
            ):
                self._rings.remove(ring)
                ring.restart(history)
                break
        else:
            ring = AsaRing(history, windows)
        self._rings = [*self._rings[-1:], ring]
        return ring

    def fc_plan(self, fc: nn.Module) -> tuple | None:
        """``_fc_plan(fc)``, remembered while the layer keeps the same FC module."""
        if self._fc is None or self._fc[0] is not fc:
            self._fc = (fc, _fc_plan(fc))
        return self._fc[1]

    def buffers(self, planes: int, hw: int, like: torch.Tensor) -> tuple:
        """``gathered (planes + 2, hw)`` with zero first and last rows, its inner rows (the
        gather's destination), ``stats (4, hw)`` and its four rows (views made once)."""
        key = (planes, hw, like.dtype, like.device, torch.is_inference_mode_enabled())
        if self._buffers is None or self._buffers[0] != key:
            gathered = like.new_zeros((planes + 2, hw))
            stats = like.new_empty((4, hw))
            self._buffers = (key, gathered, gathered[1 : planes + 1], stats, stats.unbind(0))
        return self._buffers[1:]

    def conv_weight(self, attn: ASA, planes: int) -> torch.Tensor:
        """conv2 and conv1 as one conv ``(2, 4, 3, 3)`` from [sum_im, max_im, sum_sub, max_sub]
        to [map_sub, map_im] (zeros across; a grouped conv measured 3-6x slower at these
        sizes), the means' divisions folded into the sum channels' weights."""
        modules = attn._modules
        w1, w2 = modules["conv1"]._parameters["weight"], modules["conv2"]._parameters["weight"]
        # weights made under inference_mode keep no version counter: rebuild every call
        fixed = not (w1.is_inference() or w2.is_inference())
        key = (planes, attn.lam, w1, w1._version, w2, w2._version) if fixed else None
        if key is None or self._weight is None or self._weight[0] != key:
            im_div, sub_div = attn._divisors(float(planes))
            with torch.no_grad():
                weight = w1.new_zeros((2, 4, *w1.shape[2:]))
                weight[0, 2:] = w2[0]
                weight[0, 2] /= sub_div
                weight[1, :2] = w1[0]
                weight[1, 0] /= im_div
            self._weight = (key, weight)
        return self._weight[1]


def raw_scores(attn: ASA, x: torch.Tensor) -> torch.Tensor:
    """``ASA.raw_scores``: the same operations in the same order (so the same bits), without
    its module and grad-mode overhead. ``x (N, T, C, H, W)`` -> ``(N, T, C)``."""
    avg = x.mean(dim=(-2, -1))
    mx = x.amax(dim=(-2, -1))
    params = attn._parameters  # a dict look-up instead of nn.Module.__getattr__
    return 0.5 * (avg + mx) + params["alpha"] * avg + params["beta"] * mx


def _fc_plan(fc: nn.Module) -> tuple | None:
    """The linear layers of the model's ``Linear`` or ``Linear -> ReLU -> Linear`` FC (with
    the ReLU's ``inplace``), or None for any other module."""
    if type(fc) is nn.Linear:
        return (fc,)
    layers = list(fc.children()) if type(fc) is nn.Sequential else []
    if [type(m) for m in layers] == [nn.Linear, nn.ReLU, nn.Linear]:
        return (layers[0], layers[1].inplace, layers[2])
    return None


def fc_scores(fc: nn.Module, raw: torch.Tensor, plan: tuple | None = None) -> torch.Tensor:
    """``fc(raw.transpose(1, 2)).transpose(1, 2)`` as in ``ASA.mask_from_scores``: for the
    model's ``Linear`` or ``Linear -> ReLU -> Linear`` the same functional calls on the same
    view (so the same bits) without the module calls; anything else is called as it is.
    ``plan``: ``_fc_plan(fc)`` when the caller has it cached."""
    plan = _fc_plan(fc) if plan is None else plan
    inp = raw.transpose(1, 2)
    if plan is None:
        return fc(inp).transpose(1, 2)
    first = plan[0]._parameters
    out = F.linear(inp, first["weight"], first["bias"])
    if len(plan) == 3:
        second = plan[2]._parameters
        out = F.linear(F.relu(out, inplace=plan[1]), second["weight"], second["bias"])
    return out.transpose(1, 2)


@functools.lru_cache(maxsize=32)
def _flat_offsets(n: int, t: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat offsets of the rows (n, t) and of the columns (n, c) of an ``(n, t, c)`` array."""
    rows = (np.arange(n * t) * c).reshape(n, t, 1)
    cols = (np.arange(n) * (t * c)).reshape(n, 1, 1) + np.arange(c)
    return rows, cols


def top_mask(score: np.ndarray, k_c: int, k_t: int) -> np.ndarray:
    """``ASA.mask_from_scores``'s step 2 on FC'd scores ``(N, K, C)``: top ``k_c`` channels per
    (n, t) XOR top ``k_t`` steps per (n, c), ties to the lower index; bool ``(N, K, C)``.

    A stable ascending argsort of ``-score`` orders exactly as the model's stable descending
    sort (equal scores, -0.0 and 0.0 included, keep their index order), so for finite scores
    the sets are the same (tested against the model's mask, ties included). numpy: on these
    few hundred numbers a numpy call costs less than a torch op, and its sorts far less.
    """
    n, t, c = score.shape
    neg = -score
    rows, cols = _flat_offsets(n, t, c)
    top = np.zeros(n * t * c, dtype=bool)
    top[(np.argsort(neg, axis=2, kind="stable")[:, :, :k_c] + rows).ravel()] = True
    top[(np.argsort(neg, axis=1, kind="stable")[:, :k_t] * c + cols).ravel()] ^= True
    return top.reshape(n, t, c)


def _window_(
    attn: ASA,
    planes: torch.Tensor,
    mask: np.ndarray,
    out: torch.Tensor,
    space: SlidingWorkspace,
    size: tuple[int, int],
) -> None:
    """One sample's window: ``planes (K*C, HW)`` of W_t, ``mask (K, C)``, refines
    ``out (C, HW)`` (the window's own currents, not a view of ``planes``) in place."""
    total, hw = planes.shape
    flat = mask.reshape(-1)
    k = int(np.count_nonzero(flat))
    order = torch.from_numpy(np.argsort(~flat, kind="stable"))  # important first, in order
    gathered, inner, stats, (sum_im, max_im, sum_sub, max_sub) = space.buffers(total, hw, planes)
    torch.index_select(planes, 0, order, out=inner)
    # rows: 0 = zero, 1..k = important, k+1..total = sub-important, total+1 = zero; a group
    # takes its zero row only when the reference zeroed some of its planes (group != P)
    im = gathered[(1 if k == total else 0) : k + 1]
    sub = gathered[k + 1 : (total + 1 if k == 0 else total + 2)]
    torch.sum(im, 0, out=sum_im)
    torch.amax(im, 0, out=max_im)
    torch.sum(sub, 0, out=sum_sub)
    torch.amax(sub, 0, out=max_sub)
    maps = F.conv2d(stats.view(1, 4, *size), space.conv_weight(attn, total), padding=1)
    maps = torch.sigmoid_(maps).view(2, hw)  # rows: map_sub, map_im
    out.mul_(maps.index_select(0, torch.from_numpy(mask[-1].astype(np.int64))))


def _unviewed(buffer: torch.Tensor) -> bool:
    """Whether ``buffer`` is the only tensor on its memory (no history views it). torch has no
    public call for this; without the private one, nothing is ever reused."""
    use_count = getattr(torch._C, "_storage_Use_Count", None)
    if use_count is None:
        return False
    # the buffer's own reference and the temporary storage object's
    return use_count(buffer.untyped_storage()._cdata) <= 2


def _extend(
    history: AsaHistory, x: torch.Tensor, space: SlidingWorkspace
) -> tuple[torch.Tensor, AsaRing | None]:
    """``ASA._extend`` without grad mode: the history's K - 1 windows then ``x``'s T, written
    into the history's ring when it may, else into a ring from ``space.ring``."""
    past = history.currents
    k1 = past.shape[1]
    if k1 == 0:
        return torch.cat([past, x], 1), None
    ring = history.ring
    if not AsaRing.usable(ring, past, x.shape[1]):
        ring = space.ring(past, x.shape[1])
    return ring.append(x, k1), ring


def sliding_asa_(
    attn: ASA, x: torch.Tensor, history: AsaHistory, space: SlidingWorkspace | None = None
) -> tuple[torch.Tensor, AsaHistory]:
    """``ASA.sliding(x, history)`` on ``x (N, T, C, H, W)``, computed in place on ``x``.

    ``x`` must be contiguous; it is overwritten with the refined currents and returned with
    the history for the next call (the same ``AsaHistory`` the model would return, a view of
    its ring; ``history`` itself is never modified). Inference only: no autograd.
    """
    if torch.is_grad_enabled():
        with torch.no_grad():
            return sliding_asa_(attn, x, history, space)
    attn._check(x, None)
    if not x.is_contiguous():
        raise ValueError("sliding_asa_ needs contiguous currents (it works in place)")
    n, t, c, h, w = x.shape
    k = attn.time_steps
    if history.currents.shape[1] != k - 1 or history.currents.shape[0] != n:
        raise ValueError(
            f"sliding ASA needs a history of K-1={k - 1} windows for batch {n}, "
            f"got {tuple(history.currents.shape)}"
        )
    space = SlidingWorkspace() if space is None else space
    xs, ring = _extend(history, x, space)  # x is copied into the ring before it changes
    raw = torch.cat([history.scores, raw_scores(attn, x)], 1)  # (N, K-1+T, C)
    k_c, k_t = int(c * attn.lam), int(k * attn.lam)
    fc = attn._modules["fc"]
    plan = space.fc_plan(fc)
    if n == 1 and t == 1:  # the live step: fewer views
        mask = top_mask(fc_scores(fc, raw, plan).numpy(), k_c, k_t)
        _window_(attn, xs.view(k * c, h * w), mask[0], x.view(c, h * w), space, (h, w))
        return x, AsaHistory(xs[:, 1:], raw[:, 1:], ring)
    for step in range(t):
        # == attn.mask_from_scores(raw[:, step : step + k]), as numpy (N, K, C)
        mask = top_mask(fc_scores(fc, raw[:, step : step + k], plan).numpy(), k_c, k_t)
        for i in range(n):
            planes = xs[i, step : step + k].view(k * c, h * w)
            _window_(attn, planes, mask[i], x[i, step].view(c, h * w), space, (h, w))
    return x, AsaHistory(xs[:, t:], raw[:, t:], ring)
