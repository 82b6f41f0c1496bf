"""``asa-live``: recognise gestures live from an event camera or a replayed recording.

    asa-live --replay recordings/demo.aedat4            # window (GUI), real time
    asa-live --replay FILE --headless > windows.jsonl   # one JSON object per window, fast
    asa-live --camera [SERIAL]                          # live camera
    asa-live --camera --headless --record OUT.aedat4    # recognise and record the camera

Every user error (a bad file, no camera, a bad model, a bad option) is one sentence on stderr
and exit status 2, without a traceback. Without a display (Linux, no DISPLAY/WAYLAND_DISPLAY,
QT_QPA_PLATFORM unset) the app says so and runs without a window, printing a readable line
per half second of stream and a summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from pathlib import Path

from asa_live.errors import AsaLiveError, ConfigError
from asa_live.events.file_source import parse_sensor_size
from asa_live.events.formats import FORMATS
from asa_live.model.fast import BACKENDS, DEFAULT_BACKEND
from asa_live.options import Parser, float_in, nonnegative_float
from asa_live.pipeline.display import EventAccumulator
from asa_live.pipeline.labels import parse_labels_offset
from asa_live.pipeline.models import load_model
from asa_live.pipeline.pacing import MAX_SPEED, MIN_SPEED
from asa_live.pipeline.sources import SourceSpec
from asa_live.pipeline.stats import RunCounters
from asa_live.pipeline.stream import run_stream
from asa_live.pipeline.video import VideoExporter
from asa_live.pipeline.worker import PipelineWorker

READABLE_EVERY_US = 500_000
EPILOG = """examples:
  asa-live --replay recordings/demo.aedat4               # the bundled demo, in a window
  asa-live --camera                                      # the first iniVation camera found
  asa-live --camera prophesee                            # a Prophesee camera (the [prophesee] extra)
  asa-live --replay rec.aedat4 --headless > out.jsonl    # one JSON object per window, fast
  asa-live --replay spinner.raw --speed 0.5 --loop       # Prophesee .raw, half speed, over and over
  asa-live --model runs/mine --camera                    # your own fine-tuned model (docs/teach.md)
  asa-live --camera --headless --record take.aedat4      # recognise and record
keys in the window: Space pause, R reset, O open, M model, C camera, arrows speed, F full
screen, T teach, F1 or ? help
"""
# Upper bounds of the number options: far beyond any use, small enough that every value stays
# exact in microseconds and fits Qt's 32-bit millisecond timers (--screenshot-after).
MAX_STREAM_S = 1e7
MAX_IDLE_RESET_MS = 1e7
MAX_SCREENSHOT_AFTER_S = 3600.0


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="asa-live",
        description="Real-time gesture recognition for event cameras with a streaming ASA-SNN.",
        epilog=EPILOG,
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--camera",
        nargs="?",
        const="",
        metavar="SERIAL",
        help="read a live camera: the first iniVation camera found, the one with this serial "
        "number, or prophesee[:SERIAL] for a Prophesee camera (needs the [prophesee] extra)",
    )
    src.add_argument(
        "--replay",
        metavar="FILE",
        help="replay a recording: .aedat4, IBM .aedat, tonic .npy, Prophesee .raw (EVT 2.0, "
        "2.1, 3.0) or .dat, t,x,y,p .csv, or a headerless stream with --format",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="the recording's format when its suffix does not tell it; evt2|evt21|evt3 read "
        "a headerless Prophesee stream (with --sensor-size)",
    )
    p.add_argument(
        "--sensor-size",
        type=_sensor_size_arg,
        default=None,
        metavar="WxH",
        help="sensor width x height, for files that do not state it (headerless, .dat, .csv)",
    )
    p.add_argument(
        "--speed",
        type=float_in(MIN_SPEED, MAX_SPEED),
        default=None,
        help="replay speed, 0.1..100 x real time (default: 1 with a window; as fast as possible "
        "with --headless)",
    )
    p.add_argument("--loop", action="store_true", help="replay the file over and over")
    p.add_argument(
        "--model",
        metavar="PATH",
        help="checkpoint (.safetensors) or a training run's folder (its best checkpoint); "
        "default: the shipped model",
    )
    p.add_argument("--labels", metavar="CSV", help="labels CSV (default: <stem>_labels.csv)")
    p.add_argument(
        "--labels-offset",
        type=_labels_offset_arg,
        default=None,
        metavar="auto|US",
        help="move the label times: US microseconds, or auto (labels that end before the "
        "recording starts are taken as relative to its first event)",
    )
    p.add_argument("--no-labels", action="store_true", help="ignore every labels CSV (no accuracy)")
    p.add_argument(
        "--record",
        metavar="OUT.aedat4",
        help="with --camera: also record the camera's events to an AEDAT4 file",
    )
    p.add_argument(
        "--headless", action="store_true", help="no window: one JSON object per window on stdout"
    )
    p.add_argument(
        "--max-seconds",
        type=float_in(0.0, MAX_STREAM_S, low_open=True),
        metavar="S",
        help="stop after S s of stream",
    )
    p.add_argument("--export-video", metavar="OUT.mp4", help="write annotated frames (no window)")
    p.add_argument(
        "--screenshot", metavar="OUT.png", help="render the window offscreen, save it, exit"
    )
    p.add_argument(
        "--screenshot-after",
        type=float_in(0.0, MAX_SCREENSHOT_AFTER_S, low_open=True),
        default=4.0,
        metavar="S",
        help="seconds of running before --screenshot is taken (default 4)",
    )
    p.add_argument(
        "--idle-reset-ms",
        type=nonnegative_float(MAX_IDLE_RESET_MS),
        default=1000.0,
        metavar="MS",
        help="reset the network state after this many ms without events (0: never; default 1000)",
    )
    p.add_argument(
        "--noise-filter", action="store_true", help="background-activity noise filter on"
    )
    p.add_argument(
        "--policy",
        choices=("drop", "merge"),
        default="drop",
        help="when inference falls behind real time even with batching: drop the oldest "
        "pending window (default) or merge late windows",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help="inference backend: eager (reference), fast (int8 convs on binary spikes, sparse "
        "FC), auto (fast where it measured faster: paper-width nets; default)",
    )
    return p


def _sensor_size_arg(text: str) -> tuple[int, int]:
    try:
        return parse_sensor_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _labels_offset_arg(text: str) -> str | int:
    try:
        return parse_labels_offset(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line on stderr ("warning: ..."), without Python's source line."""
    text = " ".join(str(message).split())
    print(f"warning: {text}", file=file or sys.stderr)


