"""Soak test: a looping replay for N minutes, watching memory (RSS) and the pipeline's health.

The demo recording loops through the threaded worker (as ``asa-live --replay ... --loop``),
while a consumer drains reports like the GUI would. Every ``--sample-s`` seconds it records the
process RSS, windows, dropped windows and latency. At the end it prints the samples, the RSS
growth after warm-up (first and last quarter of the samples, medians) and a linear fit in
MB/minute, and exits 1 if RSS exceeded ``--max-rss-mb`` or grew by more than
``--max-growth-mb``.

    .venv/bin/python benchmarks/soak.py --minutes 30             # the full soak, real time
    .venv/bin/python benchmarks/soak.py --minutes 2 --speed 0    # as fast as possible
    .venv/bin/python benchmarks/soak.py --minutes 5 --gui        # with the window, offscreen
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "recordings" / "demo.aedat4"


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument(
        "--speed", type=float, default=1.0, help="replay speed; 0 = as fast as possible"
    )
    ap.add_argument("--model", help="checkpoint (default: the shipped model, else a random one)")
    ap.add_argument("--recording", default=str(DEMO))
    ap.add_argument("--sample-s", type=float, default=10.0)
    ap.add_argument("--gui", action="store_true", help="run the window (offscreen) as well")
    ap.add_argument("--max-rss-mb", type=float, default=1024.0)
    ap.add_argument("--max-growth-mb", type=float, default=50.0)
    args = ap.parse_args()

    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_replay import _checkpoint

    from asa_live.pipeline import GroundTruth, PipelineWorker, labels_path_for, open_replay

    recording = Path(args.recording)
    found = labels_path_for(recording)
    labels = GroundTruth.from_csv(found) if found else None
    ckpt, what = _checkpoint(args.model)
    speed = args.speed or None
    print(f"model: {what}; recording {recording.name}, looping, speed {speed or 'max'}; "
          f"{args.minutes:g} min; gui {args.gui}")  # fmt: skip

    window = app = None
    if args.gui:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PyQt6.QtWidgets import QApplication

        from asa_live.gui.main_window import MainWindow

        app = QApplication.instance() or QApplication([])
        window = MainWindow(ckpt, redraw_hz=30)
        window.show()
        window.open_file(recording, loop=True, speed=speed or 100.0)
        worker = window.worker
    else:
        worker = PipelineWorker(
            lambda: open_replay(recording, loop=True), ckpt, speed=speed, labels=labels
        )
        worker.start()

    samples = []
    t0 = time.time()
    next_sample = t0
    end = t0 + args.minutes * 60
    print(f"{'min':>6}{'RSS MB':>9}{'windows':>10}{'dropped':>9}{'p95 ms':>8}{'source s':>10}")
    while time.time() < end:
        if app is not None:
            app.processEvents()
            time.sleep(0.005)
        else:
            worker.drain()
            time.sleep(0.05)
        if worker.error is not None:
            print(f"pipeline error: {worker.error}")
            return 1
        if time.time() >= next_sample:
            next_sample += args.sample_s
            s = worker.stats()
            row = ((time.time() - t0) / 60, rss_mb(), s.windows, s.dropped_windows, s.latency_p95_ms,
                   s.source_s)  # fmt: skip
            samples.append(row)
            print(f"{row[0]:6.2f}{row[1]:9.1f}{row[2]:10d}{row[3]:9d}{row[4]:8.2f}{row[5]:10.1f}")
    if window is not None:
        window.close()
    else:
        worker.stop()

    rss = [s[1] for s in samples]
    q = max(1, len(rss) // 4)
    warm_start = statistics.median(rss[q : 2 * q] or rss[:1])
    warm_end = statistics.median(rss[-q:])
    growth = warm_end - warm_start
    xs = [s[0] for s in samples[q:]]
    ys = rss[q:]
    slope = 0.0
    if len(xs) >= 2 and max(xs) > min(xs):
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
            (x - mx) ** 2 for x in xs
        )
    print(
        f"\nRSS max {max(rss):.1f} MB; after warm-up {warm_start:.1f} -> {warm_end:.1f} MB "
        f"(growth {growth:+.1f} MB, fit {slope:+.2f} MB/min); windows {samples[-1][2]}, "
        f"dropped {samples[-1][3]}, {samples[-1][5] / 60:.1f} min of stream"
    )
    ok = max(rss) <= args.max_rss_mb and growth <= args.max_growth_mb
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
