"""``asa-live-calibrate``: fit a checkpoint's "no gesture" decision on a validation split.

    asa-live-calibrate CKPT --data ibm --data-root VAL_ROOT --negatives VAL_NEG_DIR \
        [--target-fa-per-min 0.5] [--readout leaky --readout-decay 0.95] [--out OUT]

The validation recordings (the IBM layout's test list of VAL_ROOT: give a folder of its own,
never the test data) and the negative streams (every recording in VAL_NEG_DIR, all "no gesture")
run through the network as the live app runs them; asa_live.model.calibration fits the
temperature, the reject threshold at the stated false-alarm rate and the no-output confidence;
the result is written into the checkpoint's provenance["readout"] (in place, or to ``--out``).

Windows within ``--grace-ms`` of a gesture's start or end are left out of the fit: a gesture
eases in and out there, so neither label is right.

With ``--presence-data-root TRAIN_ROOT --presence-negatives DIR [DIR ...]`` it first fits a
presence head (asa_live/train/presence.py) on TRAINING data (the training list of TRAIN_ROOT and
the negative streams in DIR), then picks its weight on the validation split, calibrating each
candidate as above. A leaky readout with a background output is needed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from asa_live.errors import AsaLiveError, ConfigError, InputFileError
from asa_live.events.adapt import SensorAdapter
from asa_live.events.sources import open_source
from asa_live.model.calibration import DEFAULT_FA_PER_MINUTE
from asa_live.model.checkpoint import load_checkpoint, store_readout
from asa_live.model.readout import READOUT_KINDS, Readout
from asa_live.options import Parser, float_in
from asa_live.train.autocal import labels_with_grace
from asa_live.train.data.config import DataConfig
from asa_live.train.data.splits import load_split
from asa_live.train.evaluation import run_sequences
from asa_live.train.presence import (
    DEFAULT_L2,
    GAIN_GRID,
    choose_gain,
    fit_presence,
    presence_examples,
)
from asa_live.train.robustness import to_sequence

NEGATIVE_SUFFIXES = (".aedat4", ".aedat", ".npy", ".raw", ".dat", ".csv")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="asa-live-calibrate",
        description="Fit a checkpoint's 'no gesture' decision (temperature, reject threshold) "
        "on a validation split of its own.",
        epilog="example:\n  asa-live-calibrate runs/rs-asa/best.safetensors --data ibm "
        "--data-root data/val --negatives data/neg-val\n",
    )
    p.add_argument("checkpoint", help="the .safetensors checkpoint to calibrate")
    p.add_argument("--data", choices=("ibm", "tonic"), default="ibm", help="layout (default: ibm)")
    p.add_argument("--data-root", required=True, help="validation recordings (their test list)")
    p.add_argument(
        "--negatives", required=True, help="folder of validation 'no gesture' recordings"
    )
    p.add_argument(
        "--target-fa-per-min",
        type=float_in(0.0, 60.0),
        default=DEFAULT_FA_PER_MINUTE,
        help=f"false alarms per minute allowed on the negatives (default: {DEFAULT_FA_PER_MINUTE})",
    )
    p.add_argument("--readout", choices=READOUT_KINDS, help="change the readout kind first")
    p.add_argument("--readout-decay", type=float_in(0.0, 1.0, high_open=True), help="leaky decay")
    p.add_argument("--readout-windows", type=int, help="running-mean length in windows")
    p.add_argument(
        "--grace-ms", type=float_in(0, 5000), default=300.0, help="left out around gestures (ms)"
    )
    p.add_argument("--out", help="write the calibrated checkpoint here (default: in place)")
    p.add_argument(
        "--presence-data-root",
        help="fit a presence head on these TRAINING recordings (their training list)",
    )
    p.add_argument(
        "--presence-negatives",
        nargs="+",
        default=[],
        metavar="DIR",
        help="folders of TRAINING 'no gesture' recordings for the presence head",
    )
    p.add_argument(
        "--presence-l2",
        type=float_in(0.0, 1e3),
        default=DEFAULT_L2,
        help=f"L2 weight of the presence head's fit (default: {DEFAULT_L2})",
    )
    return p


def _presence_head(args: argparse.Namespace, ckpt, readout: Readout, data: DataConfig):
    """(the readout with a fitted presence head, the fit's record); training data only."""
    if not (readout.background and readout.kind == "leaky"):
        raise ConfigError(
            "A presence head needs a leaky readout with a background output; this checkpoint "
            "has neither (train it with --no-gesture on, or pass --readout leaky)."
        )
    if not args.presence_negatives:
        raise ConfigError("--presence-data-root needs --presence-negatives DIR (training data).")
    train_data = dataclasses.replace(data, data_root=args.presence_data_root)
    train = load_split(train_data, train=True).sequences
    negatives = [
        seq
        for folder in args.presence_negatives
        for seq in _negatives(Path(folder), data, ckpt.binning.adapt_mode)
    ]
    runs = run_sequences(ckpt.model, [*train, *negatives])
    labels = [s.window_labels for s in train] + [None] * len(negatives)
    grace = int(np.ceil(args.grace_ms * 1000 / data.window_us))
    x, y = presence_examples(runs, labels, readout.decay, data.window_us, grace)
    weight, bias = fit_presence(x, y, args.presence_l2)
    record = {
        "method": "balanced logistic regression on the leaky hidden spikes (train/presence.py)",
        "data_root": str(args.presence_data_root),
        "negatives": [str(n) for n in args.presence_negatives],
        "windows": {"gesture": int(y.sum()), "no_gesture": int((1 - y).sum())},
        "l2": args.presence_l2,
    }
    return dataclasses.replace(readout, presence_weight=weight, presence_bias=bias), record


def _negatives(folder: Path, data: DataConfig, binning_mode: str):
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in NEGATIVE_SUFFIXES)
    if not files:
        raise InputFileError(f"The folder '{folder}' holds no recording: give --negatives DIR.")
    out = []
    for path in files:
        with open_source(path) as source:
            adapt = SensorAdapter(source.sensor_size, data.sensor_size, mode=binning_mode)
            events = np.concatenate([adapt(packet) for packet in source])
        out.append(to_sequence(path.name, events, None, data))
    return out


