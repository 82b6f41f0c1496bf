"""``asa-live-eval CHECKPOINT_OR_RUN_DIR [...]``: the paper protocol and/or the streaming
protocol, a printed table, ``results.json`` and PNGs in ``--out``; or, with ``--protocol
robustness``, the robustness protocol (asa_live.train.robustness_run) and ``robustness.json``.

A run folder means its best and last checkpoints - once, when they hold the same weights of the
same epoch. Several checkpoints are compared side by side. User errors print one sentence and
exit with code 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

import torch

from asa_live.classes import GESTURE_CLASSES, NUM_GESTURE_CLASSES
from asa_live.errors import AsaLiveError, ConfigError
from asa_live.model.checkpoint import load_checkpoint
from asa_live.model.config import BinningConfig
from asa_live.model.fast import BACKENDS, DEFAULT_BACKEND, make_runner
from asa_live.model.readout import Readout, readout_from_provenance
from asa_live.options import Parser, float_in, int_in
from asa_live.train import plots
from asa_live.train.data import DATA_KINDS, DataConfig, DataSplit, load_split
from asa_live.train.devices import resolve_device
from asa_live.train.eval_table import format_table
from asa_live.train.evaluation import paper_protocol, streaming_protocol
from asa_live.train.robustness_run import format_result, run_from_args, to_json

__all__ = ["build_eval_parser", "eval_main", "evaluate_checkpoints", "write_plots"]

_EPILOG = """examples:
  asa-live-eval runs/stream                      # a run folder: its best and last checkpoints
  asa-live-eval models/gesture-3layer-asa.safetensors models/gesture-3layer-none.safetensors \\
      --label asa --label none --data synthetic --out runs/eval
  asa-live-eval runs/paper3 --data ibm --data-root ~/data/DvsGesture --protocol paper
  asa-live-eval models/gesture-3layer-asa-nogesture.safetensors --protocol robustness \\
      --recordings 2 --negatives-per-kind 1 --background street.aedat4 --real street.aedat4
