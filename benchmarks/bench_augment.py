"""Event augmentation throughput: asa_live.events.augment vs tonic's transforms and a naive
per-event Python loop, on the same events.

Events: uniform random pixels on a 128x128 sensor, evenly spread over 6 s (a long DVS128
Gesture sample), sorted by time. Each transform runs on all of them; M ev/s counts INPUT events
per second (wall, and CPU of this process: the build machine is shared). Medians over the
repeats after one untimed warm-up. Peers:

* tonic 1.7 (if installed): RandomFlipLR(p=1) for the mirror, RandomFlipPolarity(p=1),
  TimeSkew(coefficient) for the time stretch, UniformNoise(n) with n = the number of noise
  events ours adds (2 Hz/px), on the same events in tonic's dtype;
* naive: a per-event Python loop of the same formula (timed on the first ``--naive-events``
  events and scaled, as it would take minutes on all of them).

"same" checks the output against the peer's (tonic rounds a stretched time down, ours to the
nearest microsecond, so the stretch is compared within 1 us; noise is random on both sides,
so only counts and sortedness are compared).

Much of the CPU time of a transform is the kernel faulting in fresh pages for its output and
temporaries (glibc gives large blocks back to the system after each call). Measured here:
`transform(shift)` on 1M events 18.7 ms CPU, 6.1 ms with
`MALLOC_MMAP_THRESHOLD_=2000000000 MALLOC_TRIM_THRESHOLD_=2000000000` in the environment;
the default Augmenter() 54 -> 31 ms. Worth setting for data-loading workers.

    .venv/bin/python benchmarks/bench_augment.py                    # 1M and 10M events
    .venv/bin/python benchmarks/bench_augment.py --sizes 1e6 --repeats 3
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import time

import bench_binning  # a sibling script (benchmarks/ is sys.path[0] when run)
import numpy as np

from asa_live.events.augment import AugmentConfig, Augmenter, AugmentParams
from asa_live.events.background import background_activity, hot_pixels, merge_sorted
from asa_live.events.transforms import (
    invert_polarity,
    mirror_x,
    scale_about_centre,
    time_stretch,
    translate,
)

SENSOR = (128, 128)
DURATION_US = 6_000_000
TONIC_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)])


def make_stream(n: int, seed: int = 0) -> np.ndarray:
    """n uniform random events over DURATION_US (bench_binning's stream, shorter)."""
    return bench_binning.make_stream(n, seed, duration_us=DURATION_US)


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds over ``repeats`` after one warm-up, and the last result."""
    result = fn()
    walls, cpus = [], []
    for _ in range(repeats):
        del result
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return statistics.median(walls), statistics.median(cpus), result


# --- naive per-event loops (the formula, one event at a time) ---------------------------


def naive_mirror(ev: np.ndarray) -> list:
    return [(t, SENSOR[0] - 1 - x, y, p) for t, x, y, p in ev.tolist()]


def naive_polarity(ev: np.ndarray) -> list:
    return [(t, x, y, 1 - p) for t, x, y, p in ev.tolist()]


def naive_stretch(ev: np.ndarray, f: float = 1.5) -> list:
    t0 = int(ev["t"][0])
    return [(t0 + round((t - t0) * f), x, y, p) for t, x, y, p in ev.tolist()]


def naive_translate(ev: np.ndarray, dx: int = 15, dy: int = -7) -> list:
    w, h = SENSOR
    out = []
    for t, x, y, p in ev.tolist():
        if 0 <= x + dx < w and 0 <= y + dy < h:
            out.append((t, x + dx, y + dy, p))
    return out


def naive_scale(ev: np.ndarray, s: float = 1.3) -> list:
    import random

    w, h = SENSOR
    out = []
    for t, x, y, p in ev.tolist():
        xs = math.floor((x + random.random() - w / 2) * s + w / 2)
        ys = math.floor((y + random.random() - h / 2) * s + h / 2)
        if 0 <= xs < w and 0 <= ys < h:
            out.append((t, xs, ys, p))
    return out


def naive_chain(ev: np.ndarray) -> list:
    """stretch 1.5, mirror, shift (15, -7), polarity, per event (the Augmenter's order)."""
    w, h = SENSOR
    t0 = int(ev["t"][0])
    out = []
    for t, x, y, p in ev.tolist():
        x2, y2 = w - 1 - x + 15, y - 7
        if 0 <= x2 < w and 0 <= y2 < h:
            out.append((t0 + round((t - t0) * 1.5), x2, y2, 1 - p))
    return out


def rows_for(n: int, repeats: int, naive_events: int, tt) -> list[str]:
    ev = make_stream(n)
    rng = np.random.default_rng(1)
    tev = np.empty(n, TONIC_DTYPE)
    for name in ("x", "y", "p", "t"):
        tev[name] = ev[name]
    chain = AugmentParams(time_stretch=1.5, mirror=True, shift_px=(15, -7), invert_polarity=True)
    off = Augmenter(AugmentConfig.off(), SENSOR)
    noise_n = len(background_activity(2.0, 0, DURATION_US, SENSOR, np.random.default_rng(0)))
    cases = [
        # name, ours, naive, tonic transform, compare(ours, tonic)
        ("mirror", lambda: mirror_x(ev, SENSOR), naive_mirror, "flip", _same_xy),
        ("polarity", lambda: invert_polarity(ev), naive_polarity, "pol", _same_p),
        ("stretch 1.5", lambda: time_stretch(ev, 1.5, 0), naive_stretch, "skew", _same_t),
        ("translate 15,-7", lambda: translate(ev, 15, -7, SENSOR), naive_translate, None, None),
        ("scale 1.3", lambda: scale_about_centre(ev, 1.3, SENSOR, rng), naive_scale, None, None),
        (
            "noise 2 Hz/px",
            lambda: merge_sorted(ev, background_activity(2.0, 0, DURATION_US, SENSOR, rng)),
            None,
            "noise",
            _same_count,
        ),
        (
            "hot 20 x 1 kHz",
            lambda: merge_sorted(ev, hot_pixels(20, 1000.0, 0, DURATION_US, SENSOR, rng)),
            None,
            None,
            None,
        ),
        ("chain (4 above)", lambda: off.apply(ev, 1, chain, rng)[0], naive_chain, None, None),
        ("Augmenter()", lambda: Augmenter()(ev, 1, rng)[0], None, None, None),
    ]
    tonic_fns = {}
    if tt is not None:
        tonic_fns = {
            "flip": tt.RandomFlipLR(sensor_size=(*SENSOR, 2), p=1.0),
            "pol": tt.RandomFlipPolarity(p=1.0),
            "skew": tt.TimeSkew(coefficient=1.5),
            "noise": tt.UniformNoise(sensor_size=(*SENSOR, 2), n=noise_n),
        }
    out = []
    for name, ours_fn, naive_fn, tonic_key, compare in cases:
        s, cpu, ours = timed(ours_fn, repeats)
        row = f"{name:<16} {n:>11,} {s:>8.4f} {n / s / 1e6:>7.1f} {n / cpu / 1e6:>7.1f}"
        if tonic_key in tonic_fns:
            fn = tonic_fns[tonic_key]
            ts, tcpu, theirs = timed(lambda fn=fn: fn(tev), repeats)
            same = compare(ours, theirs, n)
            row += f" {n / ts / 1e6:>8.1f} {ts / s:>7.1f} {tcpu / cpu:>6.1f}  {same:<4}"
        else:
            row += f" {'-':>8} {'-':>7} {'-':>6}  {'-':<4}"
        if naive_fn is not None:
            part = ev[: min(n, naive_events)]
            start = time.perf_counter()
            naive_fn(part)
            rate = len(part) / (time.perf_counter() - start)
            row += f" {rate / 1e6:>8.2f} {rate and (n / s) / rate:>8.0f}"
        else:
            row += f" {'-':>8} {'-':>8}"
        out.append(row)
        del ours
        gc.collect()
    return out


def _same_xy(ours, theirs, n: int) -> str:
    return "yes" if np.array_equal(ours["x"], theirs["x"]) else "NO"


def _same_p(ours, theirs, n: int) -> str:
    return "yes" if np.array_equal(ours["p"], theirs["p"].astype(np.uint8)) else "NO"


def _same_t(ours, theirs, n: int) -> str:
    return "yes" if np.abs(ours["t"] - theirs["t"].astype(np.int64)).max() <= 1 else "NO"


def _same_count(ours, theirs, n: int) -> str:
    # ours draws a Poisson count, tonic adds exactly its mean: equal within 5 sd
    ok = abs(len(ours) - len(theirs)) < 5 * np.sqrt(len(theirs) - n + 1)
    return "yes" if ok and np.all(np.diff(ours["t"]) >= 0) else "NO"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--naive-events", type=int, default=200_000)
    args = parser.parse_args()
    try:
        import tonic.transforms as tt  # optional peer (GPL-3.0), never a dependency
    except ImportError:
        tt = None
        print("tonic is not installed: its columns are skipped")
    print("M/s = million input events per wall second (cpu: per CPU second of this process);")
    print("x tonic / x naive = how many times faster ours is (wall; x cpu for tonic by CPU time)")
    print(
        f"{'transform':<16} {'events':>11} {'ours s':>8} {'M/s':>7} {'cpu M/s':>7} "
        f"{'tonic M/s':>8} {'x tonic':>7} {'x cpu':>6}  same {'naive M/s':>8} {'x naive':>8}"
    )
    for size in args.sizes:
        for row in rows_for(int(size), args.repeats, args.naive_events, tt):
            print(row, flush=True)


if __name__ == "__main__":
    main()
