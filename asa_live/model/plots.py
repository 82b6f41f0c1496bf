"""Pictures of the spike metrics (matplotlib is imported lazily, by :func:`_pyplot`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from asa_live.model.metrics import CurrentDistributions, FiringRates


def plot_current_distributions(
    distributions: Mapping[str, CurrentDistributions] | CurrentDistributions,
    path: str | os.PathLike[str],
    title: str = "Input-current distribution per spiking layer",
) -> Path:
    """One panel per layer: the density of the input current X (log scale), V_th as a dashed
    line and the fraction X >= V_th in the panel title (in legend order). Several labelled distributions (e.g.
    ``{"no attention": d0, "ASA": d1}``) are overlaid for comparison. Writes a PNG to ``path``."""
    plt = _pyplot()
    if isinstance(distributions, CurrentDistributions):
        distributions = {"": distributions}
    first = next(iter(distributions.values()))
    n = len(first.layer_names)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), squeeze=False)
    handles = []
    for li in range(rows * cols):
        ax = axes[li // cols][li % cols]
        if li >= n:
            ax.axis("off")
            continue
        fractions = []
        lo, hi = np.inf, -np.inf
        for label, dist in distributions.items():
            centers = 0.5 * (dist.edges[1:] + dist.edges[:-1])
            width = dist.edges[1] - dist.edges[0]
            density = dist.counts[li] / max(int(dist.total[li]), 1) / width
            (line,) = ax.step(
                centers, np.where(density > 0, density, np.nan), where="mid", label=label or None
            )
            if li == 0:
                handles.append(line)
            fractions.append(f"{100 * dist.fraction_at_or_above[li]:.1f}%")
            seen = np.nonzero(density)[0]
            if seen.size:
                lo = min(lo, dist.edges[seen[0]])
                hi = max(hi, dist.edges[seen[-1] + 1])
        v_th = first.thresholds[li]
        ax.axvline(v_th, color="k", linestyle="--", linewidth=1)
        if np.isfinite(lo):
            pad = 0.05 * max(hi - lo, 1e-3)
            ax.set_xlim(min(lo, v_th) - pad, max(hi, v_th) + pad)
        ax.set_yscale("log")
        ax.set_title(f"{first.layer_names[li]}: X >= V_th {' | '.join(fractions)}", fontsize=9)
        ax.set_xlabel("input current X (dashed: V_th)")
        if li % cols == 0:
            ax.set_ylabel("density")
    if any(distributions):
        fig.legend(handles=handles, loc="lower right", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_firing_rates(
    rates: Mapping[str, FiringRates] | FiringRates,
    path: str | os.PathLike[str],
    title: str = "Firing rate per spiking layer",
) -> Path:
    """Grouped bars of per-layer firing rates (one group per layer, one bar per label), with
    each label's NASFR in the legend. Writes a PNG to ``path``."""
    plt = _pyplot()
    if isinstance(rates, FiringRates):
        rates = {"": rates}
    first = next(iter(rates.values()))
    x = np.arange(len(first.layer_names))
    width = 0.8 / len(rates)
    fig, ax = plt.subplots(figsize=(1.3 * len(x) + 2.5, 3.2))
    for i, (label, r) in enumerate(rates.items()):
        name = f"{label}: " if label else ""
        ax.bar(
            x + i * width - 0.4 + width / 2, r.per_layer, width, label=f"{name}NASFR {r.nasfr:.4f}"
        )
    ax.set_xticks(x, first.layer_names)
    ax.set_ylabel("spikes / neuron / window")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend."""
    import matplotlib  # optional heavy dependency (the train extra), loaded only to draw

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as a PNG at ``path`` (creating its folder) and free it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path
