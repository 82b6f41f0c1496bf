"""Spike metrics: NASFR, per-layer firing rates, input-current distributions.

NASFR (network average spike firing rate, Yao et al.):
    NASFR = sum_l spikes_l / (sum_l neurons_l * T * samples)
over every spiking layer l (the conv layers, FC1 and the output layer), with T windows per
sample. The per-layer rate is r_l = spikes_l / (neurons_l * T * samples). Both accumulate over a
dataset or a stream: only the spike sums and the number of windows (T * samples) are kept.

The input-current distribution of a layer (the paper's "membrane potential distribution") is
the histogram of X, the current entering the neurons after BN/ASA, plus the exact fraction with
X >= V_th (the currents that make a neuron at rest fire at once).
"""

from __future__ import annotations

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