"""


def build_eval_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="asa-live-eval",
        description="Evaluate checkpoints: the paper's 10-clip protocol and the streaming protocol.",
        epilog=_EPILOG,
    )
    p.add_argument("models", nargs="+", help="checkpoint files or run folders (best + last)")
    p.add_argument("--label", action="append", help="a name per model for tables and plots")
    p.add_argument("--protocol", choices=["paper", "stream", "both", "robustness"],
                   default="both",
                   help="which protocol to run: paper, stream, both, or robustness (shifted "
                   "scenes, no-gesture streams, real replays; default: both)")  # fmt: skip
    p.add_argument("--data", choices=list(DATA_KINDS), default="synthetic",
                   help="test data: synthetic gestures, raw IBM files or tonic's .npy folders "
                   "(default: synthetic)")  # fmt: skip
    p.add_argument("--data-root", metavar="DIR", default=None,
                   help="dataset folder (needed for ibm and tonic; default: none)")  # fmt: skip
    p.add_argument("--cache-dir", metavar="DIR", default=".cache/asa-live-frames",
                   help="binned-frame cache (default: .cache/asa-live-frames)")  # fmt: skip
    p.add_argument("--synth-test-per-class", type=int_in(1, 1_000_000), default=20,
                   help="synthetic test gestures per class (default: 20)")  # fmt: skip
    p.add_argument("--synth-gestures-per-recording", type=int_in(1, 10_000), default=NUM_GESTURE_CLASSES,
                   help=f"gestures per synthetic recording (default: {NUM_GESTURE_CLASSES})")  # fmt: skip
    p.add_argument("--synth-duration-ms", type=int_in(100, 600_000), default=2000,
                   help="length of one synthetic gesture, ms (default: 2000)")  # fmt: skip
    p.add_argument("--data-workers", type=int_in(0, 1024), default=2,
                   help="processes generating / binning data (default: 2)")  # fmt: skip
    p.add_argument("--clip-windows", type=int_in(1, 1_000_000), default=60,
                   help="paper protocol: windows per clip (default: 60 = 900 ms)")  # fmt: skip
    p.add_argument("--test-clips", type=int_in(1, 10_000), default=10,
                   help="paper protocol: clips per test segment (default: 10)")  # fmt: skip
    p.add_argument("--max-test-items", type=int_in(0, 1_000_000_000), default=0,
                   help="evaluate at most this many segments (default: 0 = all)")  # fmt: skip
    p.add_argument("--readout", choices=["mean", "leaky"], default=None,
                   help="decision readout (default: the one stored in each checkpoint, "
                   "else mean)")  # fmt: skip
    p.add_argument("--readout-windows", type=int_in(1, 1_000_000), default=10,
                   help="--readout mean: windows averaged (default: 10 = 150 ms)")  # fmt: skip
    p.add_argument("--readout-decay", type=float_in(0.0, 1.0, high_open=True), default=0.9,
                   help="--readout leaky: decay per window (default: 0.9)")  # fmt: skip
    p.add_argument("--onset-grace-ms", type=float_in(0.0, 1e7), default=300.0,
                   help="streaming: grace after a gesture's onset, ms (default: 300)")  # fmt: skip
    p.add_argument("--batch-size", type=int_in(1, 1_000_000), default=16,
                   help="clips or recordings per forward call (default: 16)")  # fmt: skip
    p.add_argument("--device", default="auto",
                   help="auto (CUDA when present), cpu, cuda or cuda:N (default: auto)")  # fmt: skip
    p.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                   help="inference backend, as in asa-live: eager (reference), fast (int8 convs "
                   "on binary spikes, sparse FC; CPU only), auto (fast where it measured "
                   "faster; eager on a GPU; default)")  # fmt: skip
    p.add_argument("--torch-threads", type=int_in(0, 4096), default=0,
                   help="torch CPU threads (default: 0 = torch's default)")  # fmt: skip
    p.add_argument("--out", metavar="DIR", default="runs/eval",
                   help="folder for results.json and PNGs (default: runs/eval)")  # fmt: skip
    p.add_argument("--no-plots", action="store_true", help="write no PNGs")
    _robustness_options(p)
    return p


def _robustness_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("--protocol robustness")
    g.add_argument("--recordings", type=int_in(1, 1000), default=4,
                   help="held-out clean recordings of 11 gestures (default: 4)")  # fmt: skip
    g.add_argument("--negatives-per-kind", type=int_in(1, 1000), default=2,
                   help="held-out no-gesture streams of each kind (default: 2)")  # fmt: skip
    g.add_argument("--negative-ms", type=int_in(500, 3_600_000), default=6000,
                   help="length of one no-gesture stream, ms (default: 6000)")  # fmt: skip
    g.add_argument("--background", metavar="FILE", default=None,
                   help="a recording mixed in behind the person as the 'background' "
                   "condition (default: none)")  # fmt: skip
    g.add_argument("--real", metavar="FILE", nargs="+", default=[],
                   help="recordings without a gesture to replay as the live app does "
                   "(reported, never tuned on)")  # fmt: skip
    g.add_argument("--conditions", metavar="NAME,...", default=None,
                   help="only these conditions, e.g. clean,shift_x+15 (default: all)")  # fmt: skip
    g.add_argument("--noise-filter", choices=["off", "on", "both"], default="off",
                   help="the live background-activity filter before binning; both: every "
                   "model twice, the filtered one labelled LABEL+nf (default: off)")  # fmt: skip


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return str(path)  # load_checkpoint reports it in one sentence


def _run_folder(path: Path, label: str | None) -> list[tuple[str, Path]]:
    found = [path / n for n in ("best.safetensors", "last.safetensors") if (path / n).exists()]
    if not found:
        raise ConfigError(
            f"The run folder '{path}' holds no best.safetensors or last.safetensors: "
            "pass a checkpoint file or a folder written by asa-live-train."
        )
    name = label or path.name
    if len(found) == 2 and _digest(found[0]) == _digest(found[1]):
        return [(f"{name}:best=last", found[1])]  # the best epoch is the last: evaluate once
    return [(f"{name}:{f.stem}", f) for f in found]


def expand_models(paths: list[str], labels: list[str] | None) -> list[tuple[str, Path]]:
    """(label, checkpoint) pairs; identical files are evaluated once."""
    if labels and len(labels) != len(paths):
        raise ConfigError(f"Give one --label per model: {len(paths)} models, {len(labels)} labels.")
    out: list[tuple[str, Path]] = []
    for i, p in enumerate(paths):
        path = Path(p)
        label = labels[i] if labels else None
        out += _run_folder(path, label) if path.is_dir() else [(label or path.stem, path)]
    seen: set[str] = set()
    unique = []
    for label, path in out:
        digest = _digest(path)
        if digest not in seen:
            seen.add(digest)
            unique.append((label, path))
    return unique


def _eval_data(args: argparse.Namespace, binning: BinningConfig) -> DataSplit:
    """The test split binned as the checkpoint says (the cache keys include it)."""
    cfg = DataConfig.from_binning(
        binning, data=args.data, data_root=args.data_root, cache_dir=args.cache_dir,
        data_workers=args.data_workers, synth_test_per_class=args.synth_test_per_class,
        synth_duration_ms=args.synth_duration_ms,
        synth_gestures_per_recording=args.synth_gestures_per_recording,
    )  # fmt: skip
    return load_split(cfg, train=False)


def _readout_for(args: argparse.Namespace, provenance: dict[str, Any], readout_cls=Readout):
    """--readout when given (an explicit override); else the checkpoint's own readout, resolved
    exactly as the live app resolves it (``readout_from_provenance``)."""
    if args.readout is None:
        return readout_from_provenance(provenance)
    return readout_cls(kind=args.readout, windows=args.readout_windows, decay=args.readout_decay)


def _runner(model: torch.nn.Module, backend: str, device: torch.device) -> torch.nn.Module:
    """The network run by ``backend``, as the live app runs it (``make_runner``, the function
    behind ``pipeline.models.load_model``); the fast backend's int8 convs are CPU-only."""
    if device.type != "cpu":
        if backend == "fast":
            raise ConfigError(
                f"The fast backend runs on the CPU only: pass --device cpu or --backend eager "
                f"(the device is {device})."
            )
        return model
    return make_runner(model, backend)