def has_display() -> bool:
    """False on Linux without an X11/Wayland display and without an explicit Qt platform."""
    if not sys.platform.startswith("linux"):
        return True
    env = os.environ
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


def _check_args(args: argparse.Namespace) -> None:
    """The checks that involve several options (each number was checked by its type)."""
    if args.speed is not None and args.camera is not None:
        raise ConfigError("--speed applies to --replay only: a camera runs in real time.")
    if args.loop and args.replay is None:
        raise ConfigError("--loop applies to --replay only: give --replay FILE.")
    if (args.format or args.sensor_size) and args.replay is None:
        raise ConfigError("--format and --sensor-size apply to --replay only: give --replay FILE.")
    if args.no_labels and (args.labels or args.labels_offset is not None):
        raise ConfigError("--no-labels ignores labels: drop --labels and --labels-offset.")
    if args.record is not None:
        if args.camera is None:
            raise ConfigError("--record applies to --camera only: a replay is a recording.")
        if not args.record.lower().endswith(".aedat4"):
            raise ConfigError(f"--record needs an .aedat4 name, got '{args.record}'.")
        if not (args.headless or args.export_video or not has_display()):
            raise ConfigError(
                "--record runs without a window: add --headless (in the window, "
                "use its Record button)."
            )
    if args.screenshot and (args.headless or args.export_video):
        raise ConfigError("--screenshot renders the window: do not combine it with --headless.")
    if args.screenshot and not args.screenshot.lower().endswith(".png"):
        raise ConfigError(f"--screenshot needs a .png name, got '{args.screenshot}'.")


def source_spec(args: argparse.Namespace) -> SourceSpec | None:
    """The source the options ask for (None when neither --replay nor --camera was given)."""
    labels = Path(args.labels) if args.labels else None
    if args.camera is not None:
        return SourceSpec.camera(args.camera or None)
    if args.replay is not None:
        return SourceSpec.replay(
            args.replay,
            loop=args.loop,
            speed=args.speed,
            format=args.format,
            sensor_size=args.sensor_size,
            labels_path=labels,
            use_labels=not args.no_labels,
            labels_offset=args.labels_offset,
        )
    return None


