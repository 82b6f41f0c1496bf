"""Metrics: spikes (NASFR, per-layer rates, input currents) and the "no gesture" decision.

NASFR (network average spike firing rate, Yao et al.):
    NASFR = sum_l spikes_l / (sum_l neurons_l * T * samples)
over every spiking layer l (the conv layers, FC1 and the output layer), with T windows per
sample. The per-layer rate is r_l = spikes_l / (neurons_l * T * samples). Both accumulate over a
dataset or a stream: only the spike sums and the number of windows (T * samples) are kept.

The input-current distribution of a layer (the paper's "membrane potential distribution") is
the histogram of X, the current entering the neurons after BN/ASA, plus the exact fraction with
X >= V_th (the currents that make a neuron at rest fire at once).

Decision metrics (numpy in, floats out):
    ECE    = sum_b (n_b / n) |acc_b - conf_b| over 15 equal-width confidence bins (Guo et al.
             2017), bin b = (b/15, (b+1)/15], confidence 0 in the first bin;
    AUROC  = P(s_pos > s_neg) + P(s_pos = s_neg) / 2 (Mann-Whitney U with average ranks);
    false alarms per minute = maximal runs of consecutive non-abstaining windows in negative
             streams / their total minutes;
    idle-gap no-gesture fraction = abstaining windows / windows that start at least 600 ms
             after a gesture ended and before the next one begins;
    MSP    = max_c softmax(y)_c over the gesture outputs (Hendrycks & Gimpel, ICLR 2017), the
             baseline score of "gesture present".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class FiringRates:
    """Accumulated rates. ``per_layer[l]`` = spikes / (neurons * windows)."""

    layer_names: tuple[str, ...]
    per_layer: tuple[float, ...]
    nasfr: float
    total_spikes: tuple[float, ...]
    windows: int

    def as_dict(self) -> dict[str, float]:
        out = {f"rate_{n}": r for n, r in zip(self.layer_names, self.per_layer, strict=True)}
        out["nasfr"] = self.nasfr
        return out


def nasfr(layer_spikes: torch.Tensor, layer_neurons: Sequence[int]) -> float:
    """NASFR of ``layer_spikes [N, T, L]`` (spike counts per window and layer)."""
    meter = FiringRateMeter([f"l{i}" for i in range(len(layer_neurons))], layer_neurons)
    meter.update(layer_spikes)
    return meter.compute().nasfr


class FiringRateMeter:
    """Accumulates per-layer spike counts over batches, clips or a stream.

    Args:
        layer_names, layer_neurons: as ``AsaSnn.layer_names`` / ``AsaSnn.layer_neurons``
            (neurons per window). ``FiringRateMeter.for_model(model)`` fills them in.
    """

    def __init__(self, layer_names: Sequence[str], layer_neurons: Sequence[int]) -> None:
        if len(layer_names) != len(layer_neurons) or not layer_names:
            raise ValueError("layer_names and layer_neurons must be non-empty and of equal length")
        self.layer_names = tuple(layer_names)
        self.layer_neurons = tuple(int(n) for n in layer_neurons)
        self.reset()

    @classmethod
    def for_model(cls, model: torch.nn.Module) -> FiringRateMeter:
        return cls(model.layer_names, model.layer_neurons)

    def reset(self) -> None:
        # float64 sums: a long stream easily exceeds float32's exact integer range (2^24)
        self._spikes = np.zeros(len(self.layer_names), dtype=np.float64)
        self._windows = 0

    def update(self, layer_spikes: torch.Tensor | np.ndarray, n_windows: int | None = None) -> None:
        """Add ``layer_spikes [N, K, L]`` (``n_windows`` defaults to N*K) or summed ``[L]``
        counts over ``n_windows`` windows (then ``n_windows`` is required)."""
        arr = (
            layer_spikes.detach().double().cpu().numpy()
            if isinstance(layer_spikes, torch.Tensor)
            else np.asarray(layer_spikes, dtype=np.float64)
        )
        if arr.shape[-1] != len(self.layer_names):
            raise ValueError(
                f"expected {len(self.layer_names)} layers in the last axis, got shape {arr.shape}"
            )
        if arr.ndim == 3:
            windows = arr.shape[0] * arr.shape[1]
            if n_windows is not None and n_windows != windows:
                raise ValueError(f"n_windows={n_windows} but layer_spikes holds {windows} windows")
            self._spikes += arr.sum(axis=(0, 1))
            self._windows += windows
        elif arr.ndim == 1:
            if n_windows is None or n_windows < 0:
                raise ValueError("summed [L] spike counts need n_windows >= 0")
            self._spikes += arr
            self._windows += int(n_windows)
        else:
            raise ValueError(f"layer_spikes must be [N, K, L] or [L], got shape {arr.shape}")

    def compute(self) -> FiringRates:
        neurons = np.asarray(self.layer_neurons, dtype=np.float64)
        if self._windows == 0:
            per_layer = tuple(0.0 for _ in self.layer_names)
            total = 0.0
        else:
            per_layer = tuple(float(x) for x in self._spikes / (neurons * self._windows))
            total = float(self._spikes.sum() / (neurons.sum() * self._windows))
        return FiringRates(
            layer_names=self.layer_names,
            per_layer=per_layer,
            nasfr=total,
            total_spikes=tuple(float(x) for x in self._spikes),
            windows=self._windows,
        )


@dataclass(frozen=True)
class CurrentDistributions:
    """Histograms of each layer's input current.

    Attributes:
        layer_names, thresholds: per layer (V_th of the layer's neurons).
        edges: ``[bins + 1]`` bin edges shared by all layers.
        counts: ``[L, bins]`` counts inside ``[edges[0], edges[-1]]``.
        below, above: per layer counts outside the histogram range.
        total: per layer number of values seen.
        fraction_at_or_above: per layer exact fraction with X >= V_th.
        mean, std: per layer.
    """

    layer_names: tuple[str, ...]
    thresholds: tuple[float, ...]
    edges: np.ndarray
    counts: np.ndarray
    below: np.ndarray
    above: np.ndarray
    total: np.ndarray
    fraction_at_or_above: np.ndarray
    mean: np.ndarray
    std: np.ndarray


class CurrentHistogram:
    """Accumulates input-current histograms (``forward(..., collect_currents=True)``'s currents).

    Args:
        layer_names, thresholds: per layer (``model.layer_names``, ``model.layer_thresholds``).
        bins, value_range: histogram binning, in the units of the current (same as V_th).
    """

    def __init__(
        self,
        layer_names: Sequence[str],
        thresholds: Sequence[float],
        bins: int = 120,
        value_range: tuple[float, float] = (-1.5, 1.5),
    ) -> None:
        if len(layer_names) != len(thresholds):
            raise ValueError("layer_names and thresholds must have equal length")
        if bins < 1 or not value_range[0] < value_range[1]:
            raise ValueError(f"need bins >= 1 and lo < hi, got {bins}, {value_range}")
        self.layer_names = tuple(layer_names)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.bins = int(bins)
        self.value_range = (float(value_range[0]), float(value_range[1]))
        n = len(self.layer_names)
        self._counts = np.zeros((n, self.bins), dtype=np.int64)
        self._below = np.zeros(n, dtype=np.int64)
        self._above = np.zeros(n, dtype=np.int64)
        self._total = np.zeros(n, dtype=np.int64)
        self._at_or_above = np.zeros(n, dtype=np.int64)
        self._sum = np.zeros(n, dtype=np.float64)
        self._sumsq = np.zeros(n, dtype=np.float64)

    @classmethod
    def for_model(cls, model: torch.nn.Module, **kwargs: object) -> CurrentHistogram:
        return cls(model.layer_names, model.layer_thresholds, **kwargs)  # type: ignore[arg-type]

    def update(self, currents: Sequence[torch.Tensor]) -> None:
        """Add one forward's currents: one tensor per layer, any shape."""
        if len(currents) != len(self.layer_names):
            raise ValueError(
                f"expected {len(self.layer_names)} current tensors, got {len(currents)}"
            )
        lo, hi = self.value_range
        for i, cur in enumerate(currents):
            flat = cur.detach().reshape(-1).float()
            self._counts[i] += torch.histc(flat, self.bins, lo, hi).long().cpu().numpy()
            self._below[i] += int((flat < lo).sum())
            self._above[i] += int((flat > hi).sum())
            self._total[i] += flat.numel()
            self._at_or_above[i] += int((flat >= self.thresholds[i]).sum())
            self._sum[i] += float(flat.double().sum())
            self._sumsq[i] += float(flat.double().square().sum())

    def compute(self) -> CurrentDistributions:
        total = np.maximum(self._total, 1)
        mean = self._sum / total
        var = np.maximum(self._sumsq / total - mean**2, 0.0)
        return CurrentDistributions(
            layer_names=self.layer_names,
            thresholds=self.thresholds,
            edges=np.linspace(self.value_range[0], self.value_range[1], self.bins + 1),
            counts=self._counts.copy(),
            below=self._below.copy(),
            above=self._above.copy(),
            total=self._total.copy(),
            fraction_at_or_above=self._at_or_above / total,
            mean=mean,
            std=np.sqrt(var),
        )


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 15
) -> float:
    """ECE of ``confidence [M]`` in [0, 1] against ``correct [M]`` (bool); NaN when M = 0."""
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    hit = np.asarray(correct, dtype=np.float64).reshape(-1)
    if conf.shape != hit.shape:
        raise ValueError(f"confidence and correct differ in shape: {conf.shape} vs {hit.shape}")
    if conf.size == 0:
        return math.nan
    if not np.all((conf >= 0) & (conf <= 1)):
        raise ValueError("confidences must lie in [0, 1]")
    index = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    gap = np.abs(np.bincount(index, hit, bins) - np.bincount(index, conf, bins))
    return float(gap.sum() / conf.size)


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores [M]`` for ``positive [M]`` (bool), ties counted
    half; NaN when either class is empty."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    pos = np.asarray(positive, dtype=bool).reshape(-1)
    if s.shape != pos.shape:
        raise ValueError(f"scores and positive differ in shape: {s.shape} vs {pos.shape}")
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(s, kind="stable")
    sorted_s = s[order]
    # average rank (1-based) of each run of tied scores
    first = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    last = np.r_[first[1:], s.size] - 1
    run = np.repeat(np.arange(first.size), last - first + 1)
    ranks = np.empty(s.size)
    ranks[order] = (first[run] + last[run]) / 2.0 + 1.0
    u = ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def false_alarm_runs(active: np.ndarray) -> int:
    """Maximal runs of consecutive True in ``active [T]`` (non-abstaining windows)."""
    a = np.asarray(active, dtype=bool).reshape(-1)
    return int(np.count_nonzero(a[1:] & ~a[:-1]) + (a.size > 0 and a[0]))


def false_alarms_per_minute(streams: Sequence[np.ndarray], window_us: int) -> float:
    """False alarms per minute over negative ``streams`` (one ``active [T]`` bool per stream,
    True = the decision showed a gesture); NaN when there is no window."""
    windows = sum(np.asarray(a).size for a in streams)
    if windows == 0:
        return math.nan
    return sum(false_alarm_runs(a) for a in streams) / (windows * window_us / 60e6)


def idle_gap_mask(window_labels: np.ndarray, window_us: int, after_ms: float = 600.0) -> np.ndarray:
    """``[T]`` bool: the windows (label -1) that start >= ``after_ms`` after a gesture's last
    window ends and before the next gesture's first window; idle before the first gesture is
    not a gap."""
    labels = np.asarray(window_labels).reshape(-1)
    gesture = labels >= 0
    idx = np.arange(labels.size)
    ends = np.where(gesture, idx + 1, -1)  # a gesture window ends where the next one starts
    last_end = np.maximum.accumulate(ends) if labels.size else ends
    wait = math.ceil(after_ms * 1000.0 / window_us - 1e-9)
    return ~gesture & (last_end >= 0) & (idx - last_end >= wait)


def msp_score(scores: np.ndarray | torch.Tensor, num_gestures: int) -> np.ndarray:
    """Maximum softmax probability (T = 1) over the first ``num_gestures`` outputs of
    ``scores [..., C_out]``: the baseline's "gesture present" score, ``[...]``."""
    logits = torch.as_tensor(scores, dtype=torch.float64)[..., :num_gestures]
    return torch.softmax(logits, dim=-1).amax(-1).numpy()
