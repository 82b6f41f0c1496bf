"""``asa-live-synth``: synthetic DVS128-Gesture-like samples, recordings, negatives, datasets.

Class ids on the command line are 1-based, as in the labels CSV (1 = hand_clapping ..
11 = other_gestures); names work too, including the swipes (``asa-live-synth classes``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from asa_live.classes import GESTURE_CLASSES, NUM_GESTURE_CLASSES, SWIPE_CLASSES
from asa_live.errors import AsaLiveError, ConfigError
from asa_live.events.aedat4 import write_aedat4
from asa_live.events.ibm import write_aedat31, write_labels_csv
from asa_live.events.tonic_npy import write_tonic_npy
from asa_live.options import Parser, float_in, int_in
from asa_live.progress import progress_bar
from asa_live.synth.dataset import AEDAT31_HEADER_TIME, write_ibm_dataset, write_tonic_dataset
from asa_live.synth.figures import write_figures
from asa_live.synth.negatives import NEGATIVE_KINDS, generate_negative
from asa_live.synth.recording import (
    DEMO_SEED,
    generate_recording,
    generate_sample,
    recording_frame_count,
)
from asa_live.synth.scene import LIGHTING_TAGS
from asa_live.synth.swipes import SYNTH_CLASSES

SENSOR = (128, 128)
CLASSES_FILE = "classes.txt"
MAX_MS = 3_600_000.0  # one hour
EPILOG = """examples:
  asa-live-synth classes                                    # class ids and names
  asa-live-synth sample out.aedat4 --class 4 --seed 0       # right_arm_clockwise, 1.5 s
  asa-live-synth sample out.npy --class swipe_left --randomize 1
  asa-live-synth recording recordings/demo.aedat4 --seed 900000
  asa-live-synth recording teach/rec1.aedat4 --classes swipe_left,swipe_right --randomize 1
  asa-live-synth negative idle.aedat4 --kind idle_fidget --seed 3
  asa-live-synth ibm-dataset data/synth_ibm --users 29 --workers 2 --randomize 1
  asa-live-synth tonic-dataset data/synth_tonic --users 29 --workers 2
  asa-live-synth figures docs/img --recording recordings/demo.aedat4