def run(args: argparse.Namespace) -> dict:
    # Batch-1 streaming steps gain nothing from a second thread (and two spin on a busy machine).
    torch.set_num_threads(1)
    ckpt = load_checkpoint(args.checkpoint)
    readout = ckpt.readout
    changes = {
        k: v
        for k, v in (
            ("kind", args.readout),
            ("decay", args.readout_decay),
            ("windows", args.readout_windows),
        )
        if v is not None
    }
    if readout.presence_weight:
        # an old head belongs to the decision it was fitted with: drop it (--presence-data-root
        # fits a new one), before --readout, which may ask for a kind a head cannot have
        readout = dataclasses.replace(readout, presence_weight=(), presence_gain=0.0)
    readout = dataclasses.replace(readout, **changes)
    data = DataConfig.from_binning(ckpt.binning, data=args.data, data_root=args.data_root)
    presence = None
    if args.presence_data_root:
        readout, presence = _presence_head(args, ckpt, readout, data)
    val = load_split(data, train=False).sequences
    grace = int(np.ceil(args.grace_ms * 1000 / data.window_us))
    labels = [torch.from_numpy(labels_with_grace(s, grace)) for s in val]
    val_runs = run_sequences(ckpt.model, val)
    negatives = _negatives(Path(args.negatives), data, ckpt.binning.adapt_mode)
    neg_runs = run_sequences(ckpt.model, negatives)
    gains = GAIN_GRID if presence is not None else (0.0,)
    calibrated, record, rows = choose_gain(
        readout, val_runs, labels, neg_runs, data.window_us, args.target_fa_per_min, gains
    )
    if presence is not None:
        record["presence"] = {**presence, "gain": calibrated.presence_gain, "gains": rows}
    record["validation"] = {"data_root": str(args.data_root), "negatives": str(args.negatives)}
    target = Path(args.out) if args.out else Path(args.checkpoint)
    if args.out:
        shutil.copyfile(args.checkpoint, target)
    store_readout(target, calibrated, record)
    return {"checkpoint": str(target), "readout": calibrated.to_spec(), "calibration": record}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = run(args)
    except AsaLiveError as err:
        print(f"asa-live-calibrate: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
