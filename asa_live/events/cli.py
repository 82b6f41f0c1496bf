"""``asa-live-info FILE [--format F] [--sensor-size WxH] [--window-us N]``: what a recording
holds, read in streaming fashion.

Prints the format, sensor size, event count, first and last timestamp, duration, event rate,
ON fraction, the number of frames binning would produce at ``--window-us``, events dropped
outside the sensor and skipped trigger words (Prophesee), the camera name and other streams
(frames, IMU, triggers) of an AEDAT4 file, and the labelled gestures when a
``<stem>_labels.csv`` lies beside the file. Any user error prints one sentence to stderr and
exits with code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from asa_live.classes import GESTURE_CLASSES
from asa_live.errors import AsaLiveError
from asa_live.events.aedat4 import aedat4_info, aedat4_stream_counts
from asa_live.events.file_source import parse_sensor_size
from asa_live.events.formats import FORMATS, detect_format
from asa_live.events.ibm import read_labels_csv
from asa_live.events.sources import open_source
from asa_live.options import Parser, int_in

__all__ = ["main", "recording_stats"]


def recording_stats(
    spec: str, window_us: int, format: str | None = None, sensor_size: object = None
) -> dict:
    """Stream a recording once; return its statistics (times in microseconds)."""
    kind = detect_format(spec, format)
    n_events = 0
    n_on = 0
    t_first = None
    t_last = None
    backwards = 0
    prev_t = None
    with open_source(spec, format=format, sensor_size=sensor_size) as source:
        sensor_size = source.sensor_size
        name = source.name
        for packet in source:
            t = packet["t"]
            n_events += len(packet)
            n_on += int(packet["p"].sum())
            lo, hi = int(t.min()), int(t.max())
            t_first = lo if t_first is None else min(t_first, lo)
            t_last = hi if t_last is None else max(t_last, hi)
            if prev_t is not None and int(t[0]) < prev_t:
                backwards += 1
            backwards += int((t[1:] < t[:-1]).sum())
            prev_t = int(t[-1])
        dropped = getattr(source, "dropped", 0)
        triggers = getattr(source, "triggers", 0)
        kind = getattr(source, "format", "") or kind
    duration_us = 0 if t_first is None else t_last - t_first
    extra = {}
    if kind == "aedat4":
        extra = {"camera": aedat4_info(spec).camera_name, "streams": aedat4_stream_counts(spec)}
    return {
        "name": name,
        "format": kind,
        "sensor_size": sensor_size,
        "events": n_events,
        "on_fraction": n_on / n_events if n_events else 0.0,
        "t_first_us": t_first,
        "t_last_us": t_last,
        "duration_us": duration_us,
        "rate_events_per_s": n_events / (duration_us / 1e6) if duration_us > 0 else 0.0,
        "frames": 0 if t_first is None else duration_us // window_us + 1,
        "backwards_steps": backwards,
        "dropped_outside": dropped,
        "triggers_skipped": triggers,
        **extra,
    }


def _format(stats: dict, window_us: int) -> str:
    width, height = stats["sensor_size"]
    lines = [
        f"file          {stats['name']}",
        f"format        {stats['format']}",
        f"sensor        {width} x {height}",
        f"events        {stats['events']:,}",
    ]
    if stats["events"]:
        lines += [
            f"time          {stats['t_first_us']} .. {stats['t_last_us']} us",
            f"duration      {stats['duration_us'] / 1e6:.3f} s",
            f"rate          {stats['rate_events_per_s'] / 1e3:,.1f} k events/s",
            f"ON fraction   {stats['on_fraction']:.3f}",
            f"frames        {stats['frames']:,} windows of {window_us} us",
        ]
        if stats["backwards_steps"]:
            lines.append(f"backwards     {stats['backwards_steps']:,} timestamps go backwards")
    else:
        lines.append("(the recording holds no events)")
    if stats["dropped_outside"]:
        lines.append(f"dropped       {stats['dropped_outside']:,} events outside the sensor")
    if stats["triggers_skipped"]:
        lines.append(f"triggers      {stats['triggers_skipped']:,} EXT_TRIGGER words skipped")
    if "camera" in stats:
        lines.append(f"camera        {stats['camera']}")
        streams = ", ".join(f"{k} {v:,}" for k, v in stats["streams"].items()) or "none"
        lines.append(f"other streams {streams}")
    return "\n".join(lines)


def _labels_beside(path: Path) -> Path | None:
    candidate = path.with_name(f"{path.stem}_labels.csv")
    return candidate if candidate.is_file() else None


def _sensor_size_arg(text: str) -> tuple[int, int]:
    try:
        return parse_sensor_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = Parser(
        prog="asa-live-info",
        description="Describe an event recording without loading it whole: AEDAT4, AEDAT 3.1, "
        "tonic .npy, Prophesee .raw (EVT 2.0/2.1/3.0) and .dat, t,x,y,p .csv.",
        epilog="examples:\n"
        "  asa-live-info recordings/demo.aedat4\n"
        "  asa-live-info drive.raw                                 # sensor size from the header\n"
        "  asa-live-info stream.bin --format evt3 --sensor-size 1280x720   # headerless\n"
        "  asa-live-info ncars.dat --sensor-size 304x240\n",
    )
    parser.add_argument("file", help="the recording")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="override the format picked by suffix and content; evt2|evt21|evt3 read a "
        "headerless Prophesee stream (needs --sensor-size)",
    )
    parser.add_argument(
        "--sensor-size",
        type=_sensor_size_arg,
        default=None,
        metavar="WxH",
        help="sensor width x height, for files that do not state it (headerless, .dat, .csv)",
    )
    parser.add_argument(
        "--window-us",
        type=int_in(1, 10**9),
        default=15_000,
        help="binning window in microseconds, for the frame count",
    )
    args = parser.parse_args(argv)
    if args.file.split(":", 1)[0] in ("camera", "prophesee"):
        print(
            "asa-live-info describes recordings, and a live camera never ends: "
            "give a recording file.",
            file=sys.stderr,
        )
        return 2
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stats = recording_stats(args.file, args.window_us, args.format, args.sensor_size)
            text = _format(stats, args.window_us)
            labels_path = _labels_beside(Path(args.file))
            if labels_path is not None:
                labels = read_labels_csv(labels_path)
                names = ", ".join(GESTURE_CLASSES[int(c)] for c in labels["class_id"])
                text += f"\nlabels        {len(labels)} gestures in {labels_path.name}: {names}"
    except AsaLiveError as err:
        print(str(err), file=sys.stderr)
        return err.exit_code
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `asa-live-info f | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
