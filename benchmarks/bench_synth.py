"""Speed of the synthetic DVS gesture generator (asa_live.synth).

Prints, per class, the median CPU time to generate a 1.5 s sample on one core and the
real-time factor (sample duration / CPU time; the target is >= 5x), the split between
rendering and the pixel model, the cost of rendering at 500 Hz instead of 250 Hz, and the
dataset throughput with 1 and 2 worker processes.

    .venv/bin/python benchmarks/bench_synth.py [--repeats 3] [--samples 44]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from asa_live.classes import GESTURE_CLASSES, NUM_GESTURE_CLASSES
from asa_live.synth import generate_sample
from asa_live.synth.kinematics import draw_style, gesture_motion
from asa_live.synth.recording import _frame_times_us, build_scene

DURATION_US = 1_500_000


def cpu_time(fn, repeats: int) -> float:
    """Median process CPU time of ``fn()`` (CPU, not wall: the machine is shared)."""
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return float(np.median(times))


def render_only(class_id: int, seed: int) -> None:
    """The rendering half alone (same frames as generate_sample, no pixel model)."""
    rng = np.random.default_rng(seed)
    scene = build_scene(rng)
    frame_t_us = _frame_times_us(DURATION_US, scene.params.fps)
    t_s = frame_t_us * 1e-6
    tracks = gesture_motion(class_id, scene.body, t_s, rng, draw_style(rng))
    zero = np.zeros(2)
    for k in range(len(frame_t_us)):
        scene.renderer.intensity(tracks, k, float(t_s[k]), zero)


def _one(job: tuple[int, int]) -> int:
    return len(generate_sample(job[0], job[1], duration_us=DURATION_US))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--samples", type=int, default=44, help="samples for the worker throughput test"
    )
    args = ap.parse_args()

    generate_sample(0, 0, duration_us=200_000)  # warm-up (imports, allocator)
    print(f"one 1.5 s sample per class, median CPU s over {args.repeats} runs (seed 0)")
    print(f"{'class':<30}{'events':>9}{'ev/s':>9}{'cpu s':>8}{'x real time':>13}")
    totals = []
    for c in range(NUM_GESTURE_CLASSES):
        n = len(generate_sample(c, 0, duration_us=DURATION_US))
        t = cpu_time(lambda c=c: generate_sample(c, 0, duration_us=DURATION_US), args.repeats)
        totals.append(t)
        print(f"{GESTURE_CLASSES[c]:<30}{n:>9}{n / 1.5:>9.0f}{t:>8.3f}{1.5 / t:>13.1f}")
    med = float(np.median(totals))
    print(
        f"median over classes: {med:.3f} CPU s per 1.5 s sample = {1.5 / med:.1f}x real time per core"
    )

    t_render = cpu_time(lambda: render_only(3, 0), args.repeats)
    t_full = cpu_time(lambda: generate_sample(3, 0, duration_us=DURATION_US), args.repeats)
    print(
        f"class 3: rendering {t_render:.3f} s, pixel model + noise {t_full - t_render:.3f} s "
        f"({100 * t_render / t_full:.0f} % rendering)"
    )
    t_500 = cpu_time(
        lambda: generate_sample(3, 0, duration_us=DURATION_US, fps=500.0), args.repeats
    )
    print(
        f"render rate 500 Hz vs 250 Hz: {t_500:.3f} s vs {t_full:.3f} s, ratio {t_500 / t_full:.2f}"
    )

    jobs = [(i % NUM_GESTURE_CLASSES, i) for i in range(args.samples)]
    for workers in (1, 2):
        t0 = time.perf_counter()
        if workers == 1:
            for j in jobs:
                _one(j)
        else:
            with ProcessPoolExecutor(workers) as pool:
                list(pool.map(_one, jobs, chunksize=2))
        wall = time.perf_counter() - t0
        print(
            f"{workers} worker(s): {args.samples} samples of 1.5 s in {wall:.1f} s wall = "
            f"{60 * args.samples / wall:.0f} samples/min ({args.samples * 1.5 / wall:.1f}x real time)"
        )


if __name__ == "__main__":
    main()