def _check_clip_windows(clip_windows: int, chunk: int, path: Any) -> None:
    """A chunked network reads whole chunks of K windows: the paper's clips must hold some."""
    if clip_windows % chunk:
        raise ConfigError(
            f"{path} reads chunks of K = {chunk} windows, which --clip-windows {clip_windows} "
            f"does not divide: give a multiple of {chunk} (e.g. {chunk * max(1, clip_windows // chunk)})."
        )


def evaluate_checkpoints(args) -> dict[str, Any]:
    """Load each model, run the chosen protocols, write results.json and the PNGs."""
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    device = resolve_device(args.device)
    results: dict[str, Any] = {}
    splits: dict[tuple, Any] = {}
    for label, path in expand_models(args.models, args.label):
        ckpt = load_checkpoint(path, device=device)
        model = _runner(ckpt.model, args.backend, device)
        key = (ckpt.binning.window_us, tuple(ckpt.binning.sensor_size), ckpt.binning.downsample)
        if key not in splits:
            splits[key] = _eval_data(args, ckpt.binning)
        split = splits[key]
        readout = _readout_for(args, ckpt.provenance)
        entry: dict[str, Any] = {
            "checkpoint": str(path),
            "model": ckpt.model_config.to_dict(),
            "epoch": ckpt.provenance.get("epoch"),
            "backend": "eager" if model is ckpt.model else "fast",
            "data": split.description,
            "classes": list(ckpt.class_names),
        }
        if args.protocol in ("paper", "both"):
            _check_clip_windows(args.clip_windows, ckpt.model_config.chunk_windows, path)
            entry["paper"] = paper_protocol(
                model, split.sequences, clip_windows=args.clip_windows,
                num_clips=args.test_clips, batch_size=args.batch_size, device=device,
                max_segments=args.max_test_items, readout=readout, progress=True,
            )  # fmt: skip
        if args.protocol in ("stream", "both"):
            entry["stream"] = streaming_protocol(
                model, split.sequences, readout=readout,
                onset_grace_ms=args.onset_grace_ms, device=device, batch_size=args.batch_size,
                progress=True,
            )  # fmt: skip
        results[label] = entry
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if not args.no_plots:
        for path in write_plots(results, out):
            print(f"plot: {path}")
    return results


def evaluate_robustness(args: argparse.Namespace) -> dict[str, Any]:
    """``--protocol robustness``: run it on every model, write ``robustness.json``."""
    torch.set_num_threads(args.torch_threads or 1)  # batch-1 steps gain nothing from more
    result = run_from_args(expand_models(args.models, args.label), args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "robustness.json").write_text(to_json(result))
    return result


def write_plots(results: dict[str, Any], out: Path) -> list[Path]:
    written = []
    for proto in ("paper", "stream"):
        chosen = {k: v[proto] for k, v in results.items() if proto in v}
        if not chosen:
            continue
        names = next(iter(results.values())).get("classes") or GESTURE_CLASSES
        written.append(plots.plot_confusion(chosen, out / f"confusion_{proto}.png",
                                            class_names=names,
                                            title=f"Confusion matrix ({proto} protocol)"))  # fmt: skip
        written.append(plots.plot_layer_rates(chosen, out / f"firing_rates_{proto}.png",
                                              title=f"Firing rate per layer ({proto} protocol)"))  # fmt: skip
        if proto == "stream":
            written.append(plots.plot_accuracy_vs_onset(chosen, out / "accuracy_vs_onset.png"))
    return written


def eval_main(argv: list[str] | None = None) -> int:
    """``asa-live-eval``: returns the exit code (0 ok, 2 user error)."""
    args = build_eval_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        datefmt="%H:%M:%S")  # fmt: skip
    try:
        if args.protocol == "robustness":
            print(format_result(evaluate_robustness(args)))
            print(f"\nresults: {Path(args.out) / 'robustness.json'}")
            return 0
        results = evaluate_checkpoints(args)
    except AsaLiveError as err:
        print(f"asa-live-eval: {err}", file=sys.stderr)
        return 2
    print(format_table(results))
    print(f"\nresults: {Path(args.out) / 'results.json'}")
    return 0
