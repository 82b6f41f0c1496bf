"""Binning throughput: asa_live bin_events vs tonic ToFrame vs a naive np.add.at, same events.

Events: uniform random pixels on a 128x128 sensor, evenly spread over 60 s (sorted by time),
binned into 15 ms windows (4000 frames). For each size the three binners see the very same
events (tonic gets them in its own DVSGesture dtype, built outside the timed region).
Reported: median seconds over the repeats (after one untimed warm-up, except for the
largest size, which runs once to keep memory and time sane), events/s by wall time and by
CPU time of the process (the build machine is shared), and the ratios. "same" checks that
tonic's frames (all but its dropped last partial window) and add.at's equal ours.

    .venv/bin/python benchmarks/bench_binning.py                 # 1M, 10M, 100M
    .venv/bin/python benchmarks/bench_binning.py --sizes 1e6 1e7 --repeats 3

Needs tonic for the tonic column (`pip install tonic torch==2.13.0`; GPL-3.0, optional).
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import time

import numpy as np

from asa_live.events import EVENT_DTYPE, bin_events

SENSOR = (128, 128)
WINDOW_US = 15_000
DURATION_US = 60_000_000
TONIC_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)])


def make_stream(n: int, seed: int = 0, duration_us: int = DURATION_US) -> np.ndarray:
    """n uniform random events (x, y, p) spread evenly over ``duration_us``."""
    rng = np.random.default_rng(seed)
    events = np.empty(n, EVENT_DTYPE)
    events["t"] = (np.arange(n, dtype=np.float64) * (duration_us / n)).astype(np.int64)
    events["x"] = rng.integers(0, SENSOR[0], n, dtype=np.uint16)
    events["y"] = rng.integers(0, SENSOR[1], n, dtype=np.uint16)
    events["p"] = rng.integers(0, 2, n, dtype=np.uint8)
    return events


def naive_add_at(events: np.ndarray, downsample: int) -> np.ndarray:
    t = events["t"]
    window = (t - t[0]) // WINDOW_US
    h, w = SENSOR[1] // downsample, SENSOR[0] // downsample
    out = np.zeros((int(window[-1]) + 1, 2, h, w), np.float32)
    np.add.at(
        out,
        (window, events["p"], events["y"] // downsample, events["x"] // downsample),
        1,
    )
    return out


def timed(fn, repeats: int, warmup: bool) -> tuple[float, float, object]:
    """Median wall seconds, median CPU seconds of this process, and the last result.

    CPU time is reported too because the build machine is shared: under load the wall time
    includes waiting for a core, while numpy here runs on one thread.
    """
    result = None
    if warmup:
        result = fn()
        del result
        gc.collect()
    walls, cpus = [], []
    for _ in range(repeats):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
        if _ < repeats - 1:
            del result
            result = None
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7, 1e8])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--downsample", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--naive-max", type=float, default=1e7, help="largest size for add.at")
    args = parser.parse_args()
    try:
        import tonic.transforms as tt
    except ImportError:
        tt = None
        print("tonic is not installed: its column is skipped")
    largest = max(args.sizes)
    print("ours = asa_live bin_events; M/s = million events per wall second, cpu M/s per")
    print("CPU second of this process; x = how many times faster ours is (wall, cpu)")
    print(
        f"{'events':>12} {'ds':>3} {'ours s':>9} {'M/s':>7} {'cpu M/s':>7} {'tonic s':>8} "
        f"{'M/s':>7} {'cpu M/s':>7} {'x tonic':>7} {'x cpu':>7} {'add.at s':>8} {'M/s':>7} "
        f"{'x add.at':>8}  same"
    )
    for size in args.sizes:
        n = int(size)
        single = n == int(largest) and n >= 5e7  # the 100M case runs once, no warm-up
        for row in bench_size(n, args.downsample, args.repeats, single, args.naive_max, tt):
            print(row, flush=True)
        gc.collect()


def bench_size(n: int, downsamples, repeats: int, single: bool, naive_max: float, tt):
    """Yield one printed row per downsample factor for ``n`` events."""
    events = make_stream(n)
    tonic_events = None
    if tt is not None:
        tonic_events = np.empty(n, TONIC_DTYPE)
        for name in ("x", "y", "p", "t"):
            tonic_events[name] = events[name]
    repeats, warmup = (1, False) if single else (repeats, True)
    for ds in downsamples:
        ours_s, ours_cpu, ours = timed(
            functools.partial(bin_events, events, WINDOW_US, SENSOR, ds), repeats, warmup
        )
        row = f"{n:>12,} {ds:>3} {ours_s:>9.4f} {n / ours_s / 1e6:>7.1f} {n / ours_cpu / 1e6:>7.1f}"
        same = "-"
        if tt is not None:
            size_ds = (SENSOR[0] // ds, SENSOR[1] // ds, 2)
            transforms = [tt.ToFrame(sensor_size=size_ds, time_window=WINDOW_US)]
            if ds != 1:
                transforms.insert(0, tt.Downsample(spatial_factor=1 / ds))
            pipeline = tt.Compose(transforms)
            # tonic's Downsample modifies its input: every run gets a fresh copy, untimed
            copies = [tonic_events.copy() for _ in range(repeats + warmup)] if ds != 1 else []
            tonic_s, tonic_cpu, theirs = timed(
                functools.partial(_run_tonic, pipeline, copies, tonic_events), repeats, warmup
            )
            del copies
            common = min(len(theirs), len(ours))  # tonic drops the last partial window
            same = "yes" if np.array_equal(theirs[:common], ours[:common]) else "NO"
            del theirs
            row += (
                f" {tonic_s:>8.3f} {n / tonic_s / 1e6:>7.1f} {n / tonic_cpu / 1e6:>7.1f}"
                f" {tonic_s / ours_s:>7.1f} {tonic_cpu / ours_cpu:>7.1f}"
            )
        else:
            row += f" {'-':>8} {'-':>7} {'-':>7} {'-':>7} {'-':>7}"
        if n <= naive_max:
            naive_s, _, naive = timed(functools.partial(naive_add_at, events, ds), 1, False)
            if not np.array_equal(naive, ours):
                same += " (add.at DIFFERS)"
            del naive
            row += f" {naive_s:>8.3f} {n / naive_s / 1e6:>7.1f} {naive_s / ours_s:>8.1f}"
        else:
            row += f" {'-':>8} {'-':>7} {'-':>8}"
        del ours
        gc.collect()
        yield row + f"  {same}"


def _run_tonic(pipeline, copies: list, events: np.ndarray):
    return pipeline(copies.pop() if copies else events)


if __name__ == "__main__":
    main()