def run_without_window(args: argparse.Namespace, json_lines: bool) -> int:
    """Headless (JSON per window) or readable (a line per 0.5 s of stream) run.

    An unpaced file replay runs in this thread (:func:`run_stream`): there is no real time to
    keep up with, and one thread avoids the hand-offs between two. Cameras and paced replays
    run in the threaded worker with its overload policy.
    """
    spec = source_spec(args)
    if spec is None:
        raise ConfigError("Nothing to run: give --replay FILE or --camera [SERIAL].")
    checkpoint = load_model(args.model, args.backend)
    speed = spec.speed
    if speed is None and not json_lines and not spec.live and not args.export_video:
        speed = 1.0  # a person is watching the lines: replay in real time, as the window would
    options = {
        "noise_filter": args.noise_filter,
        "idle_reset_ms": args.idle_reset_ms or None,
        "labels": spec.labels(),
        "max_seconds": args.max_seconds,
    }
    worker = None
    counters = RunCounters()
    accumulator = EventAccumulator(checkpoint.binning.sensor_size, 4_000_000)
    if speed is None and not spec.live:
        source = spec.open()
        reports = run_stream(
            source, checkpoint, counters=counters, event_tap=accumulator.push, **options
        )
    else:
        worker = PipelineWorker(
            spec.open,
            checkpoint,
            speed=speed,
            live=spec.live,
            policy=args.policy,
            result_capacity=16 if args.export_video else 4096,
            lossless_results=True,
            display_span_us=4_000_000,
            **options,
        )
        accumulator = worker.accumulator
        worker.start(record_to=args.record)
        reports = worker.iter_results()
    exporter = None
    if args.export_video:
        exporter = VideoExporter(
            args.export_video,
            accumulator,
            checkpoint.binning.window_us,
            tuple(checkpoint.class_names),
        )
    out = sys.stdout
    next_line_us: int | None = None
    start_us: int | None = None  # readable lines give time since the stream's first window
    interrupted = False
    recorder = worker.recording_tap.recorder if worker is not None else None
    try:
        for report in reports:
            if exporter is not None:
                exporter.write(report)
            if json_lines:
                out.write(json.dumps(report.to_json_dict()) + "\n")
                continue
            if (
                next_line_us is None
                or report.t_end_us >= next_line_us
                or report.t_end_us < (next_line_us - 2 * READABLE_EVERY_US)
            ):
                next_line_us = report.t_end_us + READABLE_EVERY_US
                if start_us is None:
                    start_us = report.t_start_us
                truth = f"  truth: {report.truth_name}" if report.truth_name else ""
                name = report.prediction or "-"
                seconds = (report.t_end_us - start_us) / 1e6
                out.write(f"{seconds:9.2f} s  {name:<28} {report.confidence:5.2f}{truth}\n")
                out.flush()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if worker is not None:
            worker.stop()
        else:
            reports.close()
            source.close()
        if exporter is not None:
            exporter.close()
        out.flush()
    stats = worker.stats(recent=False) if worker else counters.snapshot(False, recent=False)
    print(f"asa-live: {stats.summary_line()}", file=sys.stderr)
    if exporter is not None:
        print(f"asa-live: wrote {exporter.frames} frames to {exporter.path}", file=sys.stderr)
    if recorder is not None:
        print(
            f"asa-live: recorded {recorder.events_written} events to {recorder.path}",
            file=sys.stderr,
        )
    return 130 if interrupted else 0


def run_with_window(args: argparse.Namespace) -> int:
    try:
        # the window is optional (the [gui] extra): PyQt6 loads only when a window is wanted
        from asa_live.gui.app import run_app
    except ImportError as err:
        raise ConfigError(
            f"The window needs PyQt6 and pyqtgraph ({err.name or err} is missing): run "
            "`pip install 'asa-live[gui]'`, or use --headless."
        ) from None

    return run_app(args, source_spec(args))


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version, or a bad option (one sentence, code 2)
        return int(done.code or 0)
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    try:
        _check_args(args)
        if args.headless or args.export_video:
            return run_without_window(args, json_lines=args.headless)
        if args.screenshot:
            if not has_display():
                os.environ["QT_QPA_PLATFORM"] = "offscreen"
            return run_with_window(args)
        if not has_display():
            print(
                "asa-live: no display found (DISPLAY/WAYLAND_DISPLAY unset), so running without "
                "a window; use --headless for JSON output or set QT_QPA_PLATFORM.",
                file=sys.stderr,
            )
            return run_without_window(args, json_lines=False)
        return run_with_window(args)
    except AsaLiveError as err:
        print(f"asa-live: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `asa-live --headless | head` closes stdout early; that is not an error.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush
        return 0


if __name__ == "__main__":
    sys.exit(main())