"""


def class_index(item: str) -> int:
    """One class: a 1-based CSV id (1..11) or a name of SYNTH_CLASSES -> index into it."""
    item = item.strip()
    if item.isdigit() and 1 <= int(item) <= NUM_GESTURE_CLASSES:
        return int(item) - 1
    if item in SYNTH_CLASSES:
        return SYNTH_CLASSES.index(item)
    raise ConfigError(
        f"Unknown gesture class '{item}'; give ids 1..{NUM_GESTURE_CLASSES} (as in the labels "
        "CSV) or names (see asa-live-synth classes)."
    )


def parse_classes(text: str) -> list[int]:
    """``"1,2,3"`` (CSV ids), ``"all"`` or names (``"hand_clapping,swipe_left"``) -> indices.

    Indices point into :data:`SYNTH_CLASSES` (0..10 the gestures, 11..14 the swipes).
    """
    if text.strip().lower() == "all":
        return list(range(NUM_GESTURE_CLASSES))
    out = [class_index(item) for item in text.split(",") if item.strip()]
    if not out:
        raise ConfigError("No gesture class given; use e.g. --classes 1,2,3 or --classes all.")
    return out


def labels_path_for(out: Path) -> Path:
    """``demo.aedat4`` -> ``demo_labels.csv`` (IBM's naming)."""
    return out.with_name(out.stem + "_labels.csv")


def class_list_for(out: Path, names: list[str]) -> list[str] | None:
    """The class list of OUT's folder when it needs one, else None (plain 11-class CSV).

    A folder needs a ``classes.txt`` when a class outside the 11 is used, or when it has one
    already: the existing list is kept in its order and new names are appended, so several
    recordings written there share one list ("recordings folder" for fine-tuning).
    """
    path = out.with_name(CLASSES_FILE)
    existing: list[str] = []
    if path.is_file():
        existing = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    if not existing and all(n in GESTURE_CLASSES for n in names):
        return None
    return existing + [n for n in dict.fromkeys(names) if n not in existing]


def write_labels(out: Path, labels: np.ndarray, class_list: list[str] | None) -> None:
    """``<stem>_labels.csv`` (IBM's format); with a class list, ids are 1-based positions in it."""
    if class_list is None:
        write_labels_csv(labels_path_for(out), labels)
        return
    out.with_name(CLASSES_FILE).write_text("".join(n + "\n" for n in class_list))
    rows = ["class,startTime_usec,endTime_usec"]
    for c, a, b in labels[["class_id", "start_us", "end_us"]].tolist():
        rows.append(f"{class_list.index(SYNTH_CLASSES[c]) + 1},{a},{b}")
    labels_path_for(out).write_text("\n".join(rows) + "\n", encoding="ascii")


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
        write_aedat4(path, events, SENSOR)
    elif suffix == ".aedat":
        write_aedat31(path, events, start_time=AEDAT31_HEADER_TIME)
    else:
        write_tonic_npy(path, events)


def _cmd_classes(args) -> None:
    print("id  name (ids as in the labels CSV)")
    for i, name in enumerate(GESTURE_CLASSES):
        print(f"{i + 1:2d}  {name}")
    print("swipes (by name; a recording with them gets a classes.txt):")
    for name in SWIPE_CLASSES:
        print(f"    {name}")
    print("negative kinds (asa-live-synth negative --kind): " + ", ".join(NEGATIVE_KINDS))


def _cmd_sample(args) -> None:
    class_id = class_index(args.class_id)
    _write_events_check(Path(args.out))
    events = generate_sample(
        class_id, args.seed, duration_us=int(args.duration_ms * 1000), **_overrides(args)
    )
    _write_events(Path(args.out), events)
    label = f"{class_id + 1} " if class_id < NUM_GESTURE_CLASSES else ""
    print(f"{args.out}: {len(events)} events, class {label}({SYNTH_CLASSES[class_id]})")


def _cmd_negative(args) -> None:
    _write_events_check(Path(args.out))
    events = generate_negative(
        args.kind, args.seed, duration_us=int(args.duration_ms * 1000), **_overrides(args)
    )
    _write_events(Path(args.out), events)
    print(f"{args.out}: {len(events)} events, no gesture ({args.kind})")


def _cmd_recording(args) -> None:
    classes = parse_classes(args.classes)
    out = Path(args.out)
    _write_events_check(out)
    class_list = class_list_for(out, [SYNTH_CLASSES[c] for c in classes])
    gesture_us, gap_us = int(args.gesture_ms * 1000), int(args.gap_ms * 1000)
    lead_us = tail_us = 500_000
    end_us = lead_us + len(classes) * gesture_us + (len(classes) - 1) * gap_us + tail_us
    overrides = _overrides(args)
    total = recording_frame_count(end_us, overrides.get("fps", 250.0))
    with progress_bar(total=total, unit="frame", desc="rendering", disable=args.quiet) as bar:
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
    _write_events(out, events)
    write_labels(out, labels, class_list)
    extra = f" and {out.with_name(CLASSES_FILE)}" if class_list is not None else ""
    print(
        f"{out}: {len(events)} events over {end_us / 1e6:.1f} s; labels in {labels_path_for(out)}{extra}"
    )


def _cmd_ibm(args) -> None:
    durations = _ms_range_us(args.gesture_ms)
    folder = write_ibm_dataset(args.root, gesture_duration_us=durations, **_dataset_options(args))
    print(f"wrote {folder}")


def _cmd_tonic(args) -> None:
    durations = _ms_range_us(args.sample_ms)
    folder = write_tonic_dataset(args.root, sample_duration_us=durations, **_dataset_options(args))
    print(f"wrote {folder}")


def _ms_range_us(range_ms: Sequence[float]) -> tuple[int, int]:
    return int(range_ms[0] * 1000), int(range_ms[1] * 1000)


def _dataset_options(args) -> dict:
    """The options ``ibm`` and ``tonic`` share, as keywords of the dataset writers."""
    return {
        "n_users": args.users,
        "n_test_users": args.test_users,
        "trials_per_user": args.trials_per_user,
        "seed": args.seed,
        "workers": args.workers,
        "progress": not args.quiet,
        "randomize": args.randomize,
    }


def _cmd_figures(args) -> None:
    write_figures(Path(args.outdir), args.seed, args.n_per_class, args.recording)


def _overrides(args) -> dict:
    out = {"randomize": args.randomize}
    if args.lighting:
        out["lighting"] = args.lighting
    if args.fps:
        out["fps"] = args.fps
    return out


def _scene_opts(sp: argparse.ArgumentParser, randomize_default: int = 0) -> None:
    sp.add_argument(
        "--lighting", choices=LIGHTING_TAGS, help="fix the lighting (default: drawn from the seed)"
    )
    sp.add_argument(
        "--fps", type=float_in(50, 5000), metavar="HZ", help="render rate in Hz (default: 250)"
    )
    sp.add_argument(
        "--randomize",
        type=int_in(0, 1),
        default=randomize_default,
        metavar="{0,1}",
        help="0: the clean scene; 1: domain randomisation (position, distance, clothes, "
        "distractors, noise, ...; docs/synthetic.md) (default: %(default)s)",
    )


def _seed_opt(sp: argparse.ArgumentParser, default: int) -> None:
    sp.add_argument(
        "--seed",
        type=int_in(0, 2**31 - 1),
        default=default,
        help="random seed (default: %(default)s)",
    )


def _dataset_parser(sub, name: str, help_text: str, fn) -> None:
    d = sub.add_parser(name, help=help_text, description=help_text)
    d.add_argument("root", help="output folder")
    d.add_argument(
        "--users", type=int_in(1, 99), default=6, help="users in all (default: %(default)s)"
    )
    d.add_argument(
        "--test-users", type=int_in(0, 99), default=None, help="test users (default: about 6 of 29)"
    )
    d.add_argument(
        "--trials-per-user",
        type=int_in(1, len(LIGHTING_TAGS)),
        default=2,
        help="trials (lighting tags) per user (default: %(default)s)",
    )
    _seed_opt(d, 0)
    d.add_argument(
        "--workers", type=int_in(1, 256), default=1, help="worker processes (default: %(default)s)"
    )
    d.add_argument(
        "--randomize", type=int_in(0, 1), default=0, metavar="{0,1}",
        help="1: domain randomisation (default: %(default)s)",
    )  # fmt: skip
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    option = "--gesture-ms" if name == "ibm-dataset" else "--sample-ms"
    d.add_argument(
        option,
        type=float_in(100, MAX_MS),
        nargs=2,
        default=(4500.0, 8500.0),
        metavar=("MIN", "MAX"),
        help="duration range of a gesture in ms (default: 4500 8500, mean 6.5 s as in DVS128 Gesture)",
    )
    d.set_defaults(fn=fn)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="asa-live-synth",
        description="Synthetic DVS128-Gesture-like event data (see docs/synthetic.md).",
        epilog=EPILOG,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, fn):
        sp = sub.add_parser(name, help=help_text, description=help_text, epilog=EPILOG)
        sp.set_defaults(fn=fn)
        return sp

    add("classes", "list the class ids and names (and the negative kinds)", _cmd_classes)

    s = add("sample", "one gesture to .aedat4 / .aedat / .npy", _cmd_sample)
    s.add_argument("out", help="output file: .aedat4, .aedat (AEDAT 3.1) or .npy (tonic)")
    s.add_argument(
        "--class", dest="class_id", required=True, help="id 1..11 (as in the CSV) or a name"
    )
    _seed_opt(s, 0)
    s.add_argument(
        "--duration-ms", type=float_in(10, MAX_MS), default=1500.0,
        help="length in ms (default: %(default)s)",
    )  # fmt: skip
    _scene_opts(s)

    n = add("negative", "a 'no gesture' stream (idle person, empty scene, noise)", _cmd_negative)
    n.add_argument("out", help="output file: .aedat4, .aedat or .npy")
    n.add_argument("--kind", choices=NEGATIVE_KINDS, required=True, help="what the scene shows")
    _seed_opt(n, 0)
    n.add_argument(
        "--duration-ms", type=float_in(10, MAX_MS), default=1500.0,
        help="length in ms (default: %(default)s)",
    )  # fmt: skip
    _scene_opts(n, randomize_default=1)

    r = add("recording", "several gestures in a row + OUT_labels.csv", _cmd_recording)
    r.add_argument("out", help="output .aedat4 (or .aedat / .npy); labels go to <stem>_labels.csv")
    r.add_argument(
        "--classes", default="all",
        help="ids 1..11 (as in the CSV) or names, comma separated, or 'all' (default: all); "
        "names outside the 11 (swipes) write classes.txt beside OUT and number the CSV by it",
    )  # fmt: skip
    _seed_opt(r, DEMO_SEED)
    r.add_argument(
        "--gesture-ms", type=float_in(10, MAX_MS), default=2500.0,
        help="length of each gesture in ms (default: %(default)s)",
    )  # fmt: skip
    r.add_argument(
        "--gap-ms", type=float_in(0, MAX_MS), default=800.0,
        help="idle time between gestures in ms (default: %(default)s)",
    )  # fmt: skip
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    _scene_opts(r)

    _dataset_parser(
        sub, "ibm-dataset",
        "IBM raw layout: DvsGesture/userNN_<lighting>.aedat + labels + trial lists", _cmd_ibm,
    )  # fmt: skip
    _dataset_parser(
        sub, "tonic-dataset",
        "tonic layout: DVSGesture/ibmGesture{Train,Test}/userNN_<lighting>/<label>.npy", _cmd_tonic,
    )  # fmt: skip

    f = add(
        "figures",
        "docs pictures synth_classes.png, synth_stats.png, synth_negatives.png",
        _cmd_figures,
    )
    f.add_argument("outdir", help="output folder")
    _seed_opt(f, 7)
    f.add_argument(
        "--n-per-class", type=int_in(1, 100), default=3,
        help="samples per class for the statistics (default: %(default)s)",
    )  # fmt: skip
    f.add_argument(
        "--recording", help="also draw this recording (with <stem>_labels.csv) as synth_demo.png"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse: --help, --version, or a usage error (exit 2)
        return int(stop.code or 0)
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
