"""Replay benchmark of the live pipeline: throughput, latency, and the GUI's cost.

Side by side, in one process, on the same recording and checkpoint:

1. fast replay (no pacing), ``naive``: :func:`run_stream`, everything in one thread - the path
   ``asa-live --replay FILE --headless`` uses; once with the ready windows batched into one
   forward call (up to ``BATCH_WINDOWS``, the default) and once with one call per window
   (``batch_windows=1``, the behaviour before batching);
2. fast replay, ``worker``: :class:`PipelineWorker` (ingest and inference threads, bounded
   queue, block policy), batched and unbatched;
3. paced replay at 1x (real time) through the worker (drop policy): window-end-to-prediction
   latency as a user sees it, and dropped windows;
4. the same two runs with the window open (offscreen Qt, redraw timer at 60 Hz): windows/s and
   latency with the GUI against without it, and the measured redraw rate;
5. the whole recording paced at 10x headless (worker) and at 4x with the window: windows
   dropped when inference falls behind (issue 11 bug 3: batching the backlog should keep
   every window on this machine).

Prints medians over ``--repeats`` runs and the ratios. Without ``--model`` it uses the shipped
default model, or (if that is missing) a randomly initialised paper-size 3-layer net with
K = 1 (the streaming recipe's shape): dense convs cost the same whatever the weights.

    .venv/bin/python benchmarks/bench_replay.py [--model PATH] [--repeats 3] [--paced-seconds 10]
    .venv/bin/python benchmarks/bench_replay.py --quick     # 1 repeat, 5 s paced runs
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "recordings" / "demo.aedat4"


def _checkpoint(path: str | None):
    from asa_live.pipeline.models import default_model_path, load_model

    if path is not None or default_model_path().is_file():
        return load_model(path), str(path or default_model_path())
    import torch

    from asa_live.classes import GESTURE_CLASSES
    from asa_live.model import BinningConfig, ModelConfig, build_model, save_checkpoint

    tmp = Path(tempfile.gettempdir()) / "asa-live-bench-random-3layer-k1.safetensors"
    if not tmp.is_file():
        torch.manual_seed(0)
        model = build_model(ModelConfig(arch="3layer", attention="asa", chunk_windows=1))
        save_checkpoint(tmp, model, BinningConfig(), GESTURE_CLASSES, {"note": "benchmark"})
    return load_model(tmp), "random paper-size 3-layer ASA net, K=1 (shipped model missing)"


def _stats(latencies: list[float]) -> tuple[float, float]:
    import numpy as np

    a = np.asarray(latencies)
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def run_ingest_only(ckpt, recording: Path) -> dict:
    """Source -> adaptation -> binning only (no network): what the pipeline costs by itself."""
    from asa_live.pipeline import IngestStage, open_replay

    source = open_replay(recording)
    ingest = IngestStage(tuple(source.sensor_size), ckpt.binning)
    t0 = time.perf_counter()
    windows, first, last = 0, None, None
    for packet in source:
        _, pending = ingest.process(packet, time.perf_counter())
        windows += len(pending)
        first = int(packet["t"][0]) if first is None else first
        last = int(packet["t"][-1])
    windows += len(ingest.flush(time.perf_counter()))
    wall = time.perf_counter() - t0
    nan = float("nan")
    return {"windows": windows, "wall_s": wall, "rtf": (last - first) / 1e6 / wall, "p50": nan,
            "p95": nan}  # fmt: skip


def run_network_only(ckpt, n_windows: int = 400, batch: int = 1) -> dict:
    """The session alone on random frames: the network's cost per window (``batch`` > 1:
    ``push_many`` on that many frames at a time; p50/p95 are then per call)."""
    import numpy as np

    from asa_live.model import StreamingSession

    session = StreamingSession(ckpt.model)
    frames = np.random.default_rng(0).poisson(0.2, (n_windows, *session.frame_shape))
    frames = frames.astype(np.float32)
    times = []
    for start in range(0, n_windows, batch):
        t0 = time.perf_counter()
        if batch == 1:
            session.push(frames[start])
        else:
            session.push_many(frames[start : start + batch])
        times.append((time.perf_counter() - t0) * 1e3)
    wall = sum(times) / 1e3
    p50, p95 = _stats(times)
    window_s = ckpt.binning.window_us / 1e6
    return {"windows": n_windows, "wall_s": wall, "rtf": n_windows * window_s / wall, "p50": p50,
            "p95": p95}  # fmt: skip


def run_naive(ckpt, recording: Path, labels, batch_windows: int | None = None) -> dict:
    from asa_live.pipeline import BATCH_WINDOWS, open_replay, run_stream

    batch = BATCH_WINDOWS if batch_windows is None else batch_windows
    t0 = time.perf_counter()
    reports = list(run_stream(open_replay(recording), ckpt, labels=labels, batch_windows=batch))
    wall = time.perf_counter() - t0
    span = (reports[-1].t_end_us - reports[0].t_start_us) / 1e6
    p50, p95 = _stats([r.latency_ms for r in reports])
    return {"windows": len(reports), "wall_s": wall, "rtf": span / wall, "p50": p50, "p95": p95}


def run_worker(
    ckpt, recording: Path, labels, speed=None, max_seconds=None, batch_windows=None
) -> dict:
    from asa_live.pipeline import BATCH_WINDOWS, PipelineWorker, open_replay

    worker = PipelineWorker(
        lambda: open_replay(recording),
        ckpt,
        speed=speed,
        labels=labels,
        lossless_results=True,
        max_seconds=max_seconds,
        batch_windows=BATCH_WINDOWS if batch_windows is None else batch_windows,
    )
    t0 = time.perf_counter()
    worker.start()
    reports = list(worker.iter_results())
    wall = time.perf_counter() - t0
    worker.stop()
    s = worker.stats(recent=False)
    p50, p95 = _stats([r.latency_ms for r in reports])
    return {
        "windows": len(reports),
        "wall_s": wall,
        "rtf": s.source_s / wall,
        "p50": p50,
        "p95": p95,
        "dropped": s.dropped_windows,
        "accuracy": s.accuracy,
    }


def run_gui(ckpt, recording: Path, labels, speed=None, max_seconds=None) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtWidgets import QApplication

    from asa_live.gui.main_window import MainWindow
    from asa_live.pipeline import open_replay

    app = QApplication.instance() or QApplication([])
    window = MainWindow(ckpt, redraw_hz=60, policy="block" if speed is None else "drop")
    window.show()
    window.start_source(
        lambda: open_replay(recording), recording.name, speed=speed, labels=labels,
        max_seconds=max_seconds,
    )  # fmt: skip
    worker = window.worker
    latencies: list[float] = []
    original = worker.drain

    def drain(max_items=None):
        got = original(max_items)
        latencies.extend(r.latency_ms for r in got)
        return got

    worker.drain = drain
    t0 = time.perf_counter()
    redraws0 = window.redraws
    while not worker.finished:
        app.processEvents()
        time.sleep(0.002)
    wall = time.perf_counter() - t0
    window.redraw()
    s = worker.stats(recent=False)
    redraw_hz = (window.redraws - redraws0) / wall
    window.close()
    p50, p95 = _stats(latencies) if latencies else (float("nan"), float("nan"))
    return {
        "windows": s.windows,
        "wall_s": wall,
        "rtf": s.source_s / wall,
        "p50": p50,
        "p95": p95,
        "dropped": s.dropped_windows,
        "redraw_hz": redraw_hz,
    }


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="checkpoint (default: the shipped model)")
    ap.add_argument("--recording", default=str(DEMO))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--paced-seconds", type=float, default=10.0)
    ap.add_argument("--no-gui", action="store_true")
    ap.add_argument("--quick", action="store_true", help="1 repeat, 5 s paced runs")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.paced_seconds = 1, 5.0

    import torch

    from asa_live.pipeline import GroundTruth, labels_path_for

    recording = Path(args.recording)
    found = labels_path_for(recording)
    labels = GroundTruth.from_csv(found) if found else None
    ckpt, what = _checkpoint(args.model)
    print(f"model: {what}; chunk K = {ckpt.model_config.chunk_windows}")
    print(f"recording: {recording} ; cores: {os.cpu_count()} ; torch {torch.__version__}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    run_naive(ckpt, recording, labels)  # warm-up (allocator, oneDNN kernels, file cache)

    rows: dict[str, list[dict]] = {
        "ingest": [],
        "network": [],
        "network_batched": [],
        "naive_single": [],
        "naive": [],
        "worker_single": [],
        "worker": [],
        "paced": [],
        "paced_10x": [],
    }
    if not args.no_gui:
        rows["gui_fast"] = []
        rows["gui_paced"] = []
        rows["gui_paced_4x"] = []
    for _ in range(args.repeats):
        rows["ingest"].append(run_ingest_only(ckpt, recording))
        rows["network"].append(run_network_only(ckpt))
        rows["network_batched"].append(run_network_only(ckpt, batch=32))
        rows["naive_single"].append(run_naive(ckpt, recording, labels, batch_windows=1))
        rows["naive"].append(run_naive(ckpt, recording, labels))
        rows["worker_single"].append(run_worker(ckpt, recording, labels, batch_windows=1))
        rows["worker"].append(run_worker(ckpt, recording, labels))
        rows["paced"].append(run_worker(ckpt, recording, labels, 1.0, args.paced_seconds))
        rows["paced_10x"].append(run_worker(ckpt, recording, labels, 10.0))
        if not args.no_gui:
            rows["gui_fast"].append(run_gui(ckpt, recording, labels))
            rows["gui_paced"].append(run_gui(ckpt, recording, labels, 1.0, args.paced_seconds))
            rows["gui_paced_4x"].append(run_gui(ckpt, recording, labels, 4.0))

    print(f"\nmedians over {args.repeats} runs")
    print("(p50/p95: window-end-to-prediction latency; for 'network only': time per call)")
    print(f"{'run':<40}{'windows':>8}{'wall s':>9}{'x real time':>13}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'dropped':>9}")  # fmt: skip
    names = {
        "ingest": "ingest only (read+adapt+bin)",
        "network": "network only (session.push)",
        "network_batched": "network only (push_many, 32 windows)",
        "naive_single": "fast replay, naive, 1 window/call",
        "naive": "fast replay, naive, batched",
        "worker_single": "fast replay, worker, 1 window/call",
        "worker": "fast replay, worker, batched",
        "paced": f"paced 1x, worker, {args.paced_seconds:g} s",
        "gui_fast": "fast replay, worker + GUI 60 Hz",
        "gui_paced": f"paced 1x, worker + GUI, {args.paced_seconds:g} s",
        "paced_10x": "paced 10x, worker, whole file",
        "gui_paced_4x": "paced 4x, worker + GUI, whole file",
    }
    for key, runs in rows.items():
        dropped = _median(runs, "dropped") if "dropped" in runs[0] else 0
        print(
            f"{names[key]:<40}{_median(runs, 'windows'):>8.0f}{_median(runs, 'wall_s'):>9.2f}"
            f"{_median(runs, 'rtf'):>13.1f}{_median(runs, 'p50'):>9.2f}{_median(runs, 'p95'):>9.2f}"
            f"{dropped:>9.0f}"
        )
    print("\ndropped windows per config (median):")
    for key, runs in rows.items():
        if "dropped" in runs[0]:
            print(
                f"  {names[key]:<40}{_median(runs, 'dropped'):>6.0f} of {_median(runs, 'windows') + _median(runs, 'dropped'):.0f}"
            )
    acc = rows["worker"][0]["accuracy"]
    if acc is not None:
        print(f"\nper-window accuracy on the labelled windows: {100 * acc:.1f} %")
    print("\nratios (medians)")
    for key, base in (("network_batched", "network"), ("naive", "naive_single"),
                      ("worker", "worker_single")):  # fmt: skip
        gain = _median(rows[key], "rtf") / _median(rows[base], "rtf")
        print(f"  {names[key]} / {names[base]} throughput: {gain:.2f}")
    print(
        f"  worker / naive throughput: {_median(rows['worker'], 'rtf') / _median(rows['naive'], 'rtf'):.2f}"
    )
    if not args.no_gui:
        fast = _median(rows["gui_fast"], "rtf") / _median(rows["worker"], "rtf")
        print(f"  GUI / headless throughput (fast replay): {fast:.2f}")
        p95 = _median(rows["gui_paced"], "p95") / _median(rows["paced"], "p95")
        print(f"  GUI / headless latency p95 (paced 1x): {p95:.2f}")
        print(f"  measured redraw rate: {_median(rows['gui_fast'], 'redraw_hz'):.1f} Hz (cap 60)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
