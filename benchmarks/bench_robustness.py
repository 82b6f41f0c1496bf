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
The same run is ``asa-live-eval MODEL ... --protocol robustness`` (asa_live.train.robustness_run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asa_live.train.robustness_run import format_result, run_from_args, to_json  # noqa: E402

DEFAULT_MODELS = [
    ("asa", ROOT / "models" / "gesture-3layer-asa.safetensors"),
    ("none", ROOT / "models" / "gesture-3layer-none.safetensors"),
]


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
    result = run_from_args(args.model or DEFAULT_MODELS, args)
    print(format_result(result))
    print(f"total {result['seconds']:.0f} s")
    if args.json:
        Path(args.json).write_text(to_json(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
