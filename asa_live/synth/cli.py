"""``asa-live-synth``: make synthetic DVS128-Gesture-like samples, recordings and datasets.

Examples::

    asa-live-synth sample --class 3 --seed 0 out.aedat4
    asa-live-synth recording recordings/demo.aedat4 --seed 900000
    asa-live-synth ibm-dataset data/synth_ibm --users 6 --workers 2
    asa-live-synth tonic-dataset data/synth_tonic --users 6 --workers 2
    asa-live-synth figures docs/img
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from asa_live.classes import GESTURE_CLASSES, NUM_GESTURE_CLASSES
from asa_live.errors import AsaLiveError, ConfigError

SENSOR = (128, 128)


def parse_classes(text: str) -> list[int]:
    """``"0,1,2"``, ``"all"`` or class names (``"hand_clapping,arm_roll"``) -> class ids."""
    if text.strip().lower() == "all":
        return list(range(NUM_GESTURE_CLASSES))
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if item.isdigit() and int(item) < NUM_GESTURE_CLASSES:
            out.append(int(item))
        elif item in GESTURE_CLASSES:
            out.append(GESTURE_CLASSES.index(item))
        else:
            raise ConfigError(
                f"Unknown gesture class '{item}'; give ids 0..{NUM_GESTURE_CLASSES - 1} or names such as "
                f"{GESTURE_CLASSES[0]}, or 'all'."
            )
    if not out:
        raise ConfigError("No gesture class given; use e.g. --classes 0,1,2 or --classes all.")
    return out


def labels_path_for(out: Path) -> Path:
    """``demo.aedat4`` -> ``demo_labels.csv`` (IBM's naming)."""
    return out.with_name(out.stem + "_labels.csv")


def _write_events_check(path: Path) -> None:
    if path.suffix.lower() not in (".aedat4", ".aedat", ".npy"):
        raise ConfigError(
            f"Output '{path}' has suffix '{path.suffix}'; use .aedat4, .aedat (AEDAT 3.1) or .npy (tonic)."
        )


def _write_events(path: Path, events: np.ndarray) -> None:
    _write_events_check(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".aedat4":
        from asa_live.events.aedat4 import write_aedat4

        write_aedat4(path, events, SENSOR)
    elif suffix == ".aedat":
        from asa_live.events.ibm import write_aedat31
        from asa_live.synth.dataset import AEDAT31_HEADER_TIME

        write_aedat31(path, events, start_time=AEDAT31_HEADER_TIME)
    else:
        from asa_live.events.tonic_npy import write_tonic_npy

        write_tonic_npy(path, events)


def _cmd_sample(args) -> None:
    from asa_live.synth.recording import generate_sample

    _write_events_check(Path(args.out))
    events = generate_sample(
        args.class_id, args.seed, duration_us=int(args.duration_ms * 1000), **_overrides(args)
    )
    _write_events(Path(args.out), events)
    print(
        f"{args.out}: {len(events)} events, class {args.class_id} ({GESTURE_CLASSES[args.class_id]})"
    )


def _cmd_recording(args) -> None:
    from tqdm import tqdm

    from asa_live.events.ibm import write_labels_csv
    from asa_live.synth.recording import generate_recording, recording_frame_count

    classes = parse_classes(args.classes)
    gesture_us = int(args.gesture_ms * 1000)
    gap_us = int(args.gap_ms * 1000)
    # Check before the progress bar appears, so a user error prints as one clean line.
    if not 10_000 <= gesture_us <= 3_600_000_000:
        raise ConfigError(
            f"gesture_duration_us must be between 10 ms and 1 h, got --gesture-ms {args.gesture_ms}."
        )
    if gap_us < 0:
        raise ConfigError(f"--gap-ms must be >= 0, got {args.gap_ms}.")
    _write_events_check(Path(args.out))
    lead_us = tail_us = 500_000
    end_us = lead_us + len(classes) * gesture_us + (len(classes) - 1) * gap_us + tail_us
    overrides = _overrides(args)
    fps = overrides.get("fps", 250.0)
    with tqdm(
        total=recording_frame_count(end_us, fps), unit="frame", desc="rendering", disable=args.quiet
    ) as bar:
        events, labels = generate_recording(
            classes,
            args.seed,
            gesture_duration_us=gesture_us,
            gap_us=gap_us,
            lead_us=lead_us,
            tail_us=tail_us,
            progress=bar.update,
            **overrides,
        )
    out = Path(args.out)
    _write_events(out, events)
    write_labels_csv(labels_path_for(out), labels)
    print(
        f"{out}: {len(events)} events over {end_us / 1e6:.1f} s; labels in {labels_path_for(out)}"
    )


def _cmd_ibm(args) -> None:
    from asa_live.synth.dataset import write_ibm_dataset

    folder = write_ibm_dataset(
        args.root,
        n_users=args.users,
        n_test_users=args.test_users,
        trials_per_user=args.trials_per_user,
        seed=args.seed,
        gesture_duration_us=(int(args.gesture_ms[0] * 1000), int(args.gesture_ms[1] * 1000)),
        workers=args.workers,
        progress=not args.quiet,
    )
    print(f"wrote {folder}")


def _cmd_tonic(args) -> None:
    from asa_live.synth.dataset import write_tonic_dataset

    folder = write_tonic_dataset(
        args.root,
        n_users=args.users,
        n_test_users=args.test_users,
        trials_per_user=args.trials_per_user,
        seed=args.seed,
        sample_duration_us=(int(args.sample_ms[0] * 1000), int(args.sample_ms[1] * 1000)),
        workers=args.workers,
        progress=not args.quiet,
    )
    print(f"wrote {folder}")


def _cmd_figures(args) -> None:
    from asa_live.synth.figures import plot_class_grid, plot_statistics

    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    plot_class_grid(out / "synth_classes.png", seed=args.seed)
    stats = plot_statistics(
        out / "synth_stats.png", n_per_class=args.n_per_class, seed=1000 + args.seed
    )
    rates = stats["rates"]
    print(
        f"{rates.size} samples of 1.5 s: mean {rates.mean():.0f} ev/s, median {np.median(rates):.0f}, "
        f"min {rates.min():.0f}, max {rates.max():.0f}; ON fraction {stats['on_fraction'].mean():.2f}; "
        f"active x 5-95 % {stats['x_5_95']}, y {stats['y_5_95']}"
    )
    for c in range(NUM_GESTURE_CLASSES):
        print(f"  class {c:2d} {GESTURE_CLASSES[c]:<28} mean {rates[c].mean():8.0f} ev/s")
    written = [out / "synth_classes.png", out / "synth_stats.png"]
    if args.recording:
        from asa_live.events.aedat4 import iter_aedat4
        from asa_live.events.ibm import read_labels_csv
        from asa_live.synth.figures import plot_recording

        rec = Path(args.recording)
        events = np.concatenate(list(iter_aedat4(rec)))
        plot_recording(out / "synth_demo.png", events, read_labels_csv(labels_path_for(rec)))
        written.append(out / "synth_demo.png")
    print("wrote " + ", ".join(str(p) for p in written))


def _overrides(args) -> dict:
    out = {}
    if getattr(args, "lighting", None):
        out["lighting"] = args.lighting
    if getattr(args, "fps", None):
        out["fps"] = args.fps
    return out


def build_parser() -> argparse.ArgumentParser:
    from asa_live.synth.recording import DEMO_SEED, LIGHTING_TAGS

    p = argparse.ArgumentParser(
        prog="asa-live-synth",
        description="Synthetic DVS128-Gesture-like event data (see docs/synthetic.md).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    def scene_opts(sp):
        sp.add_argument(
            "--lighting",
            choices=LIGHTING_TAGS,
            help="fix the lighting (default: drawn from the seed)",
        )
        sp.add_argument("--fps", type=float, help="render rate in Hz (default 250)")

    s = sub.add_parser("sample", help="one gesture to .aedat4 / .aedat / .npy")
    s.add_argument("out")
    s.add_argument(
        "--class", dest="class_id", type=int, required=True, choices=range(NUM_GESTURE_CLASSES)
    )
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--duration-ms", type=float, default=1500.0)
    scene_opts(s)
    s.set_defaults(fn=_cmd_sample)

    r = sub.add_parser("recording", help="several gestures in a row + OUT_labels.csv")
    r.add_argument("out", help="output .aedat4 (or .aedat / .npy); labels go to <stem>_labels.csv")
    r.add_argument(
        "--classes", default="all", help="ids or names, comma separated, or 'all' (default)"
    )
    r.add_argument("--seed", type=int, default=DEMO_SEED)
    r.add_argument("--gesture-ms", type=float, default=2500.0)
    r.add_argument("--gap-ms", type=float, default=800.0)
    r.add_argument("--quiet", action="store_true")
    scene_opts(r)
    r.set_defaults(fn=_cmd_recording)

    for name, fn, help_text in (
        (
            "ibm-dataset",
            _cmd_ibm,
            "IBM raw layout: DvsGesture/userNN_<lighting>.aedat + labels + trial lists",
        ),
        (
            "tonic-dataset",
            _cmd_tonic,
            "tonic layout: DVSGesture/ibmGesture{Train,Test}/userNN_<lighting>/<label>.npy",
        ),
    ):
        d = sub.add_parser(name, help=help_text)
        d.add_argument("root")
        d.add_argument("--users", type=int, default=6)
        d.add_argument("--test-users", type=int, default=None)
        d.add_argument("--trials-per-user", type=int, default=2)
        d.add_argument("--seed", type=int, default=0)
        d.add_argument("--workers", type=int, default=1)
        d.add_argument("--quiet", action="store_true")
        if name == "ibm-dataset":
            d.add_argument(
                "--gesture-ms",
                type=float,
                nargs=2,
                default=(2000.0, 4000.0),
                metavar=("MIN", "MAX"),
            )
        else:
            d.add_argument(
                "--sample-ms", type=float, nargs=2, default=(1500.0, 3000.0), metavar=("MIN", "MAX")
            )
        d.set_defaults(fn=fn)

    f = sub.add_parser("figures", help="docs pictures synth_classes.png and synth_stats.png")
    f.add_argument("outdir")
    f.add_argument("--seed", type=int, default=7)
    f.add_argument("--n-per-class", type=int, default=8)
    f.add_argument(
        "--recording", help="also draw this recording (with <stem>_labels.csv) as synth_demo.png"
    )
    f.set_defaults(fn=_cmd_figures)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.fn(args)
    except AsaLiveError as err:
        print(f"asa-live-synth: {err}", file=sys.stderr)
        return err.exit_code
    except (OSError, ValueError) as err:
        print(f"asa-live-synth: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
