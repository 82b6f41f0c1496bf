"""Robustness benchmark: the shipped ASA and "none" models under shifted scenes, side by side.

    .venv/bin/python benchmarks/bench_robustness.py [--recordings 4] [--negatives-per-kind 2]
        [--background ../shared/data/real/aedat4/davis346_traffic_events_frames_imu.aedat4]
        [--real FILE ...] [--json OUT]

For every condition (asa_live.events.robustness) it prints the per-window accuracy after onset
and the idle-gap "no gesture" fraction of each model, in one run, on held-out clean synthetic
recordings (asa_live.train.robustness); then, on held-out "no gesture" streams, the fraction of
windows without a gesture and the false alarms per minute; then, for each ``--real`` recording
(a scene without a gesture, read and adapted exactly as the live app does), the fraction of
windows without a gesture and the highest confidence of a named gesture.

Real recordings are test data only: this script reports on them and never tunes anything.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asa_live.events.adapt import NoiseFilter, SensorAdapter  # noqa: E402
from asa_live.events.sources import open_source  # noqa: E402
from asa_live.model.checkpoint import load_checkpoint  # noqa: E402
from asa_live.train.data.config import DataConfig  # noqa: E402
from asa_live.train.evaluation import run_sequences  # noqa: E402
from asa_live.train.robustness import (  # noqa: E402
    Evaluated,
    format_robustness,
    held_out_recordings,
    negative_streams,
    robustness_protocol,
    to_sequence,
)

DEFAULT_MODELS = [
    ("asa", ROOT / "models" / "gesture-3layer-asa.safetensors"),
    ("none", ROOT / "models" / "gesture-3layer-none.safetensors"),
]


def load(label: str, path: Path, noise_filter: bool = False) -> Evaluated:
    ckpt = load_checkpoint(path)
    data = DataConfig.from_binning(ckpt.binning)
    return Evaluated(label, ckpt.model, ckpt.readout, data, noise_filter)


def load_all(specs: list[tuple[str, Path]], noise_filter: str) -> list[Evaluated]:
    """Every model, once per noise-filter setting asked for ("+nf": the filter on)."""
    settings = {"off": [False], "on": [True], "both": [False, True]}[noise_filter]
    return [
        load(label + ("+nf" if on else ""), Path(path), on)
        for label, path in specs
        for on in settings
    ]


def real_replay(model: Evaluated, path: str, binning_mode: str) -> dict[str, float]:
    """A real recording through the live path's adaptation and binning: no-gesture fraction and
    the highest confidence of a named gesture."""
    with open_source(path) as source:
        adapter = SensorAdapter(source.sensor_size, model.data.sensor_size, mode=binning_mode)
        # The live path filters in source coordinates, then adapts (pipeline.ingest).
        noise = NoiseFilter(source.sensor_size) if model.noise_filter else None
        events = np.concatenate([adapter(noise(packet) if noise else packet) for packet in source])
    seq = to_sequence(Path(path).name, events, None, model.data)
    (run,) = run_sequences(model.model, [seq])

    scores = model.readout.stream_scores(run)
    decision = model.readout.decide(scores)
    named = decision.class_id >= 0
    return {
        "windows": int(len(named)),
        "no_gesture_fraction": float(np.mean(~named)),
        "max_confidence": float(decision.confidence[named].max()) if named.any() else 0.0,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", nargs=2, action="append", metavar=("LABEL", "PATH"))
    p.add_argument(
        "--recordings", type=int, default=4, help="held-out recordings (11 gestures each)"
    )
    p.add_argument("--negatives-per-kind", type=int, default=2)
    p.add_argument("--negative-ms", type=int, default=6000)
    p.add_argument("--background", help="AEDAT4 file mixed in as the 'background' condition")
    p.add_argument("--real", nargs="*", default=[], help="real no-gesture recordings to replay")
    p.add_argument("--json", help="write the results here")
    p.add_argument(
        "--noise-filter",
        choices=("off", "on", "both"),
        default="off",
        help="run the live app's background-activity filter before binning ('both': every "
        "model twice, the filtered one labelled LABEL+nf)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: batch-1 "
        "steps gain nothing from a second thread, and two spin on a busy machine)",
    )
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    specs = args.model or DEFAULT_MODELS
    models = load_all(specs, args.noise_filter)
    started = time.perf_counter()
    recordings = held_out_recordings(args.recordings)
    negatives = negative_streams(args.negatives_per_kind, args.negative_ms)
    print(f"data: {len(recordings)} recordings, {len(negatives)} negative streams "
          f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    result = robustness_protocol(
        models,
        recordings,
        negatives,
        background=args.background,
        progress=lambda name: print(f"  {name} ...", flush=True),
    )
    modes = {label: load_checkpoint(path).binning.adapt_mode for label, path in specs}
    ckpt_modes = {m.label: modes[m.label.removesuffix("+nf")] for m in models}
    result["real"] = {
        Path(f).name: {m.label: real_replay(m, f, ckpt_modes[m.label]) for m in models}
        for f in args.real
    }
    print(format_robustness(result))
    for name, by_model in result["real"].items():
        for label, r in by_model.items():
            print(f"real {name} [{label}]: {100 * r['no_gesture_fraction']:.1f}% of "
                  f"{r['windows']} windows without a gesture, max confidence "
                  f"{r['max_confidence']:.2f}")  # fmt: skip
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
