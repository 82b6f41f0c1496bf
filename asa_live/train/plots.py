"""PNG figures of an evaluation: confusion matrix, firing rate per layer, accuracy vs onset.

matplotlib is imported inside each function (Agg backend), so the package works without it.
Every function takes the JSON-ready dicts that asa_live.train.evaluation returns, keyed by a
label (e.g. ``{"asa": result, "none": result}``) when models are compared side by side.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from asa_live.classes import GESTURE_CLASSES
from asa_live.model.metrics import FiringRates
from asa_live.model.plots import plot_firing_rates

__all__ = ["plot_accuracy_vs_onset", "plot_confusion", "plot_layer_rates", "plot_training_curves"]


def _pyplot():
    # matplotlib is an optional extra ([train]): imported only when a figure is drawn.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def plot_confusion(
    results: Mapping[str, Mapping[str, Any]],
    path: str | os.PathLike,
    *,
    class_names: Sequence[str] = GESTURE_CLASSES,
    title: str = "Confusion matrix",
) -> Path:
    """One row-normalised confusion matrix per result (``result["confusion"]`` [C, C+1]).

    Rows are the true classes, columns the predicted ones; the last column ("none") counts
    decisions that did not exist (the output layer had not fired).
    """
    plt = _pyplot()
    n = len(results)
    fig, axes = plt.subplots(1, n, figsize=(6.2 * n, 5.6), squeeze=False)
    short = [
        c.replace("_", " ").replace("counter clockwise", "ccw").replace("clockwise", "cw")
        for c in class_names
    ]
    for ax, (label, result) in zip(axes[0], results.items(), strict=True):
        matrix = np.asarray(result["confusion"], dtype=np.float64)
        norm = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
        ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        for i in range(norm.shape[0]):
            for j in range(norm.shape[1]):
                if norm[i, j] >= 0.01:
                    ax.text(
                        j, i, f"{100 * norm[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black",
                    )  # fmt: skip
        ax.set_xticks(range(norm.shape[1]), [*short, "none"], rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(norm.shape[0]), short, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{label} ({_headline(result)})", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def _headline(result: Mapping[str, Any]) -> str:
    if result.get("protocol") == "paper":
        return f"segments {100 * result['segment_accuracy']:.1f} %"
    return f"windows {100 * result['window_accuracy']:.1f} %"


def plot_layer_rates(
    results: Mapping[str, Mapping[str, Any]],
    path: str | os.PathLike,
    *,
    title: str = "Firing rate per spiking layer",
) -> Path:
    """Grouped bars: each layer's firing rate per result, NASFR in the legend (log scale)."""
    rates = {}
    for label, result in results.items():
        names = tuple(result["layer_rates"])
        rates[label] = FiringRates(
            layer_names=names,
            per_layer=tuple(result["layer_rates"][n] for n in names),
            nasfr=float(result["nasfr"]),
            total_spikes=tuple(0.0 for _ in names),
            windows=int(result.get("windows", 0)),
        )
    return plot_firing_rates(rates, path, title=title)


def plot_accuracy_vs_onset(
    results: Mapping[str, Mapping[str, Any]],
    path: str | os.PathLike,
    *,
    title: str = "Per-window accuracy against time since gesture onset",
) -> Path:
    """Accuracy of the windows ``t`` ms after a segment's start, over all segments."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for label, result in results.items():
        curve = result["accuracy_vs_onset"]
        latency = result["onset_latency_ms"]["median"]
        text = f"median onset {latency:.0f} ms" if latency is not None else "median onset: missed"
        ax.plot(curve["ms"], np.asarray(curve["accuracy"]) * 100, label=f"{label} ({text})")
    ax.set_xlabel("time since gesture onset (ms)")
    ax.set_ylabel("windows correct (%)")
    ax.set_ylim(0, 101)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_training_curves(history: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Loss, accuracy and firing rate (NASFR) per epoch, from a run's log rows."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    epochs = [int(r["epoch"]) for r in history]

    def series(key: str) -> tuple[list[int], list[float]]:
        pairs = [(e, float(r[key])) for e, r in zip(epochs, history, strict=True)
                 if r.get(key) not in (None, "")]  # fmt: skip
        return [p[0] for p in pairs], [p[1] for p in pairs]

    axes[0].plot(*series("train_loss"), marker=".", label="train")
    axes[0].set_title("loss")
    for key, name in (("train_acc", "train"), ("val_segment_acc", "validation (segments)")):
        x, y = series(key)
        axes[1].plot(x, [100 * v for v in y], marker=".", label=name)
    axes[1].set_title("accuracy (%)")
    axes[1].set_ylim(0, 101)
    axes[2].plot(*series("val_nasfr"), marker=".", color="tab:purple")
    axes[2].set_title("firing rate (NASFR, validation)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)
