"""Speed of the synthetic DVS gesture generator (asa_live.synth).

Prints, per class, the median CPU time to generate a 1.5 s sample on one core and the
real-time factor (sample duration / CPU time; the target is >= 5x), for the clean scenes
(randomize=0) and the domain-randomised ones (randomize=1); the negative streams; the split
between rendering and the pixel model, the cost of rendering at 500 Hz instead of 250 Hz,
the dataset throughput with 1 and 2 worker processes; with --eventcv, our pixel model
against eventcv's v2e-style simulator on the same rendered frames.

    .venv/bin/python benchmarks/bench_synth.py [--repeats 3] [--samples 44] [--eventcv]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from asa_live.synth import NEGATIVE_KINDS, SYNTH_CLASSES, generate_negative, generate_sample
from asa_live.synth.kinematics import draw_style
from asa_live.synth.recording import _frame_times_us, build_scene
from asa_live.synth.swipes import synth_motion

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
    tracks = synth_motion(class_id, scene.body, t_s, rng, draw_style(rng))
    zero = np.zeros(2)
    for k in range(len(frame_t_us)):
        scene.renderer.intensity(tracks, k, float(t_s[k]), zero)


def _one(job: tuple[int, int]) -> int:
    return len(generate_sample(job[0], job[1], duration_us=DURATION_US, randomize=1))


def per_class(repeats: int, randomize: int) -> float:
    """Median CPU s per 1.5 s sample over every class (gestures and swipes), printed per class."""
    print(f"\nrandomize={randomize}: one 1.5 s sample per class, median CPU s of {repeats} runs")
    print(f"{'class':<30}{'events':>9}{'ev/s':>9}{'cpu s':>8}{'x real time':>13}")
    totals = []
    for c, name in enumerate(SYNTH_CLASSES):

        def run(c=c):
            return generate_sample(c, 0, duration_us=DURATION_US, randomize=randomize)

        n = len(run())
        t = cpu_time(run, repeats)
        totals.append(t)
        print(f"{name:<30}{n:>9}{n / 1.5:>9.0f}{t:>8.3f}{1.5 / t:>13.1f}")
    med = float(np.median(totals))
    print(f"median: {med:.3f} CPU s per 1.5 s sample = {1.5 / med:.1f}x real time per core")
    return med


def negatives(repeats: int) -> None:
    print(f"\nnegative streams, 1.5 s each, median CPU s of {repeats} runs")
    for kind in NEGATIVE_KINDS:

        def run(kind=kind):
            return generate_negative(kind, 0, duration_us=DURATION_US)

        n, t = len(run()), cpu_time(run, repeats)
        print(f"{kind:<30}{n:>9}{n / 1.5:>9.0f}{t:>8.3f}{1.5 / max(t, 1e-9):>13.1f}")


def compare_eventcv(classes=(3, 1, 8)) -> None:
    """Our pixel model against eventcv.simulate on the same rendered frames (randomize=1)."""
    import eventcv  # optional: only this comparison needs it (pip install eventcv)

    print("\npixel model only, same 1.5 s of frames at 250 Hz, noise off in both")
    for c in classes:
        rng = np.random.default_rng(0)
        scene = build_scene(rng, randomize=1)
        ft = _frame_times_us(DURATION_US, 250.0)
        t_s = ft * 1e-6
        motion = synth_motion(c, scene.body, t_s, rng, draw_style(rng))
        tracks, zero = scene.placement.tracks(motion), np.zeros(2)
        frames = np.stack(
            [scene.renderer.intensity(tracks, k, float(t_s[k]), zero) for k in range(len(ft))]
        )
        t0 = time.process_time()
        scene.dvs.reset(frames[0], float(ft[0]))
        ours = np.concatenate([scene.dvs.step(frames[k], float(ft[k])) for k in range(1, len(ft))])
        t_ours = time.process_time() - t0
        # eventcv linearises sRGB display values: hand it our linear intensity sRGB-encoded.
        lin = np.clip(frames / frames.max(), 0.0, 1.0)
        srgb = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
        p = scene.params
        t0 = time.process_time()
        stream = eventcv.simulate(
            srgb.astype(np.float32), fps=250.0, pos_thres=p.threshold_on,
            neg_thres=p.threshold_off, sigma_thres=p.mismatch_sigma,
            refractory_us=int(p.refractory_us), leak_rate_hz=0.0, shot_noise_rate_hz=0.0,
        )  # fmt: skip
        t_ecv = time.process_time() - t0
        theirs = stream.numpy()
        on = theirs[:, list(stream.columns).index("p")].mean()
        print(
            f"{SYNTH_CLASSES[c]:<28} ours {len(ours):>7} ev, ON {ours['p'].mean():.2f}, "
            f"{t_ours:.2f} CPU s | eventcv {len(theirs):>7} ev, ON {on:.2f}, {t_ecv:.2f} CPU s "
            f"({t_ecv / t_ours:.0f}x)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--samples", type=int, default=44, help="samples for the worker throughput test"
    )
    ap.add_argument("--eventcv", action="store_true", help="compare with eventcv.simulate")
    args = ap.parse_args()

    generate_sample(0, 0, duration_us=200_000)  # warm-up (imports, allocator)
    per_class(args.repeats, 0)
    per_class(args.repeats, 1)
    negatives(args.repeats)

    t_render = cpu_time(lambda: render_only(3, 0), args.repeats)
    t_full = cpu_time(lambda: generate_sample(3, 0, duration_us=DURATION_US), args.repeats)
    print(
        f"\nclass 3: rendering {t_render:.3f} s, pixel model + noise {t_full - t_render:.3f} s "
        f"({100 * t_render / t_full:.0f} % rendering)"
    )
    t_500 = cpu_time(
        lambda: generate_sample(3, 0, duration_us=DURATION_US, fps=500.0), args.repeats
    )
    print(
        f"render rate 500 Hz vs 250 Hz: {t_500:.3f} s vs {t_full:.3f} s, ratio {t_500 / t_full:.2f}"
    )

    jobs = [(i % len(SYNTH_CLASSES), i) for i in range(args.samples)]
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
    if args.eventcv:
        compare_eventcv()


if __name__ == "__main__":
    main()
