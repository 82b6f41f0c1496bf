"""``asa-live-record``: record your own gestures, prompted one by one, into a recordings folder."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from asa_live.errors import AsaLiveError, ConfigError
from asa_live.options import Parser, float_in, int_in
from asa_live.pipeline.pacing import Pacer
from asa_live.pipeline.sources import SourceSpec
from asa_live.teach.folder import (
    add_to_trial_list,
    check_writable,
    next_session_stem,
    parse_class_names,
    write_classes,
)
from asa_live.teach.record import GuidedSession, SessionWriter, plan_takes, run_session

EPILOG = """examples:
  asa-live-record my-gestures --classes swipe_left,swipe_right,thumbs_up --repeats 5
  asa-live-record my-gestures --classes swipe_left,swipe_right --repeats 3 --camera DXA00093
  asa-live-record demo-folder --classes swipe_left,swipe_up --repeats 2 --replay take.aedat4 --speed 20

then fine-tune on the folder:
  asa-live-train --recipe finetune --init models/gesture-3layer-asa.safetensors \\
      --data folder --data-root my-gestures
"""


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="asa-live-record",
        description="Record your own gestures into a recordings folder: each gesture is prompted "
        "in a shuffled order with a countdown, recorded to AEDAT4 and labelled (IBM's CSV layout).",
        epilog=EPILOG,
    )
    p.add_argument(
        "out_dir", metavar="OUT_DIR", help="the recordings folder (created; never overwritten)"
    )
    p.add_argument(
        "--classes",
        required=True,
        metavar="NAMES",
        help="comma-separated class names: the 11 DVS128 Gesture names or your own",
    )
    p.add_argument(
        "--repeats", type=int_in(1, 1000), required=True, metavar="N", help="takes of each class"
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--camera", nargs="?", const="", metavar="SERIAL", help="record a live camera (default)"
    )
    src.add_argument("--replay", metavar="FILE", help="use a recording in place of a camera")
    p.add_argument(
        "--speed",
        type=float_in(0.1, 100),
        default=1.0,
        metavar="X",
        help="--replay only: replay speed, x real time (default: 1)",
    )
    p.add_argument(
        "--user", default="user", help="name used in the session's file name (default: user)"
    )
    p.add_argument(
        "--gesture-s",
        type=float_in(0.3, 60),
        default=2.5,
        metavar="S",
        help="seconds recorded per take (default: 2.5)",
    )
    p.add_argument(
        "--pause-s",
        type=float_in(0.5, 60),
        default=1.5,
        metavar="S",
        help="seconds of countdown before each take; the idle parts become 'no gesture' data "
        "(default: 1.5)",
    )
    p.add_argument(
        "--test-session",
        action="store_true",
        help="list this session in trials_to_test.txt (held out) instead of trials_to_train.txt",
    )
    p.add_argument(
        "--seed",
        type=int_in(0, 2**31 - 1),
        default=None,
        help="order of the takes (default: random)",
    )
    return p


def _open(args: argparse.Namespace):
    """The one way to open a source (SourceSpec), as asa-live does."""
    if args.replay is not None:
        return SourceSpec.replay(args.replay).open()
    return SourceSpec.camera(args.camera or None).open()


def _paced(source, speed: float | None) -> Iterator[np.ndarray]:
    pacer = Pacer(speed)
    for packet in source:
        yield from pacer.pace(packet)


def record(args: argparse.Namespace) -> int:
    names = parse_class_names(args.classes)
    if args.replay is None and args.speed != 1.0:
        raise ConfigError("--speed applies to --replay only: a camera runs in real time.")
    if not args.user.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"--user '{args.user}' may hold letters, digits, '_' and '-' only.")
    folder = Path(args.out_dir)
    check_writable(folder)
    write_classes(folder, names)
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    takes = plan_takes(names, args.repeats, seed)
    source = _open(args)
    stem = next_session_stem(folder, args.user)
    path = folder / f"{stem}.aedat4"
    writer = SessionWriter(path, source.sensor_size, len(names))
    session = GuidedSession(
        takes, writer, int(args.gesture_s * 1e6), int(args.pause_s * 1e6), _prompt
    )
    print(f"Recording {len(takes)} takes into {path} (Ctrl-C stops; finished takes are kept).")
    try:
        run_session(_paced(source, args.speed if args.replay else None), session)
    except KeyboardInterrupt:
        _finish(folder, path, session, args.test_session)
        print(
            f"Stopped: {session.completed} of {len(takes)} takes saved in {path}.", file=sys.stderr
        )
        return 130
    except AsaLiveError as err:
        _finish(folder, path, session, args.test_session)
        print(
            f"{err} ({session.completed} of {len(takes)} takes saved in {path}.)", file=sys.stderr
        )
        return 2
    finally:
        source.close()
    _finish(folder, path, session, args.test_session)
    if not session.done:
        print(
            f"The stream ended after {session.completed} of {len(takes)} takes; they are saved "
            f"in {path}.",
            file=sys.stderr,
        )
        return 0
    print(f"Done: {len(takes)} takes saved in {path}.")
    return 0


def _finish(folder: Path, path: Path, session: GuidedSession, test: bool) -> None:
    """List the session once it holds at least one labelled take."""
    if session.completed:
        add_to_trial_list(folder, path.name, test)


def _prompt(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return record(args)
    except AsaLiveError as err:
        print(f"asa-live-record: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
