"""Pictures of synthetic samples (docs/img/synth_*.png). matplotlib is imported lazily."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from asa_live.classes import GESTURE_CLASSES, NUM_GESTURE_CLASSES
from asa_live.events.aedat4 import iter_aedat4
from asa_live.events.ibm import read_labels_csv
from asa_live.synth.negatives import NEGATIVE_KINDS, generate_negative
from asa_live.synth.recording import generate_sample
from asa_live.synth.swipes import SYNTH_CLASSES

# Real DVS128 Gesture numbers from /work/shared/docs/dvsgesture-facts.md (train split).
REAL_MEAN_RATE_EV_S = 56_000.0
REAL_ACTIVE_X_5_95 = (14, 106)
REAL_ACTIVE_Y_5_95 = (32, 115)


def event_frame_rgb(events: np.ndarray, width: int, height: int, clip: float = 4.0) -> np.ndarray:
    """An ``[H, W, 3]`` float image: ON events orange, OFF events blue, black background."""
    on = np.bincount(
        events["y"][events["p"] == 1].astype(np.int64) * width + events["x"][events["p"] == 1],
        minlength=width * height,
    ).reshape(height, width)
    off = np.bincount(
        events["y"][events["p"] == 0].astype(np.int64) * width + events["x"][events["p"] == 0],
        minlength=width * height,
    ).reshape(height, width)
    on_n = np.clip(on / clip, 0, 1)
    off_n = np.clip(off / clip, 0, 1)
    rgb = np.zeros((height, width, 3))
    rgb[..., 0] = np.clip(on_n + 0.15 * off_n, 0, 1)
    rgb[..., 1] = np.clip(0.6 * on_n + 0.6 * off_n, 0, 1)
    rgb[..., 2] = np.clip(off_n + 0.1 * on_n, 0, 1)
    return rgb


def plot_class_grid(
    path: str | os.PathLike,
    seed: int = 7,
    n_frames: int = 6,
    frame_us: int = 100_000,
    start_us: int = 200_000,
    classes: Sequence[int] = tuple(range(len(SYNTH_CLASSES))),
    randomize: int = 1,
) -> None:
    """For each class a row of ``n_frames`` event frames of ``frame_us`` each, saved to ``path``.

    Classes index :data:`SYNTH_CLASSES` (the 11 gestures, then the swipes).
    """
    plt = _pyplot()
    duration = start_us + n_frames * frame_us
    fig, axes = plt.subplots(
        len(classes), n_frames, figsize=(1.6 * n_frames + 1.6, 1.6 * len(classes))
    )
    axes = np.atleast_2d(axes)
    for row, c in enumerate(classes):
        ev = generate_sample(c, seed + c, duration_us=duration, randomize=randomize)
        for col in range(n_frames):
            a = start_us + col * frame_us
            sel = ev[(ev["t"] >= a) & (ev["t"] < a + frame_us)]
            ax = axes[row, col]
            ax.imshow(event_frame_rgb(sel, 128, 128), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"{a // 1000}-{(a + frame_us) // 1000} ms", fontsize=8)
            if col == 0:
                ax.set_ylabel(
                    f"{c}: {SYNTH_CLASSES[c]}", fontsize=7, rotation=0, ha="right", va="center"
                )
    kind = "randomised scenes" if randomize else "clean scenes"
    fig.suptitle(f"Synthetic gestures, {kind}: event frames (ON orange, OFF blue)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    fig.savefig(path, dpi=80)
    plt.close(fig)


def sample_statistics(
    n_per_class: int = 8, seed: int = 1000, duration_us: int = 1_500_000, randomize: int = 0
) -> dict:
    """Event statistics of ``n_per_class`` samples per class (seeds ``seed``, ``seed + 1``, ...).

    Returns a dict: ``rates`` ``[11, n]`` events/s, ``on_fraction`` ``[11, n]``, ``footprint``
    ``[128, 128]`` event counts over all samples, and the 5-95 % ranges of active x and y.
    """
    rates = np.zeros((NUM_GESTURE_CLASSES, n_per_class))
    on_fraction = np.zeros_like(rates)
    footprint = np.zeros((128, 128), np.int64)
    s = seed
    for c in range(NUM_GESTURE_CLASSES):
        for i in range(n_per_class):
            ev = generate_sample(c, s, duration_us=duration_us, randomize=randomize)
            s += 1
            rates[c, i] = len(ev) / (duration_us * 1e-6)
            on_fraction[c, i] = ev["p"].mean() if len(ev) else 0.0
            footprint += np.bincount(
                ev["y"].astype(np.int64) * 128 + ev["x"], minlength=128 * 128
            ).reshape(128, 128)
    # Active pixels weighted by their events, as the facts file's GIF measure approximates.
    ys, xs = np.nonzero(footprint)
    w = footprint[ys, xs].astype(float)
    return {
        "rates": rates,
        "on_fraction": on_fraction,
        "footprint": footprint,
        "x_5_95": _weighted_percentiles(xs, w),
        "y_5_95": _weighted_percentiles(ys, w),
        "duration_us": duration_us,
    }


def _weighted_percentiles(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    order = np.argsort(values)
    cum = np.cumsum(weights[order]) / weights.sum()
    v = values[order]
    return float(v[np.searchsorted(cum, 0.05)]), float(v[np.searchsorted(cum, 0.95)])


def plot_statistics(
    path: str | os.PathLike,
    n_per_class: int = 8,
    seed: int = 1000,
    duration_us: int = 1_500_000,
    randomize: int = 0,
) -> dict:
    """Event-rate histogram, per-class rates and spatial footprint against the real numbers."""
    plt = _pyplot()
    from matplotlib.patches import Rectangle  # optional heavy dependency, as in _pyplot

    st = sample_statistics(n_per_class, seed, duration_us, randomize)
    rates = st["rates"] / 1000.0
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    ax = axes[0]
    ax.hist(rates.ravel(), bins=25, color="tab:blue", alpha=0.8)
    ax.axvline(REAL_MEAN_RATE_EV_S / 1000, color="k", ls="--", label="real mean (56 k ev/s)")
    ax.axvline(rates.mean(), color="tab:red", label=f"synthetic mean ({rates.mean():.0f} k ev/s)")
    ax.set_xlabel("event rate per sample (k events/s)")
    ax.set_ylabel("samples")
    ax.legend(fontsize=8)
    ax.set_title(f"{rates.size} samples of {duration_us / 1e6:g} s, randomize={randomize}")
    ax = axes[1]
    ax.boxplot(rates.T, showfliers=False)
    ax.axhline(REAL_MEAN_RATE_EV_S / 1000, color="k", ls="--")
    ax.set_xticks(range(1, NUM_GESTURE_CLASSES + 1), [str(c) for c in range(NUM_GESTURE_CLASSES)])
    ax.set_xlabel("class")
    ax.set_ylabel("k events/s")
    ax.set_title("rate by class (dashed: real mean over all classes)")
    ax = axes[2]
    ax.imshow(np.log1p(st["footprint"]), cmap="magma")
    x0, x1 = st["x_5_95"]
    y0, y1 = st["y_5_95"]
    ax.add_patch(
        Rectangle(
            (x0, y0), x1 - x0, y1 - y0, fill=False, ec="cyan", lw=1.5, label="synthetic 5-95 %"
        )
    )
    rx, ry = REAL_ACTIVE_X_5_95, REAL_ACTIVE_Y_5_95
    ax.add_patch(
        Rectangle(
            (rx[0], ry[0]),
            rx[1] - rx[0],
            ry[1] - ry[0],
            fill=False,
            ec="lime",
            ls="--",
            lw=1.5,
            label="real 5-95 % (one class-4 sample)",
        )
    )
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("spatial footprint (log events), all classes")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return st


def plot_recording(
    path: str | os.PathLike, events: np.ndarray, labels: np.ndarray, bin_ms: float = 50.0
) -> None:
    """Event rate over a recording with the labelled gestures shaded, plus one frame per gesture."""
    plt = _pyplot()
    n = len(labels)
    fig = plt.figure(figsize=(max(12, 1.3 * n), 5))
    grid = fig.add_gridspec(2, n, height_ratios=[1.0, 1.1])
    ax = fig.add_subplot(grid[0, :])
    bin_us = int(bin_ms * 1000)
    counts = np.bincount(events["t"] // bin_us)
    t = np.arange(len(counts)) * bin_ms / 1000
    ax.plot(t, counts / (bin_ms / 1000) / 1000, lw=0.8, color="k")
    for row in labels:
        a, b = row["start_us"] / 1e6, row["end_us"] / 1e6
        ax.axvspan(a, b, color="tab:orange", alpha=0.2)
        ax.text(
            (a + b) / 2, ax.get_ylim()[1] * 0.9, str(int(row["class_id"])), ha="center", fontsize=8
        )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("k events/s")
    ax.set_xlim(0, t[-1] if len(t) else 1)
    ax.set_title("event rate; shaded: labelled gestures (class id 0..10)", fontsize=9)
    for i, row in enumerate(labels):
        mid = (int(row["start_us"]) + int(row["end_us"])) // 2
        sel = events[(events["t"] >= mid) & (events["t"] < mid + 100_000)]
        a = fig.add_subplot(grid[1, i])
        a.imshow(event_frame_rgb(sel, 128, 128), interpolation="nearest")
        a.set_xticks([])
        a.set_yticks([])
        a.set_title(GESTURE_CLASSES[int(row["class_id"])].replace("_", " "), fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_negatives(
    path: str | os.PathLike, seed: int = 7, n_frames: int = 6, frame_us: int = 100_000
) -> None:
    """One row of event frames per negative ("no gesture") kind."""
    plt = _pyplot()
    fig, axes = plt.subplots(
        len(NEGATIVE_KINDS), n_frames, figsize=(1.6 * n_frames + 1.6, 1.6 * len(NEGATIVE_KINDS))
    )
    for row, kind in enumerate(NEGATIVE_KINDS):
        ev = generate_negative(kind, seed, duration_us=n_frames * frame_us)
        for col in range(n_frames):
            a = col * frame_us
            ax = axes[row, col]
            sel = ev[(ev["t"] >= a) & (ev["t"] < a + frame_us)]
            ax.imshow(event_frame_rgb(sel, 128, 128), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(kind, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle("Negative ('no gesture') streams: event frames of 100 ms", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write_figures(out: Path, seed: int, n_per_class: int, recording: str | None) -> None:
    """Everything ``asa-live-synth figures`` draws, with the statistics printed."""
    out.mkdir(parents=True, exist_ok=True)
    plot_class_grid(out / "synth_classes.png", seed=seed)
    plot_negatives(out / "synth_negatives.png", seed=seed)
    written = [out / "synth_classes.png", out / "synth_negatives.png"]
    for randomize, name in ((0, "synth_stats.png"), (1, "synth_stats_random.png")):
        st = plot_statistics(
            out / name, n_per_class, 1000 + seed, duration_us=6_500_000, randomize=randomize
        )
        written.append(out / name)
        rates = st["rates"]
        print(
            f"randomize={randomize}: {rates.size} samples of 6.5 s: mean {rates.mean():.0f} ev/s "
            f"({rates.mean() * 6.5 / 1000:.0f} k events per sample), median {np.median(rates):.0f}, "
            f"min {rates.min():.0f}, max {rates.max():.0f}; ON fraction "
            f"{st['on_fraction'].mean():.2f}; active x 5-95 % {st['x_5_95']}, y {st['y_5_95']}"
        )
        for c in range(NUM_GESTURE_CLASSES):
            print(f"  class {c + 1:2d} {GESTURE_CLASSES[c]:<28} mean {rates[c].mean():8.0f} ev/s")
    if recording:
        rec = Path(recording)
        events = np.concatenate(list(iter_aedat4(rec)))
        labels = read_labels_csv(rec.with_name(rec.stem + "_labels.csv"))
        plot_recording(out / "synth_demo.png", events, labels)
        written.append(out / "synth_demo.png")
    print("wrote " + ", ".join(str(p) for p in written))


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend."""
    import matplotlib  # optional heavy dependency (the train extra), loaded only to draw

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
